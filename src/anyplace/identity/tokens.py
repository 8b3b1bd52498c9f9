"""API tokens: long random secrets of which only a SHA-256 hash is stored.

A token is shown once, when it is made. SHA-256 (not argon2) is right here:
the secret has 256 bits of entropy, so it cannot be guessed from its hash, and
checking it on every API call must be cheap.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from anyplace.clock import Clock
from anyplace.store.models import ApiToken, User

__all__ = [
    "NewToken",
    "authenticate_token",
    "create_token",
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
    """The live token with this secret, or None; records when it was last used."""
    if not secret.startswith(PREFIX):
        return None
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == secret_digest(secret)))
    now = clock.now()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if token.user is not None and not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= USE_RECORDED_EVERY:
        token.last_used_at = now  # to the minute: not a write on every call
    return token


def revoke_tokens_named(session: Session, clock: Clock, name: str) -> int:
    tokens = session.scalars(
        select(ApiToken).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    ).all()
    for token in tokens:
        token.revoked_at = clock.now()
    return len(tokens)
