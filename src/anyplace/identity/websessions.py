"""Browser sessions: made at sign-in, checked on every page, ended by sign-out or by time.

A session ends after `idle` without a request and, however busy, `absolute`
after sign-in (StoreFront and AVD's web client both have the pair). Every
session of a user can be ended at once ("sign out everywhere"); disabling a
user ends theirs on their next request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from anyplace.clock import Clock
from anyplace.identity.tokens import secret_digest
from anyplace.store.models import User, WebSession

__all__ = [
    "NewWebSession",
    "SessionLimits",
    "end_all_sessions",
    "end_session",
    "find_session",
    "start_session",
]

TOUCH_EVERY = timedelta(minutes=1)
"""A session's last use is written at most once a minute, not on every request."""


@dataclass(frozen=True)
class SessionLimits:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class NewWebSession:
    session: WebSession
    secret: str
    """Goes into the cookie; never stored."""


def start_session(
    db: Session, clock: Clock, user: User, *, method: str, limits: SessionLimits
) -> NewWebSession:
    now = clock.now()
    secret = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=secret_digest(secret),
        user=user,
        csrf_token=secrets.token_urlsafe(32),
        method=method,
        created_at=now,
        last_seen_at=now,
        expires_at=now + limits.absolute,
    )
    db.add(row)
    db.flush()
    return NewWebSession(row, secret)


def find_session(
    db: Session, clock: Clock, secret: str, limits: SessionLimits
) -> WebSession | None:
    """The live session for this cookie, or None (unknown, ended, idle too long, user disabled)."""
    if not secret:
        return None
    row = db.scalar(select(WebSession).where(WebSession.token_hash == secret_digest(secret)))
    now = clock.now()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if now - row.last_seen_at >= limits.idle or not row.user.is_active:
        row.revoked_at = now
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row


def end_session(clock: Clock, row: WebSession) -> None:
    row.revoked_at = clock.now()


def end_all_sessions(db: Session, clock: Clock, user_id: int) -> int:
    """Sign a user out of every browser; returns how many sessions ended."""
    result = db.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
