"""Slowing down password guessing, by account name and by client address.

After `limit` failures within the window, each further try must wait, and the
wait doubles with each failure (capped): a person who mistypes three times is
not bothered, a script trying a thousand passwords gets a few dozen an hour.
The count lives in the store, so every replica sees the same one; it is reset
by a successful sign-in for the name (not for the address).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from anyplace.clock import Clock
from anyplace.store.models import LoginFailure

__all__ = ["WINDOW", "clear_failures", "record_failure", "retry_after", "wait_after"]

WINDOW = timedelta(minutes=15)
CAP = timedelta(minutes=15)
ADDRESS_FACTOR = 4
"""An office behind one NAT address shares it: allow it more failures than one name."""


def wait_after(failures: Sequence[datetime], now: datetime, limit: int) -> timedelta:
    """How long the next try must still wait, given the failures in the window (pure)."""
    recent = sorted(at for at in failures if now - at < WINDOW)
    if len(recent) < limit:
        return timedelta(0)
    excess = len(recent) - limit
    delay = min(CAP, timedelta(seconds=2 ** min(excess + 1, 20)))
    return max(timedelta(0), recent[-1] + delay - now)


def _keys(username: str, address: str) -> tuple[str, str]:
    return f"user:{username.strip().lower()}", f"addr:{address}"


def retry_after(db: Session, clock: Clock, username: str, address: str, limit: int) -> timedelta:
    """The longer wait of the name's and the address's, zero if a try may go ahead now."""
    now = clock.now()
    user_key, address_key = _keys(username, address)
    waits = []
    for key, key_limit in ((user_key, limit), (address_key, limit * ADDRESS_FACTOR)):
        times = db.scalars(
            select(LoginFailure.at).where(LoginFailure.key == key, LoginFailure.at > now - WINDOW)
        ).all()
        waits.append(wait_after(times, now, key_limit))
    return max(waits)


def record_failure(db: Session, clock: Clock, username: str, address: str) -> None:
    now = clock.now()
    for key in _keys(username, address):
        db.add(LoginFailure(key=key, at=now))
    db.execute(delete(LoginFailure).where(LoginFailure.at < now - WINDOW))


def clear_failures(db: Session, username: str) -> None:
    user_key, _ = _keys(username, "")
    db.execute(delete(LoginFailure).where(LoginFailure.key == user_key))
