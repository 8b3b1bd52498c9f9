"""The pools as placement sees them while a batch of launches is placed.

The broker places launches in batches (see `broker.batcher`): the pools' hosts,
their session counts and the batch's users' own sessions are read once, in the
batch's transaction, and kept up to date in memory as each launch is placed, so
that the second launch of a batch sees the session the first one made. The
decisions themselves are `broker.placement.decide`'s (pure); this module only
gathers its input and remembers its output until it is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from anyplace.broker.placement import Candidate, Decision, ExistingSession, decide
from anyplace.broker.registration import registered_since
from anyplace.domain import LoadBalancing, PowerState, SessionState
from anyplace.power.policy import placement_mode
from anyplace.power.schedule import Schedule
from anyplace.power.snapshot import ALWAYS_ON, PhaseValues, build_schedule
from anyplace.store.models import Machine, Pool, PowerPolicy, SchedulePhase
from anyplace.store.models import Session as UserSession

__all__ = ["LIVE", "Placing"]

LIVE = (SessionState.PENDING, SessionState.ACTIVE, SessionState.DISCONNECTED)


@dataclass
class _PoolView:
    name: str
    mode: LoadBalancing
    hosts: list[Candidate]
    host_ids: dict[str, int]
    own: dict[int, list[ExistingSession]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class _NewSession:
    user_id: int
    pool_id: int
    machine_id: int
    apps: list[str]


class Placing:
    """One batch's view of its pools; `place` decides, `write` records the sessions.

    A session made in this batch has a negative id until `write` inserts it and
    returns the real ids.
    """

    def __init__(self, pools: dict[int, _PoolView], apps: dict[int, list[str]]) -> None:
        self._pools = pools
        self._apps = apps
        """Each live session's apps (existing and new), to add a reconnected launch's app."""
        self._changed: set[int] = set()
        self._new: dict[int, _NewSession] = {}

    @classmethod
    def read(
        cls,
        db: Session,
        now: datetime,
        heartbeat_seconds: float,
        pool_ids: Collection[int],
        user_ids: Collection[int],
    ) -> Placing:
        """Four prepared statements, however many launches and pools; none without pools."""
        if not pool_ids:
            return cls({}, {})
        connection = db.connection()
        pools = connection.execute(_POOLS, {"pools": list(pool_ids)}).all()
        schedules = _schedules(connection, {pool.power_policy_id for pool in pools})
        views: dict[int, _PoolView] = {}
        max_sessions: dict[int, int] = {}
        for pool in pools:
            schedule = schedules.get(pool.power_policy_id, ALWAYS_ON)
            mode = placement_mode(pool.load_balancing, schedule.phase_at(now).phase)
            views[pool.id] = _PoolView(pool.name, mode, [], {})
            max_sessions[pool.id] = pool.max_sessions_per_host
        names_by_id: dict[int, str] = {}
        cutoff = registered_since(now, heartbeat_seconds)
        hosts = connection.execute(
            _HOSTS, {"pools": list(pool_ids), "live": _LIVE_STATES, "cutoff": cutoff}
        )
        for host in hosts:
            view = views[host.pool_id]
            view.host_ids[host.name] = host.id
            names_by_id[host.id] = host.name
            view.hosts.append(
                Candidate(
                    name=host.name,
                    sessions=host.sessions,
                    max_sessions=max_sessions[host.pool_id],
                    registered=bool(host.registered),
                    powered_on=host.power_state is PowerState.ON,
                    draining=host.drain or host.maintenance,
                    cpu_percent=host.cpu_percent,
                    memory_percent=host.memory_percent,
                )
            )
        apps: dict[int, list[str]] = {}
        own_sessions = connection.execute(
            _OWN, {"users": list(user_ids), "pools": list(pool_ids), "live": _LIVE_STATES}
        )
        for row in own_sessions:
            if row.machine_id in names_by_id:
                own = views[row.pool_id].own[row.user_id]
                own.append(ExistingSession(row.id, names_by_id[row.machine_id], row.state))
                apps[row.id] = list(row.apps)
        return cls(views, apps)

    def pool_name(self, pool_id: int) -> str:
        return self._pools[pool_id].name

    def place(self, user_id: int, pool_id: int, app: str) -> Decision:
        """Decide, and count the new session or the app added to a reconnected one."""
        view = self._pools[pool_id]
        own = view.own[user_id]
        decision = decide(own, view.hosts, view.mode)
        if decision.kind == "reconnect" and decision.session_id is not None:
            session_apps = self._apps[decision.session_id]
            if app not in session_apps:
                session_apps.append(app)  # a new session's list is the one `write` inserts
                if decision.session_id > 0:
                    self._changed.add(decision.session_id)
        elif decision.kind == "new" and decision.host is not None:
            temporary = -(len(self._new) + 1)
            host = decision.host
            self._new[temporary] = _NewSession(user_id, pool_id, view.host_ids[host], [app])
            self._apps[temporary] = self._new[temporary].apps
            own.append(ExistingSession(temporary, host, SessionState.PENDING))
            view.hosts = [
                h._replace(sessions=h.sessions + 1) if h.name == host else h for h in view.hosts
            ]
            decision = Decision("new", host, temporary)
        return decision

    def write(self, db: Session, now: datetime) -> dict[int, int]:
        """Insert the new sessions and update the reconnected ones' apps: two statements.

        Returns the real id of each new session by the temporary id `place` gave it.
        """
        connection = db.connection()
        ids: dict[int, int] = {}
        if self._changed:
            connection.execute(
                _SET_APPS,
                [{"b_id": key, "b_apps": self._apps[key]} for key in sorted(self._changed)],
            )
        if self._new:
            keys = list(self._new)
            rows = [
                {
                    "user_id": new.user_id,
                    "pool_id": new.pool_id,
                    "machine_id": new.machine_id,
                    "state": SessionState.PENDING,
                    "apps": new.apps,
                    "created_at": now,
                }
                for new in self._new.values()
            ]
            inserted = connection.execute(_NEW_SESSIONS, rows).scalars().all()
            ids.update(zip(keys, inserted, strict=True))
        self._changed.clear()
        self._new.clear()
        return ids


# The statements, built once: a batch only binds its values (SQLAlchemy's statement cache
# then skips compiling, and building them anew each time costs more than running them).
_pools = cast(Table, Pool.__table__)
_machines = cast(Table, Machine.__table__)
_sessions = cast(Table, UserSession.__table__)
_policies = cast(Table, PowerPolicy.__table__)
_phases = cast(Table, SchedulePhase.__table__)
_LIVE_STATES = list(LIVE)

_POOLS = select(
    _pools.c.id,
    _pools.c.name,
    _pools.c.max_sessions_per_host,
    _pools.c.load_balancing,
    _pools.c.power_policy_id,
).where(_pools.c.id.in_(bindparam("pools", expanding=True)))

_SCHEDULES = (
    select(
        _policies.c.id,
        _policies.c.timezone,
        _policies.c.holidays_country,
        _policies.c.holiday_phase,
        _policies.c.closed_days,
        _policies.c.open_days,
        _phases.c.weekdays,
        _phases.c.phase,
        _phases.c.start,
        _phases.c.min_hosts,
        _phases.c.min_percent,
        _phases.c.buffer_percent,
    )
    .join(_phases, _phases.c.policy_id == _policies.c.id, isouter=True)
    .where(_policies.c.id.in_(bindparam("policies", expanding=True)))
    .order_by(_policies.c.id, _phases.c.id)
)

_LIVE_ON_HOST = (
    select(func.count())
    .where(
        _sessions.c.machine_id == _machines.c.id,
        _sessions.c.state.in_(bindparam("live", expanding=True)),
    )
    .scalar_subquery()
    .label("sessions")
)

_HOSTS = select(
    _machines.c.id,
    _machines.c.pool_id,
    _machines.c.name,
    func.coalesce(_machines.c.last_heartbeat_at >= bindparam("cutoff"), False).label("registered"),
    _machines.c.power_state,
    _machines.c.drain,
    _machines.c.maintenance,
    _machines.c.cpu_percent,
    _machines.c.memory_percent,
    _LIVE_ON_HOST,
).where(_machines.c.pool_id.in_(bindparam("pools", expanding=True)))

_OWN = select(
    _sessions.c.id,
    _sessions.c.user_id,
    _sessions.c.pool_id,
    _sessions.c.machine_id,
    _sessions.c.state,
    _sessions.c.apps,
).where(
    _sessions.c.user_id.in_(bindparam("users", expanding=True)),
    _sessions.c.pool_id.in_(bindparam("pools", expanding=True)),
    _sessions.c.state.in_(bindparam("live", expanding=True)),
)

_SET_APPS = (
    update(_sessions).where(_sessions.c.id == bindparam("b_id")).values(apps=bindparam("b_apps"))
)

_NEW_SESSIONS = insert(_sessions).returning(_sessions.c.id, sort_by_parameter_order=True)


def _schedules(connection: Connection, policy_ids: set[int | None]) -> dict[int | None, Schedule]:
    """Each policy's schedule, from one statement (`build_schedule` hands back known ones)."""
    wanted = [policy_id for policy_id in policy_ids if policy_id is not None]
    if not wanted:
        return {}
    rows: dict[int, list[Any]] = defaultdict(list)
    for row in connection.execute(_SCHEDULES, {"policies": wanted}):
        rows[row.id].append(row)
    return {
        policy_id: build_schedule(
            timezone=found[0].timezone,
            holidays_country=found[0].holidays_country,
            holiday_phase=found[0].holiday_phase,
            closed_days=found[0].closed_days,
            open_days=found[0].open_days,
            phases=[
                PhaseValues(
                    row.weekdays,
                    row.phase,
                    row.start,
                    row.min_hosts,
                    row.min_percent,
                    row.buffer_percent,
                )
                for row in found
                if row.weekdays is not None
            ],
        )
        for policy_id, found in rows.items()
    }
