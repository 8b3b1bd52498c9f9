"""The read API: authentication, what each caller may see, paging and shapes."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from anyplace.clock import VirtualClock
from anyplace.domain import PowerState, SessionState
from anyplace.identity.tokens import create_token, revoke_tokens_named
from anyplace.store.access import Store
from anyplace.store.models import AuditEvent, Machine, Pool, Session, User
from tests.web.conftest import bearer, user_headers


def test_the_api_needs_a_token(client: TestClient) -> None:
    for path in ("/api/v1/apps", "/api/v1/pools", "/api/v1/hosts", "/api/v1/sessions"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert "Bearer" in response.json()["detail"]
    wrong = client.get("/api/v1/apps", headers=bearer("ap_not-a-real-token"))
    assert wrong.status_code == 401
    assert "unknown" in wrong.json()["detail"]


def test_revoked_and_expired_tokens_are_refused(
    client: TestClient, demo_store: Store, clock: VirtualClock
) -> None:
    with demo_store.transaction() as session:
        revoked = create_token(session, clock, name="old", admin=True).secret
        expiring = create_token(session, clock, name="short", admin=True)
        expiring.token.expires_at = clock.now() + timedelta(minutes=5)
    assert client.get("/api/v1/apps", headers=bearer(revoked)).status_code == 200
    with demo_store.transaction() as session:
        assert revoke_tokens_named(session, clock, "old") == 1
    assert client.get("/api/v1/apps", headers=bearer(revoked)).status_code == 401
    assert client.get("/api/v1/apps", headers=bearer(expiring.secret)).status_code == 200
    clock.advance(timedelta(minutes=5))
    assert client.get("/api/v1/apps", headers=bearer(expiring.secret)).status_code == 401


def test_an_admin_sees_all_250_apps(client: TestClient, admin_headers: dict[str, str]) -> None:
    response = client.get("/api/v1/apps", headers=admin_headers)
    assert response.status_code == 200
    apps = response.json()
    assert len(apps) == 250
    assert response.headers["x-total-count"] == "250"
    word = next(app for app in apps if app["slug"] == "word")
    assert word == {
        "slug": "word",
        "name": {"da": "Word", "en": "Word"},
        "category": "kontor",
        "kind": "hosted",
        "pool": "generel",
        "keywords": ["tekst", "dokument", "brev"],
        "url": None,
        "groups": ["alle"],
    }


def test_paging_walks_the_whole_catalog_once(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    seen: list[str] = []
    for offset in range(0, 300, 100):
        page = client.get(f"/api/v1/apps?limit=100&offset={offset}", headers=admin_headers)
        seen += [app["slug"] for app in page.json()]
    assert len(seen) == len(set(seen)) == 250
    assert client.get("/api/v1/apps?limit=0", headers=admin_headers).status_code == 422


def test_a_user_sees_only_entitled_apps(
    client: TestClient, demo_store: Store, clock: VirtualClock
) -> None:
    _, carer = user_headers(demo_store, clock, "hjemmepleje")
    _, planner = user_headers(demo_store, clock, "teknik-miljo")
    carer_apps = {app["slug"] for app in client.get("/api/v1/apps", headers=carer).json()}
    planner_apps = {app["slug"] for app in client.get("/api/v1/apps", headers=planner).json()}
    assert "omsorgsjournal" in carer_apps
    assert "omsorgsjournal" not in planner_apps
    assert "byggesag" in planner_apps
    assert "byggesag" not in carer_apps
    assert {"word", "outlook", "servicedesk"} <= carer_apps & planner_apps


def test_pools_and_hosts_are_for_admins(
    client: TestClient, admin_headers: dict[str, str], demo_store: Store, clock: VirtualClock
) -> None:
    _, user = user_headers(demo_store, clock, "jobcenter")
    assert client.get("/api/v1/pools", headers=user).status_code == 403
    assert client.get("/api/v1/hosts", headers=user).status_code == 403
    pools = {
        pool["name"]: pool for pool in client.get("/api/v1/pools", headers=admin_headers).json()
    }
    assert pools["generel"]["hosts"] == 64
    assert pools["generel"]["power_policy"] == "kontortid"
    hosts = client.get("/api/v1/hosts?pool=gis", headers=admin_headers).json()
    assert [host["name"] for host in hosts] == ["gis-01", "gis-02", "gis-03", "gis-04", "gis-05"]


def test_a_host_is_registered_until_it_misses_two_heartbeats(
    client: TestClient, admin_headers: dict[str, str], demo_store: Store, clock: VirtualClock
) -> None:
    with demo_store.transaction() as session:
        host = session.scalars(select(Machine).where(Machine.name == "gis-01")).one()
        host.power_state = PowerState.ON
        host.last_heartbeat_at = clock.now()

    def gis01() -> dict[str, object]:
        hosts = client.get("/api/v1/hosts?pool=gis", headers=admin_headers).json()
        return next(h for h in hosts if h["name"] == "gis-01")

    assert gis01()["registered"] is True
    clock.advance(timedelta(seconds=60))
    assert gis01()["registered"] is True
    clock.advance(timedelta(seconds=1))
    assert gis01()["registered"] is False


def test_users_see_their_own_sessions_and_admins_all(
    client: TestClient, admin_headers: dict[str, str], demo_store: Store, clock: VirtualClock
) -> None:
    alice, alice_headers = user_headers(demo_store, clock, "jobcenter")
    bob, bob_headers = user_headers(demo_store, clock, "okonomi")
    with demo_store.transaction() as session:
        host = session.scalars(select(Machine).where(Machine.name == "gen-01")).one()
        for username in (alice, bob, bob):
            user = session.scalars(select(User).where(User.username == username)).one()
            session.add(
                Session(
                    user=user,
                    pool=host.pool,
                    machine=host,
                    state=SessionState.ACTIVE,
                    apps=["word"],
                    created_at=clock.now(),
                )
            )
    mine = client.get("/api/v1/sessions", headers=alice_headers).json()
    assert [s["user"] for s in mine] == [alice]
    assert len(client.get("/api/v1/sessions", headers=bob_headers).json()) == 2
    everyone = client.get("/api/v1/sessions", headers=admin_headers)
    assert everyone.headers["x-total-count"] == "3"
    hosts = client.get("/api/v1/hosts?pool=generel&limit=1", headers=admin_headers).json()
    assert hosts[0]["sessions"] == 3


def test_openapi_describes_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/apps", "/api/v1/pools", "/api/v1/hosts", "/api/v1/sessions"} <= set(
        spec["paths"]
    )


def test_admin_actions_through_the_api_are_audited(
    client: TestClient, admin_headers: dict[str, str], demo_store: Store, clock: VirtualClock
) -> None:
    with demo_store.transaction() as session:
        host = session.scalars(select(Machine).where(Machine.name == "gen-01")).one()
        user = session.scalars(select(User).order_by(User.id)).first()
        assert user is not None
        row = Session(
            user_id=user.id,
            pool_id=session.scalars(select(Pool.id).where(Pool.name == "generel")).one(),
            machine_id=host.id,
            state=SessionState.ACTIVE,
            apps=["word"],
            external_id="4",
            created_at=clock.now(),
        )
        session.add(row)
        session.flush()
        session_id = row.id
    assert client.delete(f"/api/v1/sessions/{session_id}", headers=admin_headers).status_code == 202
    token = client.post("/api/v1/hosts/gen-02/enrolment-token", headers=admin_headers)
    assert token.status_code == 200
    with demo_store.sessions() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(e.action, e.object_id) for e in events] == [
            ("session-logoff", str(session_id)),
            ("host-enrolment-token", "gen-02"),
        ]
        assert token.json()["token"] not in str([e.details for e in events]), "no secret in the log"
