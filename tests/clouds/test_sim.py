"""The simulated cloud: minutes to boot, idempotent verbs, billing, injected failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from anyplace.clock import VirtualClock
from anyplace.clouds.base import FakeCloud, Permanent, Transient
from anyplace.clouds.sim import SimCloud
from anyplace.domain import PowerState

T0 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def test_a_machine_boots_in_minutes_and_stops_in_one() -> None:
    clock = VirtualClock(T0)
    cloud = SimCloud(clock, seed=1)
    cloud.add_machine("gen-01", boot_minutes=6)
    cloud.start("gen-01")
    assert cloud.power_states(["gen-01"]) == {"gen-01": PowerState.STARTING}
    boot = cloud.machines["gen-01"].boots[0]
    assert 2 <= boot <= 18
    clock.advance(timedelta(minutes=boot) - timedelta(seconds=1))
    assert cloud.power_states(["gen-01"])["gen-01"] is PowerState.STARTING
    clock.advance(timedelta(seconds=1))
    assert cloud.power_states(["gen-01"])["gen-01"] is PowerState.ON
    cloud.stop("gen-01")
    assert cloud.power_states(["gen-01"])["gen-01"] is PowerState.STOPPING
    clock.advance(timedelta(minutes=1))
    assert cloud.power_states(["gen-01"])["gen-01"] is PowerState.OFF
    clock.advance(timedelta(hours=5))
    assert cloud.billed_seconds("gen-01") == pytest.approx(boot * 60 + 60)


def test_boot_times_spread_around_the_median() -> None:
    cloud = SimCloud(VirtualClock(T0), seed=7)
    draws = sorted(cloud.boot_minutes(6) for _ in range(2000))
    median = draws[len(draws) // 2]
    assert 5.7 < median < 6.3
    assert draws[0] >= 2
    assert draws[-1] <= 18
    assert draws[int(len(draws) * 0.95)] > 8, "a tail of slow boots"


def test_verbs_are_idempotent_and_unknown_machines_are_permanent_errors() -> None:
    clock = VirtualClock(T0)
    cloud = SimCloud(clock)
    cloud.add_machine("a", boot_minutes=5, state=PowerState.ON)
    cloud.start("a")
    assert cloud.power_states(["a", "nope"]) == {"a": PowerState.ON}
    cloud.stop("a")
    cloud.stop("a")
    with pytest.raises(Transient, match="stopping"):
        cloud.start("a")
    with pytest.raises(Permanent):
        cloud.start("nope")


def test_failures_are_injected_at_the_configured_rate_and_repeatable() -> None:
    def failures(seed: int) -> list[bool]:
        cloud = SimCloud(VirtualClock(T0), seed=seed, failure_rate=0.2)
        cloud.add_machine("a", boot_minutes=5)
        outcome = []
        for _ in range(500):
            try:
                cloud.power_states(["a"])
                outcome.append(False)
            except Transient:
                outcome.append(True)
        return outcome

    first = failures(3)
    assert first == failures(3)
    assert 0.15 < sum(first) / len(first) < 0.25


def test_the_fake_cloud_plays_scripted_failures_in_order() -> None:
    fake = FakeCloud({"a": PowerState.OFF})
    fake.fail_next("start", Transient("throttled"))
    with pytest.raises(Transient):
        fake.start("a")
    fake.start("a")
    assert fake.states["a"] is PowerState.ON
    assert fake.calls == [("start", "a"), ("start", "a")]
