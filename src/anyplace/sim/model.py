"""The simulated world's pools and hosts, and what a strategy sees and may do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from anyplace.domain import LoadBalancing, PowerState
from anyplace.power.forecast import LoadSample
from anyplace.power.metering import Billing, EnergyModel
from anyplace.power.policy import Action, PoolRules, lookahead
from anyplace.power.schedule import Schedule

__all__ = ["PoolSetup", "SimHost", "Strategy", "World"]


@dataclass(frozen=True)
class PoolSetup:
    """A pool as configured: what every strategy is given to work with."""

    name: str
    hosts: tuple[str, ...]
    max_sessions: int
    load_balancing: LoadBalancing
    boot_minutes: float
    schedule: Schedule
    rules: PoolRules
    price_per_hour: Decimal
    vcpus: int
    memory_gb: float
    billing: Billing
    energy: EnergyModel


@dataclass
class SimHost:
    name: str
    power: PowerState = PowerState.OFF
    changes_at: datetime | None = None
    drain: bool = False
    drained_by_policy: bool = False
    sessions: int = 0
    power_changed_at: datetime | None = None
    idle_since: datetime | None = None
    logoff_notice_at: datetime | None = None
    allocated_since: datetime | None = None
    runs: list[tuple[datetime, datetime]] = field(default_factory=list)


@dataclass
class World:
    """One pool's state during a simulation, read by strategies."""

    setup: PoolSetup
    now: datetime
    hosts: list[SimHost]
    tick: timedelta = timedelta(minutes=1)
    waiting: int = 0
    history: list[LoadSample] = field(default_factory=list)
    history_times: list[datetime] = field(default_factory=list)

    @property
    def lead(self) -> timedelta:
        """How far ahead a start must be decided, as the controller looks (`lookahead`)."""
        return lookahead(self.setup.boot_minutes, self.tick)

    def sessions(self) -> int:
        return sum(host.sessions for host in self.hosts)


class Strategy(Protocol):
    """A way of powering a pool: the baselines and our own policy."""

    name: str

    def plan(self, world: World) -> list[Action]: ...

    def load_balancing(self, world: World) -> LoadBalancing:
        """The mode new sessions are placed by now (AVD changes it by phase)."""
        ...
