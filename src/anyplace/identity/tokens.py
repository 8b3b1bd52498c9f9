"""API tokens: long random secrets of which only a SHA-256 hash is stored.

A token is shown once, when it is made. SHA-256 (not argon2) is right here:
the secret has 256 bits of entropy, so it cannot be guessed from its hash, and
checking it on every API call must be cheap.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, or_, select, update
from sqlalchemy.orm import Session

from anyplace.clock import Clock
from anyplace.store.models import ApiToken, User

__all__ = [
    "Bearer",
    "NewToken",
    "authenticate_token",
    "create_token",
    "read_bearers",
    "record_use",
    "revoke_tokens_named",
    "secret_digest",
]

PREFIX = "ap_"
USE_RECORDED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str


def secret_digest(secret: str) -> str:
    """What is stored of a high-entropy secret (API token, browser session, launch ticket)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session, clock: Clock, *, name: str, admin: bool, user: User | None = None
) -> NewToken:
    if not admin and user is None:
        raise ValueError("a token is either an admin token or belongs to a user")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        token_hash=secret_digest(secret),
        user=user,
        is_admin=admin,
        created_at=clock.now(),
    )
    session.add(token)
    session.flush()
    return NewToken(token, secret)


def authenticate_token(session: Session, clock: Clock, secret: str) -> ApiToken | None:
    """The live token with this secret, or None; records when it was last used.

    The same checks as the broker's batches make (`read_bearers`, `Bearer.live`).
    """
    if not secret.startswith(PREFIX):
        return None
    digest = secret_digest(secret)
    bearer = read_bearers(session, [digest]).get(digest)
    now = clock.now()
    if bearer is None or not bearer.live(now):
        return None
    record_use(session, [bearer], now)
    return session.get(ApiToken, bearer.token_id)


@dataclass
class Bearer:
    """A token as a batch of requests needs it: who, and whether it is live, not the ORM row.

    Kept between batches by the broker (while the database says nothing else has
    written), so the time-bound checks are made at use, not when it was read.
    """

    token_id: int
    name: str
    user_id: int | None
    username: str | None
    is_admin: bool
    expires_at: datetime | None
    last_used_at: datetime | None

    def live(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


def read_bearers(session: Session, digests: Collection[str]) -> dict[str, Bearer]:
    """The unrevoked tokens of active users (or admin tokens) among these digests: one query."""
    rows = session.connection().execute(_BEARERS, {"digests": list(digests)})
    return {
        row.token_hash: Bearer(
            row.id,
            row.name,
            row.user_id,
            row.username,
            row.is_admin,
            row.expires_at,
            row.last_used_at,
        )
        for row in rows
    }


def record_use(session: Session, bearers: Iterable[Bearer], now: datetime) -> None:
    """Note when these tokens were used, to the minute (as `authenticate_token` does)."""
    stale = [
        bearer
        for bearer in bearers
        if bearer.last_used_at is None or now - bearer.last_used_at >= USE_RECORDED_EVERY
    ]
    if stale:
        ids = [bearer.token_id for bearer in stale]
        session.connection().execute(_TOUCH, {"ids": ids, "now": now})
        for bearer in stale:
            bearer.last_used_at = now


_tokens = cast(Table, ApiToken.__table__)
_users = cast(Table, User.__table__)
_BEARERS = (
    select(
        _tokens.c.id,
        _tokens.c.token_hash,
        _tokens.c.name,
        _tokens.c.user_id,
        _tokens.c.is_admin,
        _tokens.c.expires_at,
        _tokens.c.last_used_at,
        _users.c.username,
    )
    .outerjoin(_users, _tokens.c.user_id == _users.c.id)
    .where(
        _tokens.c.token_hash.in_(bindparam("digests", expanding=True)),
        _tokens.c.revoked_at.is_(None),
        or_(_tokens.c.user_id.is_(None), _users.c.is_active.is_(True)),
    )
)
_TOUCH = (
    update(_tokens)
    .where(_tokens.c.id.in_(bindparam("ids", expanding=True)))
    .values(last_used_at=bindparam("now"))
)


def revoke_tokens_named(session: Session, clock: Clock, name: str) -> int:
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = clock.now()
    return len(tokens)
