"""The pools as placement sees them while batches of launches are placed.

The broker places launches in batches (see `broker.batcher`): the pools' hosts,
their session counts and the users' own sessions are read once and kept up to
date in memory as each launch is placed, so that the second launch of a batch
sees the session the first one made. A `Placing` can also outlive its batch:
on SQLite the batcher keeps it for as long as no other connection has written
(the database's own change counter says so), and the next batch reads only what
it has not seen. The decisions themselves are `broker.placement.decide`'s
(pure); this module gathers its input and remembers its output until written.
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
from anyplace.power.snapshot import ALWAYS_ON, LIVE_STATES, PhaseValues, build_schedule
from anyplace.store.models import Machine, Pool, PowerPolicy, SchedulePhase
from anyplace.store.models import Session as UserSession

__all__ = ["Placing"]


@dataclass
class _Host:
    id: int
    name: str
    last_heartbeat_at: datetime | None
    powered_on: bool
    draining: bool
    cpu_percent: float | None
    memory_percent: float | None
    sessions: int


@dataclass
class _PoolView:
    name: str
    max_sessions: int
    load_balancing: LoadBalancing
    schedule: Schedule
    hosts: dict[int, _Host]
    mode: LoadBalancing = LoadBalancing.BREADTH_FIRST
    """This batch's mode (the schedule's phase now)."""
    candidates: list[Candidate] = field(default_factory=list)
    """This batch's hosts as placement sees them, in the order of `hosts`."""
    slots: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Each host's place in `candidates` and its id, by name."""


@dataclass
class _OwnSession:
    id: int
    """Negative for a session made in this batch, until `write` has inserted it."""
    user_id: int
    pool_id: int
    machine_id: int
    state: SessionState
    apps: list[str]


class Placing:
    """The pools and users batches have needed: `cover` reads what is missing, `start` fixes
    the batch's time, `place` decides, `write` records the sessions."""

    def __init__(self) -> None:
        self._pools: dict[int, _PoolView] = {}
        self._users: dict[int, list[_OwnSession]] = {}
        self._sessions: dict[int, _OwnSession] = {}
        self._changed: set[int] = set()
        self._new: list[_OwnSession] = []

    def cover(self, db: Session, pool_ids: Collection[int], user_ids: Collection[int]) -> None:
        """Read the pools and users not read before: at most four statements, none when
        everything is known already."""
        connection = db.connection()
        pools = [pool_id for pool_id in pool_ids if pool_id not in self._pools]
        if pools:
            self._read_pools(connection, pools)
        users = [user_id for user_id in user_ids if user_id not in self._users]
        if users:
            for user_id in users:
                self._users[user_id] = []
            for row in connection.execute(_OWN, {"users": users, "live": _LIVE_STATES}):
                own = _OwnSession(
                    row.id, row.user_id, row.pool_id, row.machine_id, row.state, list(row.apps)
                )
                self._users[row.user_id].append(own)
                self._sessions[row.id] = own

    def _read_pools(self, connection: Connection, pool_ids: list[int]) -> None:
        pools = connection.execute(_POOLS, {"pools": pool_ids}).all()
        schedules = _schedules(connection, {pool.power_policy_id for pool in pools})
        for pool in pools:
            self._pools[pool.id] = _PoolView(
                pool.name,
                pool.max_sessions_per_host,
                pool.load_balancing,
                schedules.get(pool.power_policy_id, ALWAYS_ON),
                {},
            )
        for host in connection.execute(_HOSTS, {"pools": pool_ids, "live": _LIVE_STATES}):
            self._pools[host.pool_id].hosts[host.id] = _Host(
                host.id,
                host.name,
                host.last_heartbeat_at,
                host.power_state is PowerState.ON,
                host.drain or host.maintenance,
                host.cpu_percent,
                host.memory_percent,
                host.sessions,
            )

    def start(self, now: datetime, heartbeat_seconds: float, pool_ids: Collection[int]) -> None:
        """Fix what depends on the time for this batch's pools: each one's mode, and which
        hosts count as registered."""
        cutoff = registered_since(now, heartbeat_seconds)
        for view in (self._pools[pool_id] for pool_id in pool_ids):
            view.mode = placement_mode(view.load_balancing, view.schedule.phase_at(now).phase)
            view.candidates = [
                Candidate(
                    name=host.name,
                    sessions=host.sessions,
                    max_sessions=view.max_sessions,
                    registered=host.last_heartbeat_at is not None
                    and host.last_heartbeat_at >= cutoff,
                    powered_on=host.powered_on,
                    draining=host.draining,
                    cpu_percent=host.cpu_percent,
                    memory_percent=host.memory_percent,
                )
                for host in view.hosts.values()
            ]
            view.slots = {
                host.name: (slot, host.id) for slot, host in enumerate(view.hosts.values())
            }

    def pool_name(self, pool_id: int) -> str:
        return self._pools[pool_id].name

    def place(self, user_id: int, pool_id: int, app: str) -> Decision:
        """Decide, and count the new session or the app added to a reconnected one."""
        view = self._pools[pool_id]
        own = [
            ExistingSession(session.id, view.hosts[session.machine_id].name, session.state)
            for session in self._users[user_id]
            if session.pool_id == pool_id and session.machine_id in view.hosts
        ]
        decision = decide(own, view.candidates, view.mode)
        if decision.kind == "reconnect" and decision.session_id is not None:
            session = self._sessions[decision.session_id]
            if app not in session.apps:
                session.apps.append(app)
                if session.id > 0:  # a new session is inserted with its apps
                    self._changed.add(session.id)
        elif decision.kind == "new" and decision.host is not None:
            slot, host_id = view.slots[decision.host]
            candidate = view.candidates[slot]
            view.candidates[slot] = candidate._replace(sessions=candidate.sessions + 1)
            view.hosts[host_id].sessions += 1
            session = _OwnSession(
                -(len(self._new) + 1), user_id, pool_id, host_id, SessionState.PENDING, [app]
            )
            self._new.append(session)
            self._users[user_id].append(session)
            self._sessions[session.id] = session
            decision = Decision("new", decision.host, session.id)
        return decision

    def write(self, db: Session, now: datetime) -> dict[int, int]:
        """Insert the new sessions and update the reconnected ones' apps: two statements.

        Returns the real id of each new session by the temporary id `place` gave it.
        """
        connection = db.connection()
        if self._changed:
            connection.execute(
                _SET_APPS,
                [
                    {"b_id": key, "b_apps": self._sessions[key].apps}
                    for key in sorted(self._changed)
                ],
            )
        ids: dict[int, int] = {}
        if self._new:
            rows = [
                {
                    "user_id": session.user_id,
                    "pool_id": session.pool_id,
                    "machine_id": session.machine_id,
                    "state": SessionState.PENDING,
                    "apps": session.apps,
                    "created_at": now,
                }
                for session in self._new
            ]
            inserted = connection.execute(_NEW_SESSIONS, rows).scalars().all()
            for session, real in zip(self._new, inserted, strict=True):
                ids[session.id] = real
                del self._sessions[session.id]
                session.id = real
                self._sessions[real] = session
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
_LIVE_STATES = list(LIVE_STATES)

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
    _machines.c.last_heartbeat_at,
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
    _sessions.c.state.in_(bindparam("live", expanding=True)),
    _sessions.c.machine_id.is_not(None),
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
