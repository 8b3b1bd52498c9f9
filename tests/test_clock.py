"""The virtual clock the simulator and tests run on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from anyplace.clock import SystemClock, VirtualClock, utc


def test_virtual_time_moves_only_when_told() -> None:
    clock = VirtualClock(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    assert clock.now() == clock.now()
    clock.sleep(120)
    assert clock.now() == datetime(2026, 3, 29, 0, 32, tzinfo=UTC)
    clock.set(datetime(2026, 3, 29, 3, 0, tzinfo=timezone(timedelta(hours=2))))
    assert clock.now() == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC


def test_virtual_time_never_runs_backwards() -> None:
    clock = VirtualClock(datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="backwards"):
        clock.set(datetime(2025, 12, 31, tzinfo=UTC))
    with pytest.raises(ValueError, match="aware"):
        VirtualClock(datetime(2026, 1, 1))


def test_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().tzinfo is UTC


def test_utc_takes_naive_values_as_utc() -> None:
    naive = datetime(2026, 6, 1, 12, 0)
    assert utc(naive) == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
