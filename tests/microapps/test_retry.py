"""The pure delivery policy: backoff with full jitter, limits, dead letters, the circuit breaker."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from anyplace.microapps.retry import (
    Breaker,
    DeadLetter,
    Limits,
    Outcome,
    Retry,
    after_failure,
    backoff_cap,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LIMITS = Limits(max_attempts=5, base=timedelta(seconds=2), cap=timedelta(minutes=10))


def test_the_backoff_cap_doubles_up_to_its_ceiling() -> None:
    caps = [backoff_cap(attempt, LIMITS).total_seconds() for attempt in range(1, 12)]
    assert caps[:5] == [2, 4, 8, 16, 32]
    assert max(caps) == 600


@given(st.integers(min_value=1, max_value=4), st.integers(min_value=0, max_value=2**32))
def test_a_transient_failure_is_retried_within_zero_and_the_cap(attempt: int, seed: int) -> None:
    step = after_failure(attempt, Outcome.TRANSIENT, NOW, LIMITS, random.Random(seed))
    assert isinstance(step, Retry)
    assert NOW <= step.at <= NOW + backoff_cap(attempt, LIMITS)


def test_full_jitter_spreads_the_retries_of_many_deliveries() -> None:
    rng = random.Random(7)
    times = {after_failure(3, Outcome.TRANSIENT, NOW, LIMITS, rng).at for _ in range(100)}  # type: ignore[union-attr]
    assert len(times) > 90, "not all at once (the thundering herd)"


def test_the_last_attempt_and_permanent_errors_go_to_the_dead_letters() -> None:
    rng = random.Random(1)
    last = after_failure(5, Outcome.TRANSIENT, NOW, LIMITS, rng)
    assert isinstance(last, DeadLetter)
    assert "5 attempts" in last.reason
    permanent = after_failure(1, Outcome.PERMANENT, NOW, LIMITS, rng)
    assert isinstance(permanent, DeadLetter)


def test_the_breaker_opens_after_consecutive_failures_and_tries_again_after_a_pause() -> None:
    breaker = Breaker(threshold=3, pause=timedelta(seconds=30))
    for _ in range(2):
        breaker = breaker.failed(NOW)
    assert breaker.allows(NOW)
    breaker = breaker.failed(NOW)
    assert not breaker.allows(NOW + timedelta(seconds=29)), "open: the system is left alone"
    assert breaker.allows(NOW + timedelta(seconds=30)), "half-open: one try"
    trial = breaker.trying(NOW + timedelta(seconds=30))
    assert not trial.allows(NOW + timedelta(seconds=30)), "only one try at a time"
    assert trial.failed(NOW + timedelta(seconds=31)).open_until == NOW + timedelta(seconds=61)
    assert trial.succeeded().allows(NOW + timedelta(seconds=31))


def test_a_success_resets_the_count() -> None:
    breaker = Breaker(threshold=3, pause=timedelta(seconds=30)).failed(NOW).failed(NOW)
    assert breaker.succeeded().failed(NOW).allows(NOW)
