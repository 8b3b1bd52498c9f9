"""The host agent against a running server over HTTP, and heartbeats late, twice, out of order."""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from sqlalchemy import select

from anyplace.agent.client import Agent
from anyplace.agent.sources import ScriptedSource
from anyplace.broker.agents import (
    create_enrolment_token,
    enforce_session_timeouts,
    sweep_lost_hosts,
)
from anyplace.broker.heartbeat import KnownSession, ReportedSession, reconcile_sessions
from anyplace.clock import SystemClock
from anyplace.domain import PowerActionState, PowerState, SessionState
from anyplace.identity.tokens import create_token
from anyplace.store.access import Store
from anyplace.store.models import Machine, PowerAction, User
from anyplace.store.models import Session as UserSession
from anyplace.web.app import create_app
from tests.conftest import settings_for

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_reconciliation_matches_pending_ends_vanished_and_adopts_unknown() -> None:
    known = [
        KnownSession(1, "anni", SessionState.PENDING, None, T0 - timedelta(seconds=30)),
        KnownSession(2, "bo", SessionState.ACTIVE, "7", T0 - timedelta(hours=1)),
        KnownSession(3, "carl", SessionState.PENDING, None, T0 - timedelta(minutes=5)),
        KnownSession(4, "dora", SessionState.PENDING, None, T0 - timedelta(seconds=10)),
    ]
    reported = [
        ReportedSession("9", "anni", SessionState.ACTIVE),
        ReportedSession("11", "erik", SessionState.DISCONNECTED),
    ]
    changes = {(c.kind, c.session_id) for c in reconcile_sessions(known, reported, T0)}
    assert changes == {("update", 1), ("end", 2), ("end", 3), ("adopt", None)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(demo_store: Store) -> Iterator[str]:
    app = create_app(settings_for(demo_store.url), engine=demo_store.engine)
    port = free_port()
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not instance.started:  # readiness, not timing: bounded wait for the socket
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=20)


def user_token(store: Store, department: str) -> tuple[User, str]:
    with store.transaction() as session:
        user = session.scalars(select(User).where(User.department == department)).first()
        assert user is not None
        return user, create_token(session, SystemClock(), name="t", admin=False, user=user).secret


def test_an_agent_enrols_heartbeats_and_logs_a_user_off(
    server: str, demo_store: Store, tmp_path: Path
) -> None:
    with demo_store.transaction() as session:
        token = create_enrolment_token(session, SystemClock(), "gen-01")
        host = session.scalars(select(Machine).where(Machine.name == "gen-01")).one()
        host.power_state = PowerState.ON
    sessions_file = tmp_path / "sessions.json"
    source = ScriptedSource(sessions_file)
    agent = Agent(server, tmp_path / "state", source, client=httpx.Client(timeout=10))
    assert agent.enrol(token) == "gen-01"
    assert stat.S_IMODE(os.stat(agent.credential_path).st_mode) == 0o600
    with pytest.raises(Exception, match="enrolment refused"):
        Agent(server, tmp_path / "other", source).enrol(token)
    agent.heartbeat()

    user, secret = user_token(demo_store, "jobcenter")
    headers = {"Authorization": f"Bearer {secret}"}
    launch = httpx.post(f"{server}/api/v1/launches", json={"app": "word"}, headers=headers)
    assert launch.json()["host"] == "gen-01", "a registered host takes the launch"
    sessions_file.write_text(
        json.dumps([{"id": "3", "user": user.username, "state": "active", "apps": ["word"]}]),
        encoding="utf-8",
    )
    agent.heartbeat()
    mine = httpx.get(f"{server}/api/v1/sessions", headers=headers).json()
    assert [(s["state"], s["host"]) for s in mine] == [("active", "gen-01")]

    logoff = httpx.delete(f"{server}/api/v1/sessions/{mine[0]['id']}", headers=headers)
    assert logoff.status_code == 202
    answer = agent.heartbeat()
    assert [c["kind"] for c in answer["commands"]] == ["logoff"]
    assert source.sessions() == [], "the agent logged the user off"
    agent.heartbeat()
    mine = httpx.get(f"{server}/api/v1/sessions", headers=headers).json()
    assert mine[0]["state"] == "ended"
    with demo_store.sessions() as session:
        action = session.scalars(select(PowerAction)).one()
    assert action.state is PowerActionState.SUCCEEDED


def test_heartbeats_late_duplicated_or_out_of_order_change_nothing(
    server: str, demo_store: Store, tmp_path: Path
) -> None:
    with demo_store.transaction() as session:
        token = create_enrolment_token(session, SystemClock(), "gen-02")
    enrolled = httpx.post(f"{server}/api/v1/agent/enrol", json={"token": token}).json()
    auth = {"Authorization": f"Bearer {enrolled['credential']}"}
    user, _ = user_token(demo_store, "okonomi")

    def beat(boot: str, seq: int, state: str | None) -> dict[str, object]:
        sessions = [] if state is None else [{"id": "5", "user": user.username, "state": state}]
        body = {"boot": boot, "seq": seq, "sessions": sessions}
        answer = httpx.post(f"{server}/api/v1/agent/heartbeat", json=body, headers=auth)
        assert answer.status_code == 200
        result: dict[str, object] = answer.json()
        return result

    def state() -> list[SessionState]:
        with demo_store.sessions() as session:
            return [s.state for s in session.scalars(select(UserSession))]

    assert beat("a", 5, "active")["applied"] is True
    assert state() == [SessionState.ACTIVE]
    assert beat("a", 4, None)["applied"] is False, "a late heartbeat"
    assert beat("a", 5, "disconnected")["applied"] is False, "the same heartbeat twice"
    assert state() == [SessionState.ACTIVE]
    assert beat("a", 6, "disconnected")["applied"] is True
    assert state() == [SessionState.DISCONNECTED]
    assert beat("b", 1, None)["applied"] is True, "the agent restarted"
    assert state() == [SessionState.ENDED]
    refused = httpx.post(
        f"{server}/api/v1/agent/heartbeat",
        json={"boot": "x", "seq": 1},
        headers={"Authorization": "Bearer host_forged"},
    )
    assert refused.status_code == 401


def test_sessions_on_a_silent_host_are_ended_after_the_timeout(demo_store: Store) -> None:
    with demo_store.transaction() as session:
        host = session.scalars(select(Machine).where(Machine.name == "gen-03")).one()
        host.last_heartbeat_at = T0
        user = session.scalars(select(User)).first()
        assert user is not None
        session.add(
            UserSession(
                user=user, pool_id=host.pool_id, machine_id=host.id, state=SessionState.ACTIVE,
                apps=[], created_at=T0,
            )
        )  # fmt: skip
    with demo_store.transaction() as session:
        early = sweep_lost_hosts(
            session, T0 + timedelta(minutes=9), lost_after=timedelta(minutes=10)
        )
        assert early == 0
        late = sweep_lost_hosts(
            session, T0 + timedelta(minutes=11), lost_after=timedelta(minutes=10)
        )
        assert late == 1


def test_idle_and_disconnected_limits_queue_commands_once(demo_store: Store) -> None:
    # The demo's office policy: idle 240 minutes -> disconnect, disconnected 120 -> logoff.
    with demo_store.transaction() as session:
        host = session.scalars(select(Machine).where(Machine.name == "gen-04")).one()
        users = session.scalars(select(User).order_by(User.id)).all()[:3]
        rows = [
            UserSession(user=users[0], pool_id=host.pool_id, machine_id=host.id,
                        state=SessionState.DISCONNECTED, apps=[], created_at=T0,
                        external_id="1", disconnected_at=T0),
            UserSession(user=users[1], pool_id=host.pool_id, machine_id=host.id,
                        state=SessionState.ACTIVE, apps=[], created_at=T0,
                        external_id="2", last_activity_at=T0),
            UserSession(user=users[2], pool_id=host.pool_id, machine_id=host.id,
                        state=SessionState.ACTIVE, apps=[], created_at=T0,
                        external_id="3", last_activity_at=T0 + timedelta(hours=3)),
        ]  # fmt: skip
        session.add_all(rows)
    with demo_store.transaction() as session:
        assert enforce_session_timeouts(session, T0 + timedelta(minutes=119)) == 0
        assert enforce_session_timeouts(session, T0 + timedelta(hours=4, minutes=1)) == 2
        assert enforce_session_timeouts(session, T0 + timedelta(hours=4, minutes=2)) == 0
    with demo_store.sessions() as session:
        actions = {(a.session_id, a.action.value) for a in session.scalars(select(PowerAction))}
    assert actions == {(rows[0].id, "logoff"), (rows[1].id, "disconnect")}
