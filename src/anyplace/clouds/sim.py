"""An in-process cloud for the demo, the simulator and the tests.

Machines take minutes to boot, drawn from a log-normal distribution around
the pool's boot time (cloud VMs mostly boot near a typical time, with a tail of
slow ones), take a minute to stop, fail a configurable share of requests with
a transient error, and bill every second they are allocated, as Azure does.
Time comes from the injected clock, so a simulated day passes in milliseconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from anyplace.clock import Clock
from anyplace.domain import PowerState
from anyplace.errors import Permanent, Transient

__all__ = ["SimCloud", "SimMachine"]

ALLOCATED = (PowerState.STARTING, PowerState.ON, PowerState.STOPPING)


@dataclass
class SimMachine:
    boot_minutes: float
    state: PowerState = PowerState.OFF
    changes_at: datetime | None = None
    allocated_since: datetime | None = None
    allocated_seconds: float = 0.0
    boots: list[float] = field(default_factory=list)


class SimCloud:
    name = "sim"

    def __init__(
        self,
        clock: Clock,
        *,
        seed: int = 0,
        failure_rate: float = 0.0,
        stop_seconds: float = 60.0,
        boot_spread: float = 0.25,
    ) -> None:
        if not 0.0 <= failure_rate < 1.0:
            raise ValueError("failure_rate is a share between 0 and 1")
        self._clock = clock
        self._random = random.Random(seed)  # noqa: S311 - simulation, not secrets
        self.failure_rate = failure_rate
        self.stop_seconds = stop_seconds
        self.boot_spread = boot_spread
        self.machines: dict[str, SimMachine] = {}
        self.redundant_starts = 0
        """Starts asked of machines already starting or on: a controller should send none."""

    def add_machine(
        self, machine_id: str, *, boot_minutes: float, state: PowerState = PowerState.OFF
    ) -> None:
        now = self._clock.now()
        machine = SimMachine(boot_minutes=boot_minutes, state=state)
        if state in ALLOCATED:
            machine.allocated_since = now
        self.machines[machine_id] = machine

    def boot_minutes(self, median: float) -> float:
        """A boot time: log-normal around `median`, within a third and three times of it."""
        drawn = median * math.exp(self._random.gauss(0.0, self.boot_spread))
        return min(max(drawn, median / 3), median * 3)

    def power_states(self, machine_ids: Sequence[str]) -> dict[str, PowerState]:
        self._maybe_fail("read power states")
        result = {}
        for machine_id in machine_ids:
            machine = self.machines.get(machine_id)
            if machine is not None:
                self._advance(machine)
                result[machine_id] = machine.state
        return result

    def start(self, machine_id: str) -> None:
        machine = self._machine(machine_id)
        self._maybe_fail(f"start {machine_id}")
        self._advance(machine)
        if machine.state is PowerState.STOPPING:
            raise Transient(f"{machine_id} is stopping; start it when it is off")
        if machine.state in (PowerState.STARTING, PowerState.ON):
            self.redundant_starts += 1
        if machine.state is PowerState.OFF:
            now = self._clock.now()
            boot = self.boot_minutes(machine.boot_minutes)
            machine.boots.append(boot)
            machine.state = PowerState.STARTING
            machine.changes_at = now + timedelta(minutes=boot)
            machine.allocated_since = now

    def stop(self, machine_id: str) -> None:
        machine = self._machine(machine_id)
        self._maybe_fail(f"stop {machine_id}")
        self._advance(machine)
        if machine.state in (PowerState.ON, PowerState.STARTING):
            machine.state = PowerState.STOPPING
            machine.changes_at = self._clock.now() + timedelta(seconds=self.stop_seconds)

    def billed_seconds(self, machine_id: str) -> float:
        """Seconds the machine has been allocated (billed) so far."""
        machine = self._machine(machine_id)
        self._advance(machine)
        running = 0.0
        if machine.allocated_since is not None:
            running = (self._clock.now() - machine.allocated_since).total_seconds()
        return machine.allocated_seconds + running

    def close(self) -> None:
        pass

    def _machine(self, machine_id: str) -> SimMachine:
        try:
            return self.machines[machine_id]
        except KeyError:
            raise Permanent(f"the simulated cloud has no machine {machine_id!r}") from None

    def _maybe_fail(self, what: str) -> None:
        if self.failure_rate and self._random.random() < self.failure_rate:
            raise Transient(f"simulated failure: {what}")

    def _advance(self, machine: SimMachine) -> None:
        now = self._clock.now()
        if machine.changes_at is None or now < machine.changes_at:
            return
        if machine.state is PowerState.STARTING:
            machine.state = PowerState.ON
        elif machine.state is PowerState.STOPPING:
            machine.state = PowerState.OFF
            if machine.allocated_since is not None:
                stopped = machine.changes_at
                machine.allocated_seconds += (stopped - machine.allocated_since).total_seconds()
                machine.allocated_since = None
        machine.changes_at = None
