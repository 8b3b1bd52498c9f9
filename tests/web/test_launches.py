"""Launching apps over the API: entitlement, placement, polling, one-time tickets."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from anyplace.broker.guacamole import decrypt_token
from anyplace.broker.launch import start_launch
from anyplace.clock import VirtualClock
from anyplace.config import BrokerSettings, DatabaseSettings, Settings
from anyplace.domain import PowerState, SessionState
from anyplace.store.access import Store
from anyplace.store.models import Machine, User
from anyplace.store.models import Session as UserSession
from anyplace.web.app import create_app
from tests.web.conftest import user_headers

GUAC_KEY = "4c0b569e4c96df157eee1b65dd0e4d41"


@pytest.fixture
def client(demo_store: Store, clock: VirtualClock) -> Iterator[TestClient]:
    settings = Settings(
        database=DatabaseSettings(url=demo_store.url),
        broker=BrokerSettings(
            host_domain="kommune.local",
            guacamole_url="https://guac.kommune.dk/guacamole",
            guacamole_key=SecretStr(GUAC_KEY),
        ),
    )
    with TestClient(create_app(settings, engine=demo_store.engine, clock=clock)) as client:
        yield client


def bring_up(store: Store, clock: VirtualClock, *names: str) -> None:
    """Hosts that are on and whose agent has just reported."""
    with store.transaction() as session:
        for machine in session.scalars(select(Machine).where(Machine.name.in_(names))):
            machine.power_state = PowerState.ON
            machine.last_heartbeat_at = clock.now()


def test_a_launch_waits_for_a_host_then_hands_out_an_rdp_file_once(
    client: TestClient, demo_store: Store, clock: VirtualClock
) -> None:
    _, headers = user_headers(demo_store, clock, "jobcenter")
    started = client.post("/api/v1/launches", json={"app": "word"}, headers=headers)
    assert started.status_code == 201
    body = started.json()
    assert (body["state"], body["ticket"], body["host"]) == ("starting", None, None)
    assert body["message"].startswith("Vi starter en server")
    launch = body["id"]
    assert client.get(f"/api/v1/launches/{launch}", headers=headers).json()["state"] == "starting"

    bring_up(demo_store, clock, "gen-01", "gen-02")
    ready = client.get(f"/api/v1/launches/{launch}", headers=headers).json()
    assert ready["state"] == "ready"
    assert ready["host"] in {"gen-01", "gen-02"}
    assert ready["ticket"]
    again = client.get(f"/api/v1/launches/{launch}", headers=headers).json()
    assert again["ticket"] is None, "a ticket is shown once"

    rdp = client.get(ready["connection"], headers=headers)
    assert rdp.status_code == 200
    assert rdp.headers["content-type"].startswith("application/x-rdp")
    assert f"full address:s:{ready['host']}.kommune.local" in rdp.text
    assert "remoteapplicationprogram:s:||word" in rdp.text
    reused = client.get(ready["connection"], headers=headers)
    assert reused.status_code == 410
    assert "used already" in reused.json()["detail"]


def test_tickets_are_bound_to_their_user_and_expire(
    client: TestClient, demo_store: Store, clock: VirtualClock
) -> None:
    bring_up(demo_store, clock, "gen-01")
    _, alice = user_headers(demo_store, clock, "jobcenter")
    _, bob = user_headers(demo_store, clock, "okonomi")
    first = client.post("/api/v1/launches", json={"app": "excel"}, headers=alice).json()
    stolen = client.get(first["connection"], headers=bob)
    assert stolen.status_code == 403
    assert "someone else" in stolen.json()["detail"]
    second = client.post("/api/v1/launches", json={"app": "word"}, headers=alice).json()
    clock.advance(timedelta(seconds=60))
    expired = client.get(second["connection"], headers=alice)
    assert expired.status_code == 410
    assert "expired" in expired.json()["detail"]
    forged = client.get(f"/api/v1/launches/{second['id']}/connection?ticket=x", headers=alice)
    assert forged.status_code == 403


def test_a_second_app_reconnects_to_the_users_session(
    client: TestClient, demo_store: Store, clock: VirtualClock
) -> None:
    bring_up(demo_store, clock, "gen-01", "gen-02", "gen-03")
    _, headers = user_headers(demo_store, clock, "jobcenter")
    word = client.post("/api/v1/launches", json={"app": "word"}, headers=headers).json()
    with demo_store.transaction() as session:
        host = session.scalars(select(Machine).where(Machine.name == word["host"])).one()
        host.drain = True  # even a draining host takes its own users back
        own = session.scalars(select(UserSession)).one()
        own.state = SessionState.DISCONNECTED
    excel = client.post("/api/v1/launches", json={"app": "excel"}, headers=headers).json()
    assert excel["host"] == word["host"]
    with demo_store.sessions() as session:
        rows = session.scalars(select(UserSession)).all()
    assert len(rows) == 1
    assert rows[0].apps == ["word", "excel"]


def test_html5_gives_a_single_use_guacamole_address(
    client: TestClient, demo_store: Store, clock: VirtualClock
) -> None:
    bring_up(demo_store, clock, "gen-01")
    username, headers = user_headers(demo_store, clock, "jobcenter")
    launch = client.post(
        "/api/v1/launches", json={"app": "esdh", "client": "html5"}, headers=headers
    ).json()
    answer = client.get(launch["connection"], headers=headers)
    assert answer.status_code == 200
    url = answer.json()["url"]
    assert url.startswith("https://guac.kommune.dk/guacamole/?data=")
    payload = decrypt_token(parse_qs(urlparse(url).query)["data"][0], GUAC_KEY)
    assert payload["username"] == username
    assert payload["singleUse"] is True
    assert 0 < payload["expires"] - clock.now().timestamp() * 1000 <= 60_000
    connection = next(iter(payload["connections"].values()))
    assert connection["parameters"]["remote-app"] == "||esdh"
    assert connection["parameters"]["hostname"] == "gen-01.kommune.local"


def test_entitlement_admin_tokens_web_apps_and_unknown_apps(
    client: TestClient, demo_store: Store, clock: VirtualClock, admin_headers: dict[str, str]
) -> None:
    _, planner = user_headers(demo_store, clock, "teknik-miljo")
    refused = client.post("/api/v1/launches", json={"app": "omsorgsjournal"}, headers=planner)
    assert refused.status_code == 403
    assert "may not use omsorgsjournal" in refused.json()["detail"]
    assert (
        client.post("/api/v1/launches", json={"app": "word"}, headers=admin_headers).status_code
        == 403
    )
    web = client.post("/api/v1/launches", json={"app": "outlook"}, headers=planner).json()
    assert (web["state"], web["url"]) == ("ready", "https://outlook.office.com")
    assert client.post("/api/v1/launches", json={"app": "nope"}, headers=planner).status_code == 404
    bad = client.post("/api/v1/launches", json={"app": "word", "client": "vnc"}, headers=planner)
    assert bad.status_code == 422


def test_a_launch_with_no_room_asks_for_capacity_at_once(
    demo_store: Store, clock: VirtualClock
) -> None:
    asked: list[str] = []
    with demo_store.transaction() as session:
        user = session.scalars(select(User).where(User.department == "jobcenter")).first()
        assert user is not None
        view = start_launch(
            session, clock, BrokerSettings(), user=user, app_slug="word", client="rdp",
            request_capacity=asked.append,
        )  # fmt: skip
    assert view.state == "starting"
    assert asked == ["generel"]
