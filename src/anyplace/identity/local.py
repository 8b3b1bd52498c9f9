"""Local accounts: users kept in anyplace's own store, with an argon2id password."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from anyplace.clock import Clock
from anyplace.domain import IdentitySource
from anyplace.errors import AnyplaceError, NotFound
from anyplace.identity.passwords import hash_password
from anyplace.store.models import Group, User

__all__ = ["add_local_user", "find_user"]


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def add_local_user(
    session: Session,
    clock: Clock,
    *,
    username: str,
    display_name: str,
    email: str | None = None,
    groups: Sequence[str] = (),
    password: str | None = None,
) -> User:
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise AnyplaceError(f"a user named {username!r} already exists")
    found = {g.name: g for g in session.scalars(select(Group).where(Group.name.in_(groups)))}
    missing = [name for name in groups if name not in found]
    if missing:
        raise NotFound(f"no group named {', '.join(repr(name) for name in missing)}")
    try:
        password_hash = hash_password(password) if password is not None else None
    except ValueError as exc:
        raise AnyplaceError(str(exc)) from None
    user = User(
        username=username,
        display_name=display_name,
        email=email,
        source=IdentitySource.LOCAL,
        password_hash=password_hash,
        is_active=True,
        created_at=clock.now(),
        groups=[found[name] for name in groups],
    )
    session.add(user)
    session.flush()
    return user
