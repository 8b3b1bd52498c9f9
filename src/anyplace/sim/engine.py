"""The discrete-event simulator: a trace of sessions through a pool, powered by a strategy.

Time moves in the controller's ticks; between ticks, events happen at their
own instants in order: hosts finish booting or stopping, users log on and off.
A user is placed by the broker's placement policy; a user who finds no room
waits (and asks for capacity at once, as the broker does) until a host is
ready, and every wait is recorded. Boot times are drawn from the simulated
cloud's distribution. The strategy is asked for a plan every tick, exactly as
the controller would, and its actions are carried out (starts take a boot
time, stops a minute).
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from anyplace.broker.placement import Candidate, choose_host
from anyplace.clock import VirtualClock
from anyplace.clouds.sim import SimCloud
from anyplace.domain import PowerActionKind, PowerState
from anyplace.power.forecast import LoadSample
from anyplace.power.metering import Run, billed_seconds, energy_kwh
from anyplace.sim.model import PoolSetup, SimHost, Strategy, World
from anyplace.sim.traces import TraceSession

__all__ = ["PoolResult", "simulate_pool"]

SAMPLE = timedelta(minutes=5)
STOP_SECONDS = 60.0
START, END = 1, 0  # at the same instant, users leave before others arrive


@dataclass
class PoolResult:
    pool: str
    strategy: str
    cost: Decimal = Decimal(0)
    host_hours: float = 0.0
    energy_kwh: float = 0.0
    sessions: int = 0
    waits: list[float] = field(default_factory=list)
    forced_logoffs: int = 0
    timeline: list[tuple[datetime, int, int]] = field(default_factory=list)
    """(time, sessions, capacity of serving hosts) every five minutes."""


def simulate_pool(
    setup: PoolSetup,
    sessions: Sequence[TraceSession],
    strategy: Strategy,
    *,
    start: datetime,
    end: datetime,
    tick: timedelta = timedelta(minutes=1),
    seed: int = 0,
    initially_on: bool = False,
    measure_from: datetime | None = None,
    progress: Callable[[float], None] | None = None,
) -> PoolResult:
    """Run one pool from `start` to `end`; sessions outside the period are ignored.

    Results count from `measure_from` (default `start`): the weeks before it warm
    up the history a forecast learns from, as a month in production would.
    """
    run = _PoolRun(setup, sessions, strategy, start=start, end=end, tick=tick, seed=seed)
    run.measure_from = measure_from or start
    if initially_on:
        for host in run.hosts:
            host.power, host.allocated_since, host.idle_since = PowerState.ON, start, start
    return run.run(progress)


class _PoolRun:
    def __init__(
        self,
        setup: PoolSetup,
        sessions: Sequence[TraceSession],
        strategy: Strategy,
        *,
        start: datetime,
        end: datetime,
        tick: timedelta,
        seed: int,
    ) -> None:
        self.setup, self.sessions, self.strategy = setup, sessions, strategy
        self.start, self.end, self.tick = start, end, tick
        self.boots = SimCloud(VirtualClock(start), seed=seed)
        self.hosts = [SimHost(name) for name in setup.hosts]
        self.by_name = {host.name: host for host in self.hosts}
        self.world = World(setup, start, self.hosts, tick=tick)
        self.result = PoolResult(setup.name, strategy.name)
        self.events: list[tuple[datetime, int, int]] = []
        for index, session in enumerate(sessions):
            if session.pool == setup.name and start <= session.start < end:
                self.events.append((session.start, START, index))
                self.events.append((min(session.end, end), END, index))
        heapq.heapify(self.events)
        self.transitions: list[tuple[datetime, str]] = []
        self.placed: dict[int, SimHost] = {}
        self.waiting: deque[int] = deque()
        self.logged_off: set[int] = set()
        self.dirty = True
        self.wake = start
        self.measure_from = start

    def run(self, progress: Callable[[float], None] | None) -> PoolResult:
        total = (self.end - self.start).total_seconds()
        now, next_sample, reported = self.start, self.start, 0.0
        while now < self.end:
            now = self._next_tick(now, next_sample)
            while self.events and self.events[0][0] <= now:
                when, kind, index = heapq.heappop(self.events)
                self.advance_hosts(when)
                self.world.now = when
                if kind == START:
                    self.arrive(index, when)
                elif index not in self.logged_off:
                    self.leave(index, when)
            self.advance_hosts(now)
            if now >= next_sample:
                self.sample(now)
                next_sample = now + SAMPLE
            if self.dirty or now >= self.wake:
                self.apply(now)
            if (
                progress is not None
                and (now - self.start).total_seconds() / total - reported >= 0.01
            ):
                done = (now - self.start).total_seconds() / total
                progress(done - reported)
                reported = done
        for host in self.hosts:
            if host.allocated_since is not None:
                host.runs.append((host.allocated_since, self.end))
        _bill(self.setup, self.hosts, self.result, self.measure_from)
        if progress is not None and reported < 1:
            progress(1 - reported)
        return self.result

    def _next_tick(self, now: datetime, next_sample: datetime) -> datetime:
        """The next tick at which anything can happen; quiet ticks in between are skipped."""
        if self.dirty or self.waiting:
            return now + self.tick
        moments = [next_sample, self.wake, self.end]
        if self.events:
            moments.append(self.events[0][0])
        if self.transitions:
            moments.append(self.transitions[0][0])
        soonest = max(min(moments), now + self.tick)
        ticks = math.ceil((soonest - now) / self.tick)
        return now + ticks * self.tick

    def counted(self, index: int) -> bool:
        return self.sessions[index].start >= self.measure_from

    def record_wait(self, index: int, seconds: float) -> None:
        if self.counted(index):
            self.result.waits.append(seconds)

    def arrive(self, index: int, when: datetime) -> None:
        self.dirty = True
        if self.counted(index):
            self.result.sessions += 1
        host = _place(self.world, self.strategy)
        if host is None:
            self.waiting.append(index)
            self.apply(when)  # start on demand: the broker asks the controller at once
            return
        self.seat(index, host)
        self.record_wait(index, 0.0)

    def seat(self, index: int, host: SimHost) -> None:
        host.sessions += 1
        host.idle_since = None
        self.placed[index] = host

    def leave(self, index: int, when: datetime) -> None:
        self.dirty = True
        host = self.placed.pop(index, None)
        if host is not None:
            host.sessions -= 1
            if host.sessions == 0:
                host.idle_since = when
        elif index in self.waiting:
            self.waiting.remove(index)  # gave up: waited the whole session
            self.record_wait(index, (when - self.sessions[index].start).total_seconds())

    def serve_waiting(self, now: datetime) -> None:
        while self.waiting:
            host = _place(self.world, self.strategy)
            if host is None:
                return
            index = self.waiting.popleft()
            self.seat(index, host)
            self.record_wait(index, (now - self.sessions[index].start).total_seconds())

    def advance_hosts(self, until: datetime) -> None:
        while self.transitions and self.transitions[0][0] <= until:
            when, name = heapq.heappop(self.transitions)
            host = self.by_name[name]
            if host.changes_at != when:
                continue
            host.changes_at = None
            self.dirty = True
            if host.power is PowerState.STARTING:
                host.power, host.power_changed_at, host.idle_since = PowerState.ON, when, when
                self.world.now = when
                self.serve_waiting(when)
            elif host.power is PowerState.STOPPING:
                host.power, host.power_changed_at = PowerState.OFF, when
                host.drain = host.drained_by_policy = False
                host.logoff_notice_at = None
                if host.allocated_since is not None:
                    host.runs.append((host.allocated_since, when))
                    host.allocated_since = None

    def sample(self, now: datetime) -> None:
        sessions = self.world.sessions()
        self.world.history.append(LoadSample(now, sessions))
        self.world.history_times.append(now)
        if now >= self.measure_from:
            serving = sum(1 for h in self.hosts if h.power is PowerState.ON and not h.drain)
            self.result.timeline.append((now, sessions, serving * self.setup.max_sessions))

    def apply(self, now: datetime) -> None:
        """Ask the strategy for a plan and carry it out.

        A plan with no actions is not asked for again until something happens
        or the strategy's own `quiet_until` passes: the same snapshot gives the
        same plan, and skipping saves most of a simulated night.
        """
        self.world.now, self.world.waiting = now, len(self.waiting)
        actions = self.strategy.plan(self.world)
        for action in actions:
            self.carry_out(action.kind, self.by_name[action.host], now)
        self.serve_waiting(now)
        self.dirty = bool(actions)
        quiet = getattr(self.strategy, "quiet_until", None)
        self.wake = quiet(self.world) if quiet is not None else now

    def carry_out(self, kind: PowerActionKind, host: SimHost, now: datetime) -> None:
        if kind is PowerActionKind.START and host.power is PowerState.OFF:
            minutes = self.boots.boot_minutes(self.setup.boot_minutes)
            host.power, host.power_changed_at, host.allocated_since = PowerState.STARTING, now, now
            host.changes_at = now + timedelta(minutes=minutes)
            heapq.heappush(self.transitions, (host.changes_at, host.name))
        elif kind is PowerActionKind.STOP and host.power is PowerState.ON:
            if host.sessions:
                raise AssertionError(f"{self.strategy.name} stopped {host.name} with users on it")
            host.power, host.power_changed_at = PowerState.STOPPING, now
            host.changes_at = now + timedelta(seconds=STOP_SECONDS)
            heapq.heappush(self.transitions, (host.changes_at, host.name))
        elif kind is PowerActionKind.DRAIN:
            host.drain, host.drained_by_policy = True, True
        elif kind is PowerActionKind.UNDRAIN:
            host.drain = host.drained_by_policy = False
            host.logoff_notice_at = None
        elif kind is PowerActionKind.NOTIFY:
            host.logoff_notice_at = now
        elif kind is PowerActionKind.LOGOFF:
            for index, where in list(self.placed.items()):
                if where is host:
                    del self.placed[index]
                    self.logged_off.add(index)
                    if self.counted(index):
                        self.result.forced_logoffs += 1
            host.sessions, host.idle_since = 0, now


def _place(world: World, strategy: Strategy) -> SimHost | None:
    setup = world.setup
    candidates = [
        Candidate(
            host.name,
            host.sessions,
            setup.max_sessions,
            powered_on=host.power is PowerState.ON,
            draining=host.drain,
        )
        for host in world.hosts
        if host.power is PowerState.ON and not host.drain and host.sessions < setup.max_sessions
    ]
    chosen = choose_host(candidates, strategy.load_balancing(world))
    if chosen is None:
        return None
    return next(host for host in world.hosts if host.name == chosen.name)


def _bill(setup: PoolSetup, hosts: list[SimHost], result: PoolResult, since: datetime) -> None:
    kw = energy_kwh(vcpus=setup.vcpus, memory_gb=setup.memory_gb, hours=1, model=setup.energy)
    seconds = billed = 0.0
    for host in hosts:
        for begin, finish in host.runs:
            run = Run(max(begin, since), finish).seconds
            seconds += run
            billed += billed_seconds(run, setup.billing)
    result.host_hours = seconds / 3600
    result.cost = setup.price_per_hour * Decimal(math.ceil(billed)) / Decimal(3600)
    result.energy_kwh = kw * result.host_hours
