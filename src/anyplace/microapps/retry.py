"""What to do after a delivery fails, and when to leave a target alone (pure).

Retries use exponential backoff with full jitter (AWS Architecture Blog,
"Exponential Backoff And Jitter"): the wait is uniform in [0, min(cap, base *
2^(attempt-1))], which spreads the retries of many deliveries instead of
sending them back all at once. A permanent error, or the last allowed
attempt, sends the delivery to the dead letters for an admin to look at and
replay. A circuit breaker per target stops calling a system that keeps
failing: after `threshold` failures in a row it opens for `pause`, then lets
one delivery through (half-open) and closes on its success.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = ["Breaker", "DeadLetter", "Limits", "Outcome", "Retry", "after_failure", "backoff_cap"]


class Outcome(StrEnum):
    TRANSIENT = "transient"
    """Worth trying again: a timeout, 5xx, 429, a refused connection."""
    PERMANENT = "permanent"
    """Trying again cannot help: 4xx, a constraint, bad data."""


@dataclass(frozen=True)
class Limits:
    max_attempts: int = 8
    base: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class Retry:
    at: datetime


@dataclass(frozen=True)
class DeadLetter:
    reason: str


def backoff_cap(attempt: int, limits: Limits) -> timedelta:
    """The longest wait after the `attempt`-th failure (1-based)."""
    exponent = min(max(attempt - 1, 0), 30)
    return min(limits.cap, limits.base * (1 << exponent))


def after_failure(
    attempt: int, outcome: Outcome, now: datetime, limits: Limits, rng: random.Random
) -> Retry | DeadLetter:
    if outcome is Outcome.PERMANENT:
        return DeadLetter("a permanent error")
    if attempt >= limits.max_attempts:
        return DeadLetter(f"still failing after {attempt} attempts")
    wait = backoff_cap(attempt, limits).total_seconds() * rng.random()
    return Retry(now + timedelta(seconds=wait))


@dataclass(frozen=True)
class Breaker:
    threshold: int = 5
    pause: timedelta = timedelta(seconds=60)
    failures: int = 0
    open_until: datetime | None = None
    trial: bool = False
    """Half-open and one delivery is out trying."""

    def allows(self, now: datetime) -> bool:
        if self.open_until is None:
            return True
        return now >= self.open_until and not self.trial

    def trying(self, now: datetime) -> Breaker:
        return replace(self, trial=True) if self.open_until is not None else self

    def failed(self, now: datetime) -> Breaker:
        failures = self.failures + 1
        if self.trial or failures >= self.threshold:
            return replace(self, failures=failures, open_until=now + self.pause, trial=False)
        return replace(self, failures=failures)

    def succeeded(self) -> Breaker:
        return replace(self, failures=0, open_until=None, trial=False)
