"""Launching an app: entitlement, placement, a pending session, and a one-time ticket.

The flow, as StoreFront and the AVD broker do it: the user asks for an app; the
broker checks the entitlement, sends the user back to their own session in the
pool if they have one (reconnect), else picks a host by the pool's mode, and
records a pending session that the host's agent confirms. If no host has room,
the launch is `starting`: the power controller is asked for capacity at once,
and the client polls until a host is ready. The connection (an .rdp file or a
Guacamole URL) is handed out once, against a ticket bound to the user that
expires within a minute.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from anyplace.broker.placement import Candidate, ExistingSession, decide
from anyplace.broker.registration import is_registered
from anyplace.catalog.queries import entitled_app_ids
from anyplace.clock import Clock
from anyplace.config import BrokerSettings
from anyplace.domain import AppKind, Phase, PowerState, SessionState
from anyplace.errors import AnyplaceError, NotFound
from anyplace.identity.tokens import secret_digest
from anyplace.power.policy import placement_mode
from anyplace.power.snapshot import schedule_from_policy
from anyplace.store.models import App, Launch, Machine, Pool, User
from anyplace.store.models import Session as UserSession

__all__ = [
    "LaunchView",
    "NotEntitled",
    "TicketRefused",
    "poll_launch",
    "redeem_ticket",
    "start_launch",
]

LIVE = (SessionState.PENDING, SessionState.ACTIVE, SessionState.DISCONNECTED)
CLIENTS = ("rdp", "html5")
CapacityRequest = Callable[[str], object]


class NotEntitled(AnyplaceError):
    """The user may not use this app."""


class TicketRefused(AnyplaceError):
    def __init__(self, message: str, *, gone: bool = False) -> None:
        super().__init__(message)
        self.gone = gone


@dataclass(frozen=True)
class LaunchView:
    launch: Launch
    ticket: str | None = None
    """The connection ticket, shown only in the answer that makes the launch ready."""


def start_launch(
    db: Session,
    clock: Clock,
    settings: BrokerSettings,
    *,
    user: User,
    app_slug: str,
    client: str,
    request_capacity: CapacityRequest | None = None,
) -> LaunchView:
    if client not in CLIENTS:
        raise AnyplaceError(f"client must be one of {', '.join(CLIENTS)}")
    app = db.scalar(select(App).where(App.slug == app_slug, App.enabled.is_(True)))
    if app is None:
        raise NotFound(f"no app {app_slug!r}")
    entitled = db.scalar(
        select(App.id).where(App.id == app.id, App.id.in_(entitled_app_ids(user.id)))
    )
    if entitled is None:
        raise NotEntitled(f"{user.username} may not use {app.slug}")
    launch = Launch(
        user=user, app=app, pool=app.pool, client=client, state="starting", created_at=clock.now()
    )
    db.add(launch)
    if app.kind is AppKind.WEB:
        launch.state, launch.ready_at = "ready", clock.now()
        db.flush()
        return LaunchView(launch)
    view = _place(db, clock, settings, launch)
    if launch.state == "starting" and request_capacity is not None and app.pool is not None:
        request_capacity(app.pool.name)
    return view


def poll_launch(
    db: Session, clock: Clock, settings: BrokerSettings, *, user: User, launch_id: int
) -> LaunchView:
    launch = db.get(Launch, launch_id)
    if launch is None or launch.user_id != user.id:
        raise NotFound(f"no launch {launch_id}")
    if launch.state == "starting":
        return _place(db, clock, settings, launch)
    return LaunchView(launch)


def _place(db: Session, clock: Clock, settings: BrokerSettings, launch: Launch) -> LaunchView:
    # Placement reads the pool's hosts and sessions on every launch: plain rows (not ORM
    # objects) and grouped counts keep that to three small queries.
    pool = db.scalars(
        select(Pool).where(Pool.id == launch.app.pool_id).options(selectinload(Pool.power_policy))
    ).one()
    now = clock.now()
    counts = dict(
        db.execute(
            select(UserSession.machine_id, func.count())
            .where(UserSession.pool_id == pool.id, UserSession.state.in_(LIVE))
            .group_by(UserSession.machine_id)
        ).all()
    )
    hosts = db.execute(
        select(
            Machine.id,
            Machine.name,
            Machine.last_heartbeat_at,
            Machine.power_state,
            Machine.drain,
            Machine.maintenance,
            Machine.cpu_percent,
            Machine.memory_percent,
        ).where(Machine.pool_id == pool.id)
    ).all()
    ids_by_name = {host.name: host.id for host in hosts}
    names_by_id = {host.id: host.name for host in hosts}
    candidates = [
        Candidate(
            name=host.name,
            sessions=counts.get(host.id, 0),
            max_sessions=pool.max_sessions_per_host,
            registered=is_registered(host.last_heartbeat_at, now, settings.heartbeat_seconds),
            powered_on=host.power_state is PowerState.ON,
            draining=host.drain or host.maintenance,
            cpu_percent=host.cpu_percent,
            memory_percent=host.memory_percent,
        )
        for host in hosts
    ]
    own = [
        ExistingSession(row.id, names_by_id[row.machine_id], row.state)
        for row in db.execute(
            select(UserSession.id, UserSession.machine_id, UserSession.state).where(
                UserSession.user_id == launch.user_id,
                UserSession.pool_id == pool.id,
                UserSession.state.in_(LIVE),
            )
        )
        if row.machine_id in names_by_id
    ]
    decision = decide(own, candidates, placement_mode(pool.load_balancing, _phase_now(pool, now)))
    if decision.kind == "starting" or decision.host is None:
        db.flush()
        return LaunchView(launch)
    if decision.kind == "reconnect":
        session = db.get(UserSession, decision.session_id)
        assert session is not None
        if launch.app.slug not in session.apps:
            session.apps = [*session.apps, launch.app.slug]
    else:
        session = UserSession(
            user_id=launch.user_id,
            pool_id=pool.id,
            machine_id=ids_by_name[decision.host],
            state=SessionState.PENDING,
            apps=[launch.app.slug],
            created_at=now,
        )
        db.add(session)
    ticket = secrets.token_urlsafe(32)
    launch.session = session
    launch.state, launch.ready_at = "ready", now
    launch.ticket_hash = secret_digest(ticket)
    launch.ticket_expires_at = now + timedelta(seconds=settings.ticket_seconds)
    db.flush()
    return LaunchView(launch, ticket)


def _phase_now(pool: Pool, now: datetime) -> Phase:
    return schedule_from_policy(pool.power_policy).phase_at(now).phase


def redeem_ticket(db: Session, clock: Clock, *, user: User, launch_id: int, ticket: str) -> Launch:
    """Spend the ticket: it must be this launch's, the caller's, unused and unexpired."""
    launch = db.scalar(select(Launch).where(Launch.ticket_hash == secret_digest(ticket)))
    if launch is None or launch.id != launch_id:
        raise TicketRefused("the ticket is not valid for this launch")
    if launch.user_id != user.id:
        raise TicketRefused("the ticket belongs to someone else")
    if launch.ticket_used_at is not None:
        raise TicketRefused("the ticket has been used already", gone=True)
    if launch.ticket_expires_at is None or clock.now() >= launch.ticket_expires_at:
        raise TicketRefused("the ticket has expired; launch the app again", gone=True)
    launch.ticket_used_at = clock.now()
    db.flush()
    return launch
