"""A tiny pool for simulator tests, where every answer can be worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from anyplace.domain import LoadBalancing, Phase
from anyplace.power.metering import Billing, EnergyModel
from anyplace.power.policy import PoolRules
from anyplace.power.schedule import PhaseRule, Schedule
from anyplace.sim.model import PoolSetup
from anyplace.sim.traces import TraceSession

MONDAY = datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
EVERY_DAY = frozenset(range(1, 8))


def tiny_pool(
    *,
    hosts: int = 3,
    max_sessions: int = 2,
    boot_minutes: float = 5,
    minimum: int = 0,
    buffer_percent: int = 0,
    delay_minutes: int = 0,
) -> PoolSetup:
    """A pool in UTC, one phase all week, priced at 1.00 an hour, billed by the second."""
    schedule = Schedule(
        "UTC",
        (
            PhaseRule(
                EVERY_DAY, Phase.PEAK, time(0), min_hosts=minimum, buffer_percent=buffer_percent
            ),
        ),
        holidays_country=None,
    )
    return PoolSetup(
        name="p",
        hosts=tuple(f"h{i}" for i in range(1, hosts + 1)),
        max_sessions=max_sessions,
        load_balancing=LoadBalancing.BREADTH_FIRST,
        boot_minutes=boot_minutes,
        schedule=schedule,
        rules=PoolRules(
            max_sessions_per_host=max_sessions,
            power_off_delay=timedelta(minutes=delay_minutes),
            max_concurrent_actions=10,
        ),
        price_per_hour=Decimal("1.00"),
        vcpus=2,
        memory_gb=8,
        billing=Billing(unit_seconds=1),
        energy=EnergyModel(1.0, 3.0, 1.0, 0.0),
    )


def session(user: str, start_minute: int, end_minute: int, pool: str = "p") -> TraceSession:
    return TraceSession(
        MONDAY + timedelta(minutes=start_minute), MONDAY + timedelta(minutes=end_minute), user, pool
    )
