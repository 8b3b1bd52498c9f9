"""The broker's side of the host agent: enrolment, heartbeats and commands.

A host enrols once with a one-time token an admin made for it and gets its own
credential (only a hash is kept). Every heartbeat reports the host's sessions
and load; the answer says whether the host is draining and carries commands
(messages, logoffs) that the agent acknowledges in its next heartbeat.

Heartbeats may arrive late, twice or out of order: each carries the agent's
boot id and a sequence number, and one that is not newer than the last one
applied is answered but changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from anyplace.broker.heartbeat import KnownSession, ReportedSession, reconcile_sessions
from anyplace.clock import Clock
from anyplace.domain import PowerActionKind, PowerActionState, SessionState
from anyplace.errors import AnyplaceError, NotFound
from anyplace.identity.tokens import secret_digest
from anyplace.store.models import EnrolmentToken, Machine, Pool, PowerAction, User
from anyplace.store.models import Session as UserSession

__all__ = [
    "AgentRefused",
    "Command",
    "Heartbeat",
    "HeartbeatAnswer",
    "authenticate_agent",
    "create_enrolment_token",
    "enforce_session_timeouts",
    "enrol",
    "process_heartbeat",
    "sweep_lost_hosts",
]

LIVE = (SessionState.PENDING, SessionState.ACTIVE, SessionState.DISCONNECTED)
AGENT_COMMANDS = (PowerActionKind.NOTIFY, PowerActionKind.LOGOFF, PowerActionKind.DISCONNECT)


class AgentRefused(AnyplaceError):
    """The agent's token or credential is not valid."""


def create_enrolment_token(
    db: Session, clock: Clock, machine_name: str, valid: timedelta = timedelta(hours=24)
) -> str:
    machine = db.scalar(select(Machine).where(Machine.name == machine_name))
    if machine is None or machine.pool_id is None:
        raise NotFound(f"no session host named {machine_name!r}")
    secret = "enrol_" + secrets.token_urlsafe(24)
    now = clock.now()
    db.add(
        EnrolmentToken(
            machine_id=machine.id,
            token_hash=secret_digest(secret),
            created_at=now,
            expires_at=now + valid,
        )
    )
    db.flush()
    return secret


def enrol(db: Session, clock: Clock, token: str) -> tuple[str, str]:
    """Spend an enrolment token; returns the host's name and its new credential."""
    found = db.scalar(
        select(EnrolmentToken).where(EnrolmentToken.token_hash == secret_digest(token))
    )
    now = clock.now()
    if found is None or found.used_at is not None or now >= found.expires_at:
        raise AgentRefused("the enrolment token is unknown, used or expired")
    found.used_at = now
    credential = "host_" + secrets.token_urlsafe(32)
    found.machine.agent_secret_hash = secret_digest(credential)
    found.machine.agent_boot, found.machine.heartbeat_seq = None, None
    db.flush()
    return found.machine.name, credential


def authenticate_agent(db: Session, credential: str) -> Machine:
    machine = db.scalar(
        select(Machine).where(Machine.agent_secret_hash == secret_digest(credential))
    )
    if machine is None:
        raise AgentRefused("the host credential is not valid; enrol again")
    return machine


@dataclass(frozen=True)
class Heartbeat:
    boot: str
    seq: int
    sessions: tuple[ReportedSession, ...]
    cpu_percent: float | None = None
    memory_percent: float | None = None
    acks: tuple[int, ...] = ()


@dataclass(frozen=True)
class Command:
    id: int
    kind: str  # "notify" or "logoff"
    session: str | None
    message: str


@dataclass(frozen=True)
class HeartbeatAnswer:
    applied: bool
    drain: bool
    commands: tuple[Command, ...]


def process_heartbeat(
    db: Session, clock: Clock, machine: Machine, beat: Heartbeat, *, pending_grace: timedelta
) -> HeartbeatAnswer:
    now = clock.now()
    _acknowledge(db, machine, beat.acks, now)
    fresh = (
        machine.agent_boot != beat.boot
        or machine.heartbeat_seq is None
        or (beat.seq > machine.heartbeat_seq)
    )
    if fresh:
        machine.agent_boot, machine.heartbeat_seq = beat.boot, beat.seq
        machine.last_heartbeat_at = now
        machine.cpu_percent, machine.memory_percent = beat.cpu_percent, beat.memory_percent
        _apply_sessions(db, machine, beat.sessions, now, pending_grace)
    db.flush()
    return HeartbeatAnswer(fresh, machine.drain, tuple(_commands(db, machine)))


def _apply_sessions(
    db: Session,
    machine: Machine,
    reported: tuple[ReportedSession, ...],
    now: datetime,
    pending_grace: timedelta,
) -> None:
    rows = {
        row.id: row
        for row in db.scalars(
            select(UserSession).where(
                UserSession.machine_id == machine.id, UserSession.state.in_(LIVE)
            )
        )
    }
    known = [
        KnownSession(row.id, row.user.username, row.state, row.external_id, row.created_at)
        for row in rows.values()
    ]
    for change in reconcile_sessions(known, reported, now, pending_grace):
        report = change.report
        if change.kind == "end" and change.session_id is not None:
            row = rows[change.session_id]
            row.state, row.ended_at = SessionState.ENDED, now
        elif change.kind == "update" and change.session_id is not None and report is not None:
            _update(rows[change.session_id], report, now)
        elif change.kind == "adopt" and report is not None and machine.pool_id is not None:
            user = db.scalar(select(User).where(User.username == report.username))
            if user is None:
                continue  # a local account on the host that anyplace does not know
            row = UserSession(
                user=user, pool_id=machine.pool_id, machine_id=machine.id,
                state=SessionState.PENDING, apps=list(report.apps), created_at=now,
            )  # fmt: skip
            db.add(row)
            _update(row, report, now)


def _update(row: UserSession, report: ReportedSession, now: datetime) -> None:
    row.external_id = report.external_id
    if report.state is SessionState.ACTIVE:
        if row.state is not SessionState.ACTIVE:
            row.connected_at = now
        row.disconnected_at = None
    elif report.state is SessionState.DISCONNECTED and row.state is not SessionState.DISCONNECTED:
        row.disconnected_at = now
    row.state = report.state
    row.last_activity_at = now - timedelta(seconds=report.idle_seconds)
    for app in report.apps:
        if app not in row.apps:
            row.apps = [*row.apps, app]


def _acknowledge(db: Session, machine: Machine, acks: tuple[int, ...], now: datetime) -> None:
    if not acks:
        return
    for action in db.scalars(
        select(PowerAction).where(PowerAction.id.in_(acks), PowerAction.machine_id == machine.id)
    ):
        if action.state is PowerActionState.PENDING:
            action.state, action.finished_at = PowerActionState.SUCCEEDED, now


def _commands(db: Session, machine: Machine) -> list[Command]:
    commands = []
    for action in db.scalars(
        select(PowerAction)
        .where(
            PowerAction.machine_id == machine.id,
            PowerAction.state == PowerActionState.PENDING,
            PowerAction.action.in_(AGENT_COMMANDS),
        )
        .order_by(PowerAction.id)
    ):
        session = action.session_id and db.get(UserSession, action.session_id)
        commands.append(
            Command(
                id=action.id,
                kind=action.action.value,
                session=session.external_id if session else None,
                message=action.reason,
            )
        )
    return commands


def sweep_lost_hosts(db: Session, now: datetime, *, lost_after: timedelta) -> int:
    """End the sessions of hosts whose agent has been silent for `lost_after` (Citrix: 10 min)."""
    ended = 0
    for row in db.scalars(
        select(UserSession)
        .join(Machine, UserSession.machine_id == Machine.id)
        .where(UserSession.state.in_(LIVE))
        .where(Machine.last_heartbeat_at.is_not(None))
        .where(Machine.last_heartbeat_at < now - lost_after)
    ):
        row.state, row.ended_at = SessionState.ENDED, now
        ended += 1
    return ended


def enforce_session_timeouts(db: Session, now: datetime) -> int:
    """Each pool's session limits, as Citrix and RDS apply them: an idle session is
    disconnected, a session disconnected too long is logged off (by the host's agent).

    Returns how many commands were queued; a session with one pending gets no other.
    """
    queued = 0
    waiting = set(
        db.scalars(
            select(PowerAction.session_id).where(
                PowerAction.state == PowerActionState.PENDING,
                PowerAction.session_id.is_not(None),
            )
        )
    )
    for pool in db.scalars(select(Pool)):
        policy = pool.power_policy
        if policy is None:
            continue
        rules = (
            (policy.disconnect_timeout_minutes, SessionState.DISCONNECTED, PowerActionKind.LOGOFF),
            (policy.idle_timeout_minutes, SessionState.ACTIVE, PowerActionKind.DISCONNECT),
        )
        for minutes, state, kind in rules:
            if minutes is None:
                continue
            since = (
                UserSession.disconnected_at
                if state is SessionState.DISCONNECTED
                else (UserSession.last_activity_at)
            )
            for row in db.scalars(
                select(UserSession).where(
                    UserSession.pool_id == pool.id,
                    UserSession.state == state,
                    UserSession.machine_id.is_not(None),
                    since <= now - timedelta(minutes=minutes),
                )
            ):
                if row.id in waiting or row.machine_id is None:
                    continue
                what = "disconnected" if state is SessionState.DISCONNECTED else "idle"
                db.add(
                    PowerAction(
                        machine_id=row.machine_id,
                        session_id=row.id,
                        action=kind,
                        reason=f"{what} longer than {minutes} minutes",
                        state=PowerActionState.PENDING,
                        idempotency_key=f"timeout/{kind.value}/{row.id}/{now.isoformat()}",
                        requested_at=now,
                    )
                )
                waiting.add(row.id)
                queued += 1
    return queued
