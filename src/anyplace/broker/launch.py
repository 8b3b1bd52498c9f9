"""Launching an app: entitlement, placement, a pending session, and a one-time ticket.

The flow, as StoreFront and the AVD broker do it: the user asks for an app; the
broker checks the entitlement, sends the user back to their own session in the
pool if they have one (reconnect), else picks a host by the pool's mode, and
records a pending session that the host's agent confirms. If no host has room,
the launch is `starting`: the power controller is asked for capacity at once,
and the client polls until a host is ready. The connection (an .rdp file or a
Guacamole URL) is handed out once, against a ticket bound to the user that
expires within a minute.

Launches are decided in batches (`start_launches`): a morning's storm is many
users at once, and a batch costs about ten statements however many launches it
holds (`broker.batcher` collects them). A single launch is a batch of one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.orm import Session

from anyplace.broker.placement import Decision
from anyplace.broker.placing import Placing
from anyplace.catalog.queries import entitled_pairs
from anyplace.clock import Clock
from anyplace.config import BrokerSettings
from anyplace.domain import AppKind
from anyplace.errors import AnyplaceError, NotFound
from anyplace.identity.tokens import Bearer, read_bearers, record_use, secret_digest
from anyplace.store.models import App, Launch, User
from anyplace.store.models import Session as UserSession

__all__ = [
    "Known",
    "LaunchAsk",
    "LaunchView",
    "Launched",
    "NotEntitled",
    "NotSignedIn",
    "Outcome",
    "TicketRefused",
    "poll_launch",
    "redeem_ticket",
    "start_launch",
    "start_launches",
]

CLIENTS = ("rdp", "html5")
CapacityRequest = Callable[[str], object]


class NotEntitled(AnyplaceError):
    """The user may not use this app."""


class NotSignedIn(AnyplaceError):
    """The API token is unknown, expired or revoked."""


class TicketRefused(AnyplaceError):
    def __init__(self, message: str, *, gone: bool = False) -> None:
        super().__init__(message)
        self.gone = gone


@dataclass(frozen=True)
class LaunchAsk:
    """One request to open an app. Who asks is a user id, or an API token's digest that the
    batch resolves with the others (so a request needs no query of its own before it)."""

    app_slug: str
    client: str = "rdp"
    user_id: int | None = None
    token_digest: str | None = None


@dataclass(frozen=True)
class Launched:
    """What the user is told about a launch: plain values, answered without another query."""

    launch_id: int
    app: str
    client: str
    state: str
    """"starting" (poll until ready) or "ready"."""
    host: str | None
    url: str | None
    """A web app's address."""
    ticket: str | None
    """The connection ticket, only in the answer that makes the launch ready."""
    pool: str | None


Outcome = Launched | AnyplaceError


@dataclass(frozen=True)
class LaunchView:
    """A stored launch (for pages that show it) and its ticket when it has just become ready."""

    launch: Launch
    ticket: str | None = None

    def launched(self) -> Launched:
        launch = self.launch
        session = launch.session
        return Launched(
            launch_id=launch.id,
            app=launch.app.slug,
            client=launch.client,
            state=launch.state,
            host=session.machine.name if session and session.machine else None,
            url=launch.app.url,
            ticket=self.ticket,
            pool=launch.pool.name if launch.pool else None,
        )


@dataclass
class Known:
    """What earlier batches read, for the next batch to reuse instead of reading again.

    Valid only while nothing but the batches themselves has written to the store:
    the batcher keeps one on SQLite, whose change counter tells it so, and starts
    afresh otherwise. A failed batch must drop it: its memory ran ahead of the store.
    """

    placing: Placing = field(default_factory=Placing)
    bearers: dict[str, Bearer | None] = field(default_factory=dict)
    apps: dict[str, Any] = field(default_factory=dict)
    """Enabled apps by slug; None for a slug that names none."""
    entitled: dict[tuple[int, int], bool] = field(default_factory=dict)


def start_launches(
    db: Session,
    clock: Clock,
    settings: BrokerSettings,
    asks: Sequence[LaunchAsk],
    known: Known | None = None,
) -> list[Outcome]:
    """Decide and record a batch of launches in the caller's transaction; one outcome per ask.

    A refused ask (unknown token or app, not entitled) is an error in its place,
    not an exception: one bad request must not fail the others.
    """
    known = known if known is not None else Known()
    now = clock.now()
    who = _who(db, now, asks, known)
    apps = _apps_of(db, {ask.app_slug for ask in asks}, known)
    entitled = _entitled(
        db,
        {
            (user_id, apps[ask.app_slug].id)
            for ask, user_id in zip(asks, who, strict=True)
            if isinstance(user_id, int) and ask.app_slug in apps
        },
        known,
    )
    outcomes, accepted = _check(asks, who, apps, entitled)
    hosted = [(i, u, app) for i, u, app in accepted if app.kind is not AppKind.WEB]
    placing = known.placing
    pools = {app.pool_id for _, _, app in hosted}
    placing.cover(db, pools, {u for _, u, _ in hosted})
    placing.start(now, settings.heartbeat_seconds, pools)
    decisions = {
        index: placing.place(user_id, app.pool_id, app.slug) for index, user_id, app in hosted
    }
    session_ids = placing.write(db, now)
    rows: list[dict[str, object]] = []
    answers: list[tuple[int, Launched]] = []
    for index, user_id, app in accepted:
        ask = asks[index]
        row: dict[str, object] = {
            "user_id": user_id,
            "app_id": app.id,
            "pool_id": app.pool_id,
            "client": ask.client,
            "state": "ready",
            "created_at": now,
            "ready_at": now,
            "session_id": None,
            "ticket_hash": None,
            "ticket_expires_at": None,
        }
        decision = decisions.get(index)
        ticket = _fill_placed(row, decision, session_ids, now, settings) if decision else None
        rows.append(row)
        pool = placing.pool_name(app.pool_id) if decision is not None else None
        host = decision.host if decision is not None and ticket else None
        launched = Launched(0, app.slug, ask.client, str(row["state"]), host, app.url, ticket, pool)
        answers.append((index, launched))
    if rows:
        ids = db.connection().execute(_NEW_LAUNCHES, rows).scalars().all()
        for (index, answer), launch_id in zip(answers, ids, strict=True):
            outcomes[index] = replace(answer, launch_id=launch_id)
    return [outcome for outcome in outcomes if outcome is not None]


def _check(
    asks: Sequence[LaunchAsk],
    who: list[int | AnyplaceError],
    apps: dict[str, Any],
    entitled: set[tuple[int, int]],
) -> tuple[list[Outcome | None], list[tuple[int, int, Any]]]:
    """Each ask's refusal (None if accepted), and the accepted ones as (index, user, app)."""
    outcomes: list[Outcome | None] = []
    accepted: list[tuple[int, int, Any]] = []
    for index, (ask, user_id) in enumerate(zip(asks, who, strict=True)):
        app = apps.get(ask.app_slug)
        refusal: AnyplaceError | None = None
        if isinstance(user_id, AnyplaceError):
            refusal = user_id
        elif ask.client not in CLIENTS:
            refusal = AnyplaceError(f"client must be one of {', '.join(CLIENTS)}")
        elif app is None:
            refusal = NotFound(f"no app {ask.app_slug!r}")
        elif (user_id, app.id) not in entitled:
            refusal = NotEntitled(f"you may not use {app.slug}")
        elif app.kind is not AppKind.WEB and app.pool_id is None:
            refusal = AnyplaceError(f"{app.slug} has no pool of hosts to run on")
        else:
            accepted.append((index, user_id, app))
        outcomes.append(refusal)
    return outcomes, accepted


_apps = cast(Table, App.__table__)
_launches = cast(Table, Launch.__table__)
_APPS = select(_apps.c.id, _apps.c.slug, _apps.c.kind, _apps.c.url, _apps.c.pool_id).where(
    _apps.c.slug.in_(bindparam("slugs", expanding=True)), _apps.c.enabled.is_(True)
)
_NEW_LAUNCHES = insert(_launches).returning(_launches.c.id, sort_by_parameter_order=True)


def _fill_placed(
    row: dict[str, object],
    decision: Decision,
    session_ids: dict[int, int],
    now: datetime,
    settings: BrokerSettings,
) -> str | None:
    """Complete a hosted launch's row: its session and ticket, or `starting` with neither."""
    if decision.session_id is None:
        row["state"], row["ready_at"] = "starting", None
        return None
    ticket = secrets.token_urlsafe(32)
    row["session_id"] = session_ids.get(decision.session_id, decision.session_id)
    row["ticket_hash"] = secret_digest(ticket)
    row["ticket_expires_at"] = now + timedelta(seconds=settings.ticket_seconds)
    return ticket


def _who(
    db: Session, now: datetime, asks: Sequence[LaunchAsk], known: Known
) -> list[int | AnyplaceError]:
    """Each ask's user id; the API tokens not seen before are read in one query."""
    digests = {ask.token_digest for ask in asks if ask.token_digest is not None}
    unseen = [digest for digest in digests if digest not in known.bearers]
    if unseen:
        found = read_bearers(db, unseen)
        for digest in unseen:
            known.bearers[digest] = found.get(digest)
    who: list[int | AnyplaceError] = []
    used: dict[int, Bearer] = {}
    for ask in asks:
        if ask.user_id is not None:
            who.append(ask.user_id)
            continue
        bearer = known.bearers.get(ask.token_digest or "")
        if bearer is None or not bearer.live(now):
            who.append(NotSignedIn("the API token is unknown, expired or revoked"))
        elif bearer.user_id is None:
            who.append(NotEntitled("launching needs a user's token"))
        else:
            who.append(bearer.user_id)
            used[bearer.token_id] = bearer
    record_use(db, used.values(), now)
    return who


def _apps_of(db: Session, slugs: set[str], known: Known) -> dict[str, Any]:
    """The enabled apps among these slugs; the ones not seen before in one query."""
    unseen = [slug for slug in slugs if slug not in known.apps]
    if unseen:
        found = {app.slug: app for app in db.connection().execute(_APPS, {"slugs": unseen})}
        for slug in unseen:
            known.apps[slug] = found.get(slug)
    return {slug: known.apps[slug] for slug in slugs if known.apps[slug] is not None}


def _entitled(db: Session, pairs: set[tuple[int, int]], known: Known) -> set[tuple[int, int]]:
    unseen = {pair for pair in pairs if pair not in known.entitled}
    if unseen:
        found = entitled_pairs(db, unseen)
        for pair in unseen:
            known.entitled[pair] = pair in found
    return {pair for pair in pairs if known.entitled[pair]}


def start_launch(
    db: Session,
    clock: Clock,
    settings: BrokerSettings,
    *,
    user: User,
    app_slug: str,
    client: str,
    request_capacity: CapacityRequest | None = None,
) -> Launched:
    """One launch, in the caller's transaction; a refusal is raised."""
    (outcome,) = start_launches(db, clock, settings, [LaunchAsk(app_slug, client, user_id=user.id)])
    if isinstance(outcome, AnyplaceError):
        raise outcome
    if outcome.state == "starting" and request_capacity is not None and outcome.pool:
        request_capacity(outcome.pool)
    return outcome


def poll_launch(
    db: Session, clock: Clock, settings: BrokerSettings, *, user: User, launch_id: int
) -> LaunchView:
    """The launch; a waiting one is placed again, and gets its ticket once a host has room."""
    launch = db.get(Launch, launch_id)
    if launch is None or launch.user_id != user.id:
        raise NotFound(f"no launch {launch_id}")
    if launch.state != "starting" or launch.pool_id is None:
        return LaunchView(launch)
    now = clock.now()
    placing = Placing()
    placing.cover(db, {launch.pool_id}, {user.id})
    placing.start(now, settings.heartbeat_seconds, {launch.pool_id})
    decision = placing.place(user.id, launch.pool_id, launch.app.slug)
    session_ids = placing.write(db, now)
    row: dict[str, object] = {}
    ticket = _fill_placed(row, decision, session_ids, now, settings)
    if ticket is None:
        return LaunchView(launch)
    launch.session = db.get(UserSession, row["session_id"])
    launch.ticket_hash = str(row["ticket_hash"])
    launch.ticket_expires_at = now + timedelta(seconds=settings.ticket_seconds)
    launch.state, launch.ready_at = "ready", now
    db.flush()
    return LaunchView(launch, ticket)


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
