"""The ways of powering a pool that the simulator compares.

Every strategy sees the same world (hosts, sessions, waiting users, the pool's
schedule) and returns power actions; the engine carries them out the same way.
The baselines follow their vendors' documentation as closely as the world
allows; where a document leaves a choice, the docstring says which we made.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from math import ceil

from anyplace.domain import LoadBalancing, Phase, PowerActionKind, PowerState
from anyplace.power.forecast import forecast_peak
from anyplace.power.policy import (
    Action,
    Demand,
    HostView,
    PhaseView,
    PoolSnapshot,
    placement_mode,
    plan,
)
from anyplace.power.schedule import PhaseRule, Schedule
from anyplace.sim.model import SimHost, Strategy, World

__all__ = [
    "STRATEGIES",
    "AlwaysOn",
    "AnyplacePolicy",
    "AvdScalingPlan",
    "CitrixAutoscale",
    "FixedSchedule",
    "make_strategy",
]

START, STOP = PowerActionKind.START, PowerActionKind.STOP
DRAIN, UNDRAIN = PowerActionKind.DRAIN, PowerActionKind.UNDRAIN
NOTIFY, LOGOFF = PowerActionKind.NOTIFY, PowerActionKind.LOGOFF


def _on(host: SimHost) -> bool:
    return host.power is PowerState.ON


def _serving(world: World) -> list[SimHost]:
    return [
        h for h in world.hosts if h.power in (PowerState.ON, PowerState.STARTING) and not h.drain
    ]


def _start(world: World, count: int, why: str) -> list[Action]:
    off = [h for h in world.hosts if h.power is PowerState.OFF]
    return [Action(START, h.name, why) for h in off[: max(0, count)]]


class AlwaysOn:
    """Every host on all the time: the cost of doing nothing, and no waits."""

    name = "always-on"

    def plan(self, world: World) -> list[Action]:
        return _start(world, len(world.hosts), "always on")

    def quiet_until(self, world: World) -> datetime:
        return world.now + timedelta(days=366)

    def load_balancing(self, world: World) -> LoadBalancing:
        return world.setup.load_balancing


class FixedSchedule:
    """A fixed office-hours schedule with no load scaling (as Azure Start/Stop VMs v2 runs).

    Every host is on from ramp-up to the end of ramp-down, and only the off-peak
    minimum otherwise; hosts start at the phase's start (no look-ahead) and
    excess hosts are drained and stopped once empty (never with users on them).
    Nobody is started on demand: a user outside office hours waits for the
    next start.
    """

    name = "schedule"

    def plan(self, world: World) -> list[Action]:
        active = world.setup.schedule.phase_at(world.now)
        size = len(world.hosts)
        wanted = size if active.phase is not Phase.OFF_PEAK else active.rule.minimum(size)
        serving = _serving(world)
        actions: list[Action] = []
        if len(serving) < wanted:
            warm = [h for h in world.hosts if _on(h) and h.drain]
            actions += [Action(UNDRAIN, h.name, "schedule") for h in warm[: wanted - len(serving)]]
            actions += _start(world, wanted - len(serving) - len(actions), "schedule")
        elif len(serving) > wanted:
            excess = sorted((h for h in serving if _on(h)), key=lambda h: h.sessions)
            actions += [Action(DRAIN, h.name, "schedule") for h in excess[: len(serving) - wanted]]
        actions += [
            Action(STOP, h.name, "schedule: empty")
            for h in world.hosts
            if _on(h) and h.drain and h.sessions == 0
        ]
        return actions

    def load_balancing(self, world: World) -> LoadBalancing:
        return world.setup.load_balancing


class AvdScalingPlan:
    """Azure Virtual Desktop autoscale for pooled host pools, as Microsoft documents it.

    Sources: MicrosoftDocs/azure-docs, virtual-desktop/autoscale-glossary.md,
    autoscale-scenarios.md, autoscale-create-assign-scaling-plan.md.

    - Phases ramp-up, peak, ramp-down, off-peak; ramp-up and ramp-down each have
      a minimum percentage of hosts (rounded up) and a capacity threshold; peak
      uses the ramp-up threshold and off-peak the ramp-down threshold. We keep
      the ramp-up minimum through peak and the ramp-down minimum through
      off-peak. Thresholds are 100 % minus our policy's buffer for that phase.
    - Available capacity = max sessions x running hosts that take new
      sessions; used = sessions / available capacity. Scale out when used is
      above the threshold (undrain first); scale in only if, after removing a
      host, used stays at or below it: stop a host with no sessions, else drain
      the one with the fewest and stop it when it has none.
    - Ramp-up and peak place breadth-first, ramp-down and off-peak depth-first
      (the defaults).
    - In ramp-down, if the pool forces logoff: notify, wait, log off, stop.
    - Holidays are not supported: the weekly schedule runs on them too.
    - Start VM on Connect: a user who finds no host running starts one.
    """

    name = "avd"

    def __init__(self) -> None:
        self._schedules: dict[int, Schedule] = {}

    def _weekly(self, world: World) -> Schedule:
        schedule = world.setup.schedule
        key = id(schedule)
        if key not in self._schedules:
            self._schedules[key] = replace(
                schedule, holidays_country=None, closed_days=frozenset(), open_days=frozenset()
            )
        return self._schedules[key]

    def _settings(self, world: World) -> tuple[Phase, int, float]:
        """The phase, the minimum host count and the capacity threshold (0-1) in force."""
        schedule = self._weekly(world)
        active = schedule.phase_at(world.now)
        phase = active.phase
        source = Phase.RAMP_UP if phase in (Phase.RAMP_UP, Phase.PEAK) else Phase.RAMP_DOWN
        rule = _rule_for(schedule, active.rule, source)
        size = len(world.hosts)
        minimum = rule.minimum(size)
        return phase, minimum, max(0.05, 1 - rule.buffer_percent / 100)

    def plan(self, world: World) -> list[Action]:
        phase, minimum, threshold = self._settings(world)
        per_host = world.setup.max_sessions
        running = [h for h in world.hosts if _on(h) and not h.drain]
        starting = [h for h in world.hosts if h.power is PowerState.STARTING]
        sessions = sum(h.sessions for h in running) + world.waiting
        actions: list[Action] = []
        capacity = per_host * (len(running) + len(starting))
        if world.waiting and not running and not starting:
            return _start(world, 1, "start VM on connect")
        needed = max(minimum, ceil(sessions / (per_host * threshold)) if sessions else 0)
        have = len(running) + len(starting)
        if sessions > threshold * capacity or have < minimum:
            warm = [h for h in world.hosts if _on(h) and h.drain]
            for host in warm[: needed - have]:
                actions.append(Action(UNDRAIN, host.name, "avd: above threshold"))
            actions += _start(world, needed - have - len(actions), "avd: above threshold")
        elif len(running) > minimum and not starting:
            remaining = per_host * (len(running) - 1)
            if remaining and sessions / remaining <= threshold:
                empty = [h for h in running if h.sessions == 0]
                if empty:
                    actions.append(Action(DRAIN, empty[0].name, "avd: scale in"))
                else:
                    fewest = min(running, key=lambda h: (h.sessions, h.name))
                    actions.append(Action(DRAIN, fewest.name, "avd: scale in, drain"))
        actions += self._wind_down(world, phase)
        return actions

    def _wind_down(self, world: World, phase: Phase) -> list[Action]:
        actions = []
        rules = world.setup.rules
        for host in world.hosts:
            if not (_on(host) and host.drain):
                continue
            if host.sessions == 0:
                actions.append(Action(STOP, host.name, "avd: stop hosts when zero sessions"))
            elif phase is Phase.RAMP_DOWN and rules.forced_logoff:
                if host.logoff_notice_at is None:
                    actions.append(Action(NOTIFY, host.name, "avd: ramp-down notification"))
                elif world.now - host.logoff_notice_at >= rules.logoff_grace:
                    actions.append(Action(LOGOFF, host.name, "avd: ramp-down force logoff"))
        return actions

    def load_balancing(self, world: World) -> LoadBalancing:
        phase = self._weekly(world).phase_at(world.now).phase
        if phase in (Phase.RAMP_UP, Phase.PEAK):
            return LoadBalancing.BREADTH_FIRST
        return LoadBalancing.DEPTH_FIRST


def _rule_for(schedule: Schedule, current: PhaseRule, phase: Phase) -> PhaseRule:
    """The rule for `phase` on the same weekdays as `current` (or any), else `current`."""
    same_days = [r for r in schedule.rules if r.phase is phase and r.weekdays & current.weekdays]
    anywhere = [r for r in schedule.rules if r.phase is phase]
    return (same_days or anywhere or [current])[0]


class CitrixAutoscale:
    """Citrix DaaS Autoscale for a multi-session delivery group, with its defaults.

    Source: docs.citrix.com, citrix-daas/manage-deployment/autoscale.

    - Peak and off-peak times only: our ramp-up, peak and ramp-down are Citrix's
      peak. The machine counts are the schedule's minimums for those times.
    - Capacity buffer 10 % of the delivery group's load-index capacity (all
      machines at their maximum sessions), peak and off-peak.
    - Machines with no sessions are shut down after the power-off delay (30
      minutes by default) when more are on than needed; machines with sessions
      are not drained.
    - Public holidays as off-peak (Citrix's holiday plug-in).
    """

    name = "citrix"
    buffer_percent = 10

    def plan(self, world: World) -> list[Action]:
        active = world.setup.schedule.phase_at(world.now)
        size = len(world.hosts)
        per_host = world.setup.max_sessions
        counted = active.rule.minimum(size)
        buffer_sessions = ceil(self.buffer_percent / 100 * per_host * size)
        on = [h for h in world.hosts if h.power in (PowerState.ON, PowerState.STARTING)]
        sessions = sum(h.sessions for h in on) + world.waiting
        needed = max(counted, ceil((sessions + buffer_sessions) / per_host))
        needed = min(needed, size)
        if needed > len(on):
            return _start(world, needed - len(on), "citrix: below machine count or buffer")
        delay = world.setup.rules.power_off_delay
        idle = [
            h
            for h in on
            if _on(h)
            and h.sessions == 0
            and h.idle_since is not None
            and world.now - h.idle_since >= delay
        ]
        idle.sort(key=lambda h: h.name, reverse=True)
        return [
            Action(STOP, h.name, "citrix: idle past the power-off delay")
            for h in idle[: len(on) - needed]
        ]

    def load_balancing(self, world: World) -> LoadBalancing:
        return world.setup.load_balancing


class AnyplacePolicy:
    """Our policy (`anyplace.power.policy.plan`) with its weekday forecast, as in production.

    The schedule's view (phase, minimum and buffer looked up a boot time ahead)
    is cached until the next instant it can change, and `quiet_until` tells
    the engine when a plan with nothing to do could next have something to do
    without any event: a phase boundary, a forecast sample, a power-off delay
    or a logoff grace running out.
    """

    name = "anyplace"

    def __init__(self, forecast_weeks: int = 8) -> None:
        self.forecast_weeks = forecast_weeks
        self._view: PhaseView | None = None
        self._hosts: dict[str, tuple[tuple[object, ...], HostView]] = {}
        self._view_from = self._view_until = datetime.min.replace(tzinfo=UTC)

    def _phase_view(self, world: World) -> PhaseView:
        now, lead, schedule = world.now, world.lead, world.setup.schedule
        if self._view is None or not self._view_from <= now < self._view_until:
            phases = list(schedule.phases_between(now, now + lead))
            size = len(world.hosts)
            self._view = PhaseView(
                phase=phases[0].phase,
                minimum=max(p.rule.minimum(size) for p in phases),
                buffer_percent=max(p.rule.buffer_percent for p in phases),
            )
            ahead = schedule.next_change(now + lead)
            limits = [t for t in (phases[0].until, ahead - lead if ahead else None) if t]
            self._view_from = now
            self._view_until = min(limits) if limits else now + timedelta(days=7)
        return self._view

    def plan(self, world: World) -> list[Action]:
        setup, now = world.setup, world.now
        schedule = setup.schedule
        forecast = hold = 0
        if self.forecast_weeks:

            def peak(horizon: timedelta) -> int:
                return forecast_peak(
                    world.history,
                    start=now,
                    horizon=horizon,
                    zone=schedule.zone,
                    is_closed=lambda day: schedule.holiday_name(day) is not None,
                    weeks=self.forecast_weeks,
                    times=world.history_times,
                )

            forecast = peak(world.lead)
            hold = peak(world.lead + setup.rules.power_off_delay)
        hosts = tuple(self._host_view(h) for h in world.hosts)
        demand = Demand(forecast=forecast, waiting=world.waiting, hold=hold)
        view = self._phase_view(world)
        snapshot = PoolSnapshot(setup.name, now, setup.rules, view, hosts, demand)
        return list(plan(snapshot).actions)

    def _host_view(self, host: SimHost) -> HostView:
        """The policy's view of a host, made again only when the host changed."""
        idle = host.idle_since if host.sessions == 0 else None
        key = (host.power, host.drain, host.drained_by_policy, host.sessions,
               host.power_changed_at, idle, host.logoff_notice_at)  # fmt: skip
        cached = self._hosts.get(host.name)
        if cached is not None and cached[0] == key:
            return cached[1]
        view = HostView(
            name=host.name,
            power=host.power,
            drain=host.drain,
            drained_by_policy=host.drained_by_policy,
            active_sessions=host.sessions,
            power_changed_at=host.power_changed_at,
            idle_since=idle,
            logoff_notice_at=host.logoff_notice_at,
        )
        self._hosts[host.name] = (key, view)
        return view

    def quiet_until(self, world: World) -> datetime:
        now, rules = world.now, world.setup.rules
        moments = [self._view_until]
        if self.forecast_weeks:
            moments.append(now + timedelta(minutes=5))
        for host in world.hosts:
            if host.power is PowerState.ON and host.power_changed_at is not None:
                moments.append(host.power_changed_at + rules.power_off_delay)
            if host.drain and host.idle_since is not None:
                moments.append(host.idle_since + rules.power_off_delay)
            if host.logoff_notice_at is not None:
                moments.append(host.logoff_notice_at + rules.logoff_grace)
        return min(m for m in moments if m > now) if any(m > now for m in moments) else now

    def load_balancing(self, world: World) -> LoadBalancing:
        return placement_mode(world.setup.load_balancing, self._phase_view(world).phase)


STRATEGIES = ("always-on", "schedule", "avd", "citrix", "anyplace")


def make_strategy(name: str) -> Strategy:
    makers: dict[str, type] = {
        "always-on": AlwaysOn,
        "schedule": FixedSchedule,
        "avd": AvdScalingPlan,
        "citrix": CitrixAutoscale,
        "anyplace": AnyplacePolicy,
    }
    if name not in makers:
        raise ValueError(f"unknown strategy {name!r}; one of {', '.join(STRATEGIES)}")
    strategy: Strategy = makers[name]()
    return strategy
