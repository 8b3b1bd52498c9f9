"""The agent API (enrol, heartbeat), host enrolment tokens, and logging off a session."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from anyplace.audit import record
from anyplace.broker.agents import (
    AgentRefused,
    Heartbeat,
    HeartbeatAnswer,
    authenticate_agent,
    create_enrolment_token,
    enrol,
    process_heartbeat,
)
from anyplace.broker.batcher import LaunchBatcher
from anyplace.broker.heartbeat import ReportedSession
from anyplace.broker.sessions import SessionEnded, request_logoff
from anyplace.domain import SessionState
from anyplace.errors import NotFound
from anyplace.store.models import Session as UserSession
from anyplace.web.api.paging import API_PREFIX
from anyplace.web.deps import (
    Caller,
    DbSession,
    Principal,
    get_clock,
    parse_bearer,
    require_admin,
)

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, tags=["agent"])
Admin = Annotated[Principal, Depends(require_admin)]


class EnrolRequest(BaseModel):
    token: str


class EnrolAnswer(BaseModel):
    host: str
    credential: str
    heartbeat_seconds: float


class SessionReport(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    user: str = Field(min_length=1, max_length=128)
    state: Literal["active", "disconnected"]
    apps: list[str] = []
    idle_seconds: float = Field(default=0, ge=0)


class HeartbeatIn(BaseModel):
    boot: str = Field(min_length=1, max_length=64)
    seq: int = Field(ge=0)
    sessions: list[SessionReport] = []
    cpu_percent: float | None = Field(default=None, ge=0, le=100)
    memory_percent: float | None = Field(default=None, ge=0, le=100)
    acks: list[int] = []


class CommandOut(BaseModel):
    id: int
    kind: str
    session: str | None
    message: str


class HeartbeatOut(BaseModel):
    applied: bool
    drain: bool
    heartbeat_seconds: float
    commands: list[CommandOut]


def _credential(request: Request) -> str:
    credential = parse_bearer(request.headers.get("authorization", ""))
    if credential is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "send the host credential as a bearer token"
        )
    return credential


@router.post("/agent/enrol", response_model=EnrolAnswer)
def agent_enrol(request: Request, body: EnrolRequest, db: DbSession) -> EnrolAnswer:
    try:
        host, credential = enrol(db, get_clock(request), body.token)
    except AgentRefused as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    interval = request.app.state.settings.broker.heartbeat_seconds
    return EnrolAnswer(host=host, credential=credential, heartbeat_seconds=interval)


@router.post("/agent/heartbeat", response_model=HeartbeatOut)
def agent_heartbeat(request: Request, body: HeartbeatIn) -> HeartbeatOut:
    """Record what the host reports; answer with its drain flag and queued commands.

    Applied by the broker's batcher, in its next batch's transaction: a heartbeat
    changes what placement sees, and the broker then re-reads only its pools
    (not the tokens and entitlements it knows), with no second writer to queue
    behind on SQLite (`broker.batcher`).
    """
    settings = request.app.state.settings.broker
    credential = _credential(request)
    beat = Heartbeat(
        boot=body.boot,
        seq=body.seq,
        sessions=tuple(
            ReportedSession(s.id, s.user, SessionState(s.state), tuple(s.apps), s.idle_seconds)
            for s in body.sessions
        ),
        cpu_percent=body.cpu_percent,
        memory_percent=body.memory_percent,
        acks=tuple(body.acks),
    )
    grace = timedelta(seconds=max(120, 4 * settings.heartbeat_seconds))
    clock = get_clock(request)

    def apply(db: Session) -> HeartbeatAnswer:
        machine = authenticate_agent(db, credential)
        return process_heartbeat(db, clock, machine, beat, pending_grace=grace)

    batcher: LaunchBatcher = request.app.state.launches
    try:
        answer = batcher.apply_report(apply)
    except AgentRefused as exc:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, str(exc)) from None
    return HeartbeatOut(
        applied=answer.applied,
        drain=answer.drain,
        heartbeat_seconds=settings.heartbeat_seconds,
        commands=[CommandOut(**vars(command)) for command in answer.commands],
    )


class TokenOut(BaseModel):
    host: str
    token: str


@router.post("/hosts/{name}/enrolment-token", response_model=TokenOut)
def host_enrolment_token(request: Request, name: str, db: DbSession, admin: Admin) -> TokenOut:
    clock = get_clock(request)
    try:
        token = create_enrolment_token(db, clock, name)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    record(
        db,
        clock,
        actor=admin.name,
        action="host-enrolment-token",
        object_type="host",
        object_id=name,
    )
    return TokenOut(host=name, token=token)


@router.delete("/sessions/{session_id}", status_code=status.HTTP_202_ACCEPTED)
def log_off(request: Request, session_id: int, db: DbSession, caller: Caller) -> dict[str, str]:
    """Log a session off: the user's own, or anyone's for an admin. The host's agent does it."""
    row = db.get(UserSession, session_id)
    mine = row is not None and caller.user is not None and row.user_id == caller.user.id
    if row is None or not (mine or caller.is_admin):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no session {session_id}")
    clock = get_clock(request)
    try:
        outcome = request_logoff(db, clock, row, caller.name)
    except SessionEnded as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if not mine:
        record(
            db,
            clock,
            actor=caller.name,
            action="session-logoff",
            object_type="session",
            object_id=row.id,
        )
    return {"status": outcome}
