"""Which apps a person sees: all of them for an admin, the entitled ones for a user."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import ScalarSelect, bindparam, select, tuple_
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


def entitled_pairs(session: Session, pairs: Collection[tuple[int, int]]) -> set[tuple[int, int]]:
    """Which of these (user id, app id) pairs are entitled: one query for a batch of launches."""
    if not pairs:
        return set()
    values = {
        "users": list({user for user, _ in pairs}),
        "apps": list({app for _, app in pairs}),
        "pairs": list(pairs),
    }
    return {(user, app) for user, app in session.connection().execute(_ENTITLED_PAIRS, values)}


# The user and app filters let the indexes find the rows; the pair filter drops, inside the
# database, the many other apps the batch's users may use.
_ENTITLED_PAIRS = (
    select(group_members.c.user_id, entitlements.c.app_id)
    .join(group_members, group_members.c.group_id == entitlements.c.group_id)
    .where(
        group_members.c.user_id.in_(bindparam("users", expanding=True)),
        entitlements.c.app_id.in_(bindparam("apps", expanding=True)),
        tuple_(group_members.c.user_id, entitlements.c.app_id).in_(
            bindparam("pairs", expanding=True)
        ),
    )
    .distinct()
)
