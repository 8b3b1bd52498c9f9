"""Which apps a person sees: all of them for an admin, the entitled ones for a user."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ScalarSelect, select
from sqlalchemy.orm import Session, selectinload

from anyplace.store.models import App, Category, User, entitlements, group_members

__all__ = ["entitled_app_ids", "list_apps"]


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
