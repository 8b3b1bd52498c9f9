"""Which apps a person sees: all of them for an admin, the entitled ones for a user."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import ScalarSelect, bindparam, select
from sqlalchemy.orm import Session, selectinload

from anyplace.store.models import App, Category, User, entitlements, group_members

__all__ = ["entitled_app_ids", "entitled_pairs", "list_apps"]


def list_apps(
    session: Session, *, user: User | None = None, limit: int | None = None, offset: int = 0
) -> Sequence[App]:
    """Enabled apps ordered by category then Danish name; only `user`'s entitled ones if given."""
    query = (
        select(App)
        .join(Category)
        .where(App.enabled.is_(True))
        .options(selectinload(App.category), selectinload(App.pool), selectinload(App.groups))
        .order_by(Category.sort_order, App.name_da, App.id)
        .offset(offset)
        .limit(limit)
    )
    if user is not None:
        query = query.where(App.id.in_(entitled_app_ids(user.id)))
    return session.scalars(query).all()


def entitled_app_ids(user_id: int) -> ScalarSelect[int]:
    """A subquery of the ids of apps that any of the user's groups may use."""
    return (
        select(entitlements.c.app_id)
        .join(group_members, group_members.c.group_id == entitlements.c.group_id)
        .where(group_members.c.user_id == user_id)
        .scalar_subquery()
    )


def entitled_pairs(
    session: Session, user_ids: Collection[int], app_ids: Collection[int]
) -> set[tuple[int, int]]:
    """Which of these users may use which of these apps, as (user id, app id): one query."""
    if not user_ids or not app_ids:
        return set()
    rows = session.connection().execute(
        _ENTITLED_PAIRS, {"users": list(user_ids), "apps": list(app_ids)}
    )
    return {(user_id, app_id) for user_id, app_id in rows}


_ENTITLED_PAIRS = (
    select(group_members.c.user_id, entitlements.c.app_id)
    .join(group_members, group_members.c.group_id == entitlements.c.group_id)
    .where(
        group_members.c.user_id.in_(bindparam("users", expanding=True)),
        entitlements.c.app_id.in_(bindparam("apps", expanding=True)),
    )
    .distinct()
)
