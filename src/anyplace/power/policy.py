"""The autoscale policy: from a snapshot of a pool, the power actions to take now (pure).

Shaped like dask's adaptive scaler and Azure Virtual Desktop scaling plans:

- **Capacity** is max sessions per host times the hosts that are on or starting
  and not draining. Free capacity must stay at or above the phase's buffer (a
  share of that capacity), for the sessions there now plus the growth the
  forecast expects before a host started now could be ready, plus anyone
  waiting for a host. The phase's minimum (looked up over the same window, so
  hosts are on before a minimum rises) is a floor.
- **Scale out**: undrain hosts we drained (they are warm), then start hosts,
  never more power actions at once than the pool allows.
- **Scale in**: drain the least-loaded hosts that have been on for at least the
  power-off delay, never below the target, nor below what the forecast expects
  within the power-off delay (so the lunch dip does not stop hosts that the
  return from lunch needs again); stop a drained host only when it has
  no sessions at all and has been idle for the power-off delay. Disconnected
  sessions past the pool's timeout are logged off first; in ramp-down, and
  only if the pool enables it, remaining users get a notice and, after the
  grace period, a logoff.
- **Never**: stop a host with sessions, leave a stopped host drained (the AVD
  runbook's "nobody could log on next morning"), or touch a host an admin put
  in maintenance or drain.

The shell (the controller, or the simulator) gathers the snapshot and carries
out the actions; this module reads no clock and does no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil

from anyplace.domain import LoadBalancing, Phase, PowerActionKind, PowerState

__all__ = [
    "BOOT_MARGIN",
    "Action",
    "Demand",
    "HostView",
    "PhaseView",
    "Plan",
    "PoolRules",
    "PoolSnapshot",
    "lookahead",
    "placement_mode",
    "plan",
]

POWERED = (PowerState.ON, PowerState.STARTING)
BOOT_MARGIN = 2.0
"""Boots have a tail (the simulated cloud's is log-normal; Azure publishes no figure and
3-10 minutes is typical), so decisions look twice the pool's typical boot time ahead."""


def placement_mode(configured: LoadBalancing, phase: Phase) -> LoadBalancing:
    """How new sessions are placed in a phase: the pool's mode, but depth-first when winding down.

    In ramp-down and off-peak, filling the fullest hosts first lets the others
    empty and stop (AVD's default for those phases); a load-index pool keeps its
    load evaluator, which already protects busy hosts.
    """
    if phase in (Phase.RAMP_DOWN, Phase.OFF_PEAK) and configured is LoadBalancing.BREADTH_FIRST:
        return LoadBalancing.DEPTH_FIRST
    return configured


def lookahead(boot_minutes: float, tick: timedelta) -> timedelta:
    """How far ahead a start must be decided for the host to be ready in time."""
    return timedelta(minutes=boot_minutes * BOOT_MARGIN) + tick


@dataclass(frozen=True)
class HostView:
    name: str
    power: PowerState
    drain: bool = False
    drained_by_policy: bool = False
    maintenance: bool = False
    active_sessions: int = 0
    disconnected_sessions: int = 0
    expired_disconnected: int = 0
    pending_sessions: int = 0
    power_changed_at: datetime | None = None
    idle_since: datetime | None = None
    logoff_notice_at: datetime | None = None
    action_in_flight: bool = False

    @property
    def sessions(self) -> int:
        return self.active_sessions + self.disconnected_sessions + self.pending_sessions

    @property
    def serving(self) -> bool:
        """Takes new sessions (or will, once booted)."""
        return self.power in POWERED and not self.drain and not self.maintenance

    @property
    def busy(self) -> bool:
        """A power change is under way: it counts against the concurrency limit."""
        return self.action_in_flight or self.power in (PowerState.STARTING, PowerState.STOPPING)


@dataclass(frozen=True)
class PoolRules:
    max_sessions_per_host: int
    power_off_delay: timedelta = timedelta(minutes=30)
    max_concurrent_actions: int = 5
    forced_logoff: bool = False
    logoff_grace: timedelta = timedelta(minutes=15)
    disconnect_timeout: timedelta | None = None


@dataclass(frozen=True)
class PhaseView:
    phase: Phase
    minimum: int
    """The most hosts any phase asks for between now and when a host started now is ready."""
    buffer_percent: int


@dataclass(frozen=True)
class Demand:
    forecast: int = 0
    """Sessions the history expects in the pool before a host started now is ready."""
    waiting: int = 0
    """Launches waiting for a host right now (start on demand)."""
    hold: int = 0
    """Sessions the history expects within the power-off delay: a host is not drained if
    users are expected back before it could stop (the lunch break, a meeting)."""


@dataclass(frozen=True)
class PoolSnapshot:
    name: str
    now: datetime
    rules: PoolRules
    phase: PhaseView
    hosts: tuple[HostView, ...]
    demand: Demand = Demand()


@dataclass(frozen=True)
class Action:
    kind: PowerActionKind
    host: str
    reason: str
    expired_only: bool = False
    """For LOGOFF: only the disconnected sessions past the timeout."""


@dataclass(frozen=True)
class Plan:
    pool: str
    phase: Phase
    sessions: int
    expected: int
    capacity: int
    target_hosts: int
    actions: tuple[Action, ...]

    def of_kind(self, kind: PowerActionKind) -> list[Action]:
        return [action for action in self.actions if action.kind is kind]


def target_hosts(
    expected: int, buffer_percent: int, per_host: int, minimum: int, usable: int
) -> int:
    """Hosts needed so that `expected` sessions leave `buffer_percent` of capacity free."""
    if buffer_percent >= 100:
        needed = usable
    else:
        needed = ceil(expected / (per_host * (1 - buffer_percent / 100))) if expected else 0
    return min(max(needed, minimum), usable)


def plan(snapshot: PoolSnapshot) -> Plan:
    rules, now = snapshot.rules, snapshot.now
    usable = [host for host in snapshot.hosts if not host.maintenance]
    serving = [host for host in usable if host.serving]
    sessions = sum(host.sessions for host in usable if host.power in POWERED)
    on_serving = sum(host.sessions for host in serving)
    growth = max(0, snapshot.demand.forecast - sessions)
    expected = on_serving + growth + snapshot.demand.waiting
    target = target_hosts(
        expected,
        buffer_percent=snapshot.phase.buffer_percent,
        per_host=rules.max_sessions_per_host,
        minimum=snapshot.phase.minimum,
        usable=len(usable),
    )
    budget = max(0, rules.max_concurrent_actions - sum(1 for h in snapshot.hosts if h.busy))
    actions: list[Action] = []
    why = f"{expected} sessions expected, buffer {snapshot.phase.buffer_percent} %, target {target}"

    keep = target
    if snapshot.demand.hold > sessions:
        held = on_serving + snapshot.demand.hold - sessions
        keep = max(target, target_hosts(
            held, buffer_percent=snapshot.phase.buffer_percent,
            per_host=rules.max_sessions_per_host, minimum=0, usable=len(usable),
        ))  # fmt: skip
    if target > len(serving):
        actions += _scale_out(usable, target - len(serving), budget, why)
    elif keep < len(serving):
        actions += _scale_in(serving, len(serving) - keep, now, rules, why)

    spent = sum(1 for a in actions if a.kind in (PowerActionKind.START, PowerActionKind.STOP))
    undrained = {a.host for a in actions if a.kind is PowerActionKind.UNDRAIN}
    actions += _wind_down(usable, undrained, now, rules, snapshot.phase.phase, budget - spent)
    actions += _clean_up(usable)
    return Plan(
        pool=snapshot.name,
        phase=snapshot.phase.phase,
        sessions=sessions,
        expected=expected,
        capacity=len(serving) * rules.max_sessions_per_host,
        target_hosts=target,
        actions=tuple(actions),
    )


def _scale_out(usable: list[HostView], missing: int, budget: int, why: str) -> list[Action]:
    actions: list[Action] = []
    warm = [h for h in usable if h.power in POWERED and h.drain and h.drained_by_policy]
    warm.sort(key=lambda h: (-h.sessions, h.name))
    for host in warm[:missing]:
        actions.append(Action(PowerActionKind.UNDRAIN, host.name, f"needed again: {why}"))
    missing -= len(actions)
    # An off host we drained is started too: the clean-up undrains it in the same plan.
    cold = [
        h
        for h in usable
        if h.power is PowerState.OFF and not h.busy and (not h.drain or h.drained_by_policy)
    ]
    cold.sort(key=lambda h: h.name)
    for host in cold[: max(0, min(missing, budget))]:
        actions.append(Action(PowerActionKind.START, host.name, f"scale out: {why}"))
    return actions


def _scale_in(
    serving: list[HostView], excess: int, now: datetime, rules: PoolRules, why: str
) -> list[Action]:
    settled = [
        host
        for host in serving
        if host.power is PowerState.ON
        and not host.busy
        and (host.power_changed_at is None or now - host.power_changed_at >= rules.power_off_delay)
    ]
    settled.sort(key=lambda h: (h.sessions, _reverse_name(h.name)))
    return [
        Action(PowerActionKind.DRAIN, host.name, f"scale in: {why}") for host in settled[:excess]
    ]


def _reverse_name(name: str) -> tuple[int, ...]:
    """Later names first among equals, so the hosts started first (gen-01 ...) stay on."""
    return tuple(-ord(char) for char in name)


def _wind_down(
    usable: list[HostView],
    undrained: set[str],
    now: datetime,
    rules: PoolRules,
    phase: Phase,
    budget: int,
) -> list[Action]:
    """Move the hosts we drained towards off: logoffs where allowed, then a stop at zero."""
    actions: list[Action] = []
    draining = [
        h
        for h in usable
        if h.power is PowerState.ON and h.drain and h.drained_by_policy and h.name not in undrained
    ]
    for host in sorted(draining, key=lambda h: (h.sessions, h.name)):
        if host.busy:
            continue
        if host.sessions == 0:
            idle_long_enough = host.idle_since is not None and (
                now - host.idle_since >= rules.power_off_delay
            )
            if idle_long_enough and budget > 0:
                actions.append(Action(PowerActionKind.STOP, host.name, "drained and idle"))
                budget -= 1
            continue
        only_expired = (
            rules.disconnect_timeout is not None
            and host.active_sessions == 0
            and host.pending_sessions == 0
            and host.expired_disconnected == host.disconnected_sessions
        )
        if only_expired:
            actions.append(
                Action(
                    PowerActionKind.LOGOFF,
                    host.name,
                    "only disconnected sessions past the timeout are left",
                    expired_only=True,
                )
            )
        elif phase is Phase.RAMP_DOWN and rules.forced_logoff:
            if host.logoff_notice_at is None:
                minutes = int(rules.logoff_grace.total_seconds() // 60)
                actions.append(
                    Action(
                        PowerActionKind.NOTIFY,
                        host.name,
                        f"ramp-down: users asked to save and log off within {minutes} minutes",
                    )
                )
            elif now - host.logoff_notice_at >= rules.logoff_grace:
                actions.append(
                    Action(PowerActionKind.LOGOFF, host.name, "ramp-down: grace period over")
                )
    return actions


def _clean_up(usable: list[HostView]) -> list[Action]:
    """A host that is off must not stay drained by us, or the morning finds it refusing users."""
    return [
        Action(PowerActionKind.UNDRAIN, host.name, "stopped: ready for new sessions when started")
        for host in usable
        if host.power is PowerState.OFF and host.drain and host.drained_by_policy
    ]
