"""Reading a pool or server group from the store into the plain views the policies take."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from anyplace.config import PowerSettings
from anyplace.domain import Phase, PowerActionKind, PowerActionState, SessionState, Weekday
from anyplace.power.forecast import LoadSample, forecast_peak
from anyplace.power.policy import (
    Demand,
    HostView,
    PhaseView,
    PoolRules,
    PoolSnapshot,
    lookahead,
)
from anyplace.power.schedule import ActivePhase, PhaseRule, Schedule
from anyplace.power.servers import ServerPlan, ServerView, plan_servers
from anyplace.store.models import (
    Machine,
    Pool,
    PoolLoadSample,
    PowerAction,
    PowerPolicy,
    ServerGroup,
)
from anyplace.store.models import Session as UserSession

__all__ = [
    "LIVE_STATES",
    "PhaseValues",
    "PoolContext",
    "actions_in_flight",
    "build_schedule",
    "pool_rules",
    "pool_snapshot",
    "schedule_from_policy",
    "server_group_plan",
    "server_views",
]

LIVE_STATES = (SessionState.PENDING, SessionState.ACTIVE, SessionState.DISCONNECTED)
DAYS = list(Weekday)
ALWAYS_ON = Schedule(
    "UTC",
    (PhaseRule(frozenset(range(1, 8)), Phase.PEAK, datetime.min.time(), min_percent=100),),
    holidays_country=None,
)


def schedule_from_policy(policy: PowerPolicy | None) -> Schedule:
    """The policy's schedule; no policy means always on (every host, every day)."""
    if policy is None:
        return ALWAYS_ON
    return build_schedule(
        timezone=policy.timezone,
        holidays_country=policy.holidays_country,
        holiday_phase=policy.holiday_phase,
        closed_days=policy.closed_days,
        open_days=policy.open_days,
        phases=[
            PhaseValues(
                phase.weekdays,
                phase.phase,
                phase.start,
                phase.min_hosts,
                phase.min_percent,
                phase.buffer_percent,
            )
            for phase in policy.phases
        ],
    )


class PhaseValues(NamedTuple):
    """A stored schedule phase's columns."""

    weekdays: int
    """Bit mask, Monday = 1."""
    phase: Phase
    start: time
    min_hosts: int
    min_percent: int
    buffer_percent: int


def build_schedule(
    *,
    timezone: str,
    holidays_country: str | None,
    holiday_phase: Phase,
    closed_days: Iterable[str],
    open_days: Iterable[str],
    phases: Iterable[PhaseValues],
) -> Schedule:
    """A schedule from stored values; the one made before from equal values, if any.

    Schedules are read on every launch batch and every controller tick, and a
    schedule learns its holidays as it is asked about days: handing back the
    same object skips building it and keeps what it has learnt.
    """
    key = (
        timezone,
        holidays_country,
        holiday_phase,
        tuple(closed_days),
        tuple(open_days),
        tuple(phases),
    )
    known = _known_schedules.get(key)
    if known is not None:
        return known
    rules = tuple(
        PhaseRule(
            weekdays=frozenset(i + 1 for i in range(7) if values.weekdays & DAYS[i].bit),
            phase=values.phase,
            start=values.start,
            min_hosts=values.min_hosts,
            min_percent=values.min_percent,
            buffer_percent=values.buffer_percent,
        )
        for values in key[5]
    )
    schedule = Schedule(
        timezone=timezone,
        rules=rules,
        holidays_country=holidays_country,
        holiday_phase=holiday_phase,
        closed_days=frozenset(date.fromisoformat(day) for day in key[3]),
        open_days=frozenset(date.fromisoformat(day) for day in key[4]),
    )
    return _known_schedules.setdefault(key, schedule)


_known_schedules: dict[tuple[object, ...], Schedule] = {}
"""Every distinct schedule seen, by its values: a few per site (one per policy and edit)."""


def actions_in_flight(session: Session, machine_ids: list[int]) -> set[int]:
    """Machines with a start or stop recorded but not yet carried out."""
    return set(
        session.scalars(
            select(PowerAction.machine_id).where(
                PowerAction.machine_id.in_(machine_ids),
                PowerAction.state.in_((PowerActionState.PENDING, PowerActionState.RUNNING)),
                PowerAction.action.in_((PowerActionKind.START, PowerActionKind.STOP)),
            )
        )
    )


@dataclass(frozen=True)
class PoolContext:
    """What `pool_snapshot` saw besides the snapshot itself, for explaining a plan."""

    schedule: Schedule
    active: ActivePhase
    buffer_percent: int
    minimum_now: int


def pool_snapshot(
    session: Session, pool: Pool, now: datetime, settings: PowerSettings, *, waiting: int = 0
) -> tuple[PoolSnapshot, PoolContext]:
    policy = pool.power_policy
    schedule = schedule_from_policy(policy)
    hosts = list(pool.hosts)
    ids = [host.id for host in hosts]
    lead = lookahead(pool.boot_minutes, timedelta(seconds=settings.tick_seconds))
    active = schedule.phase_at(now)
    phases = list(schedule.phases_between(now, now + lead))
    minimum = max(phase.rule.minimum(len(hosts)) for phase in phases)
    buffer_percent = max(phase.rule.buffer_percent for phase in phases)
    timeout = (
        timedelta(minutes=policy.disconnect_timeout_minutes)
        if policy is not None and policy.disconnect_timeout_minutes is not None
        else None
    )
    counts = _session_counts(session, ids, now, timeout)
    last_end = dict(
        session.execute(
            select(UserSession.machine_id, func.max(UserSession.ended_at))
            .where(UserSession.machine_id.in_(ids), UserSession.ended_at.is_not(None))
            .group_by(UserSession.machine_id)
        ).all()
    )
    busy = actions_in_flight(session, ids)
    views = []
    for host in hosts:
        mine = counts[host.id]
        sessions = mine[SessionState.ACTIVE] + mine[SessionState.DISCONNECTED]
        sessions += mine[SessionState.PENDING]
        idle_since = None
        if sessions == 0:
            moments = [t for t in (host.power_state_at, last_end.get(host.id)) if t is not None]
            idle_since = max(moments) if moments else None
        views.append(
            HostView(
                name=host.name,
                power=host.power_state,
                drain=host.drain,
                drained_by_policy=host.drain_by_policy,
                maintenance=host.maintenance,
                active_sessions=mine[SessionState.ACTIVE],
                disconnected_sessions=mine[SessionState.DISCONNECTED],
                expired_disconnected=mine["expired"],
                pending_sessions=mine[SessionState.PENDING],
                power_changed_at=host.power_state_at,
                idle_since=idle_since,
                logoff_notice_at=host.logoff_notice_at,
                action_in_flight=host.id in busy,
            )
        )
    rules = pool_rules(pool)
    forecast = _forecast(session, pool, schedule, now, lead, settings)
    hold = _forecast(session, pool, schedule, now, lead + rules.power_off_delay, settings)
    snapshot = PoolSnapshot(
        name=pool.name,
        now=now,
        rules=rules,
        phase=PhaseView(active.phase, minimum, buffer_percent),
        hosts=tuple(views),
        demand=Demand(forecast=forecast, waiting=waiting, hold=hold),
    )
    context = PoolContext(schedule, active, buffer_percent, active.rule.minimum(len(hosts)))
    return snapshot, context


def pool_rules(pool: Pool) -> PoolRules:
    """The policy's rules for a pool; a pool without a policy gets the defaults."""
    policy = pool.power_policy
    if policy is None:
        return PoolRules(max_sessions_per_host=pool.max_sessions_per_host)
    timeout = policy.disconnect_timeout_minutes
    return PoolRules(
        max_sessions_per_host=pool.max_sessions_per_host,
        power_off_delay=timedelta(minutes=policy.power_off_delay_minutes),
        max_concurrent_actions=policy.max_concurrent_actions,
        forced_logoff=policy.forced_logoff,
        logoff_grace=timedelta(minutes=policy.logoff_grace_minutes),
        disconnect_timeout=timedelta(minutes=timeout) if timeout is not None else None,
    )


def _session_counts(
    session: Session, ids: list[int], now: datetime, timeout: timedelta | None
) -> dict[int, Counter[str]]:
    counts: dict[int, Counter[str]] = {machine_id: Counter() for machine_id in ids}
    rows = session.execute(
        select(UserSession.machine_id, UserSession.state, UserSession.disconnected_at).where(
            UserSession.machine_id.in_(ids), UserSession.state.in_(LIVE_STATES)
        )
    ).all()
    for machine_id, state, disconnected_at in rows:
        if machine_id is None:
            continue
        counts[machine_id][state] += 1
        if (
            state is SessionState.DISCONNECTED
            and timeout is not None
            and disconnected_at is not None
            and now - disconnected_at >= timeout
        ):
            counts[machine_id]["expired"] += 1
    return counts


def _forecast(
    session: Session,
    pool: Pool,
    schedule: Schedule,
    now: datetime,
    lead: timedelta,
    settings: PowerSettings,
) -> int:
    if settings.forecast_weeks == 0:
        return 0
    since = now - timedelta(weeks=settings.forecast_weeks, days=1)
    history = [
        LoadSample(at, sessions)
        for at, sessions in session.execute(
            select(PoolLoadSample.at, PoolLoadSample.sessions)
            .where(PoolLoadSample.pool_id == pool.id, PoolLoadSample.at >= since)
            .order_by(PoolLoadSample.at)
        )
    ]
    return forecast_peak(
        history,
        start=now,
        horizon=lead,
        zone=schedule.zone,
        is_closed=lambda day: schedule.holiday_name(day) is not None,
        weeks=settings.forecast_weeks,
    )


def server_group_plan(session: Session, group: ServerGroup, now: datetime) -> ServerPlan:
    """Which of the group's servers should be on at `now`, and the next sequenced step."""
    servers = list(group.servers)
    schedule = schedule_from_policy(group.power_policy)
    wanted = schedule.phase_at(now).rule.minimum(len(servers))
    policy = group.power_policy
    budget = policy.max_concurrent_actions if policy else len(servers)
    views = server_views(session, servers)
    budget -= sum(1 for view in views if view.busy)
    return plan_servers(group.name, views, wanted=wanted, budget=max(0, budget))


def server_views(session: Session, servers: list[Machine]) -> tuple[ServerView, ...]:
    busy = actions_in_flight(session, [server.id for server in servers])
    return tuple(
        ServerView(
            name=server.name,
            power=server.power_state,
            order=server.start_order,
            busy=server.id in busy,
            maintenance=server.maintenance,
        )
        for server in servers
    )
