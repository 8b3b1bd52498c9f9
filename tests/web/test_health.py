"""Health, readiness, metrics and the landing page."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from anyplace.clock import VirtualClock
from anyplace.store.access import Store
from anyplace.store.migrate import upgrade
from anyplace.store.models import Machine
from anyplace.web.app import create_app
from tests.conftest import settings_for


def test_healthz_and_readyz_on_a_current_store(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_readyz_refuses_traffic_until_the_schema_is_current(
    empty_store: Store, clock: VirtualClock
) -> None:
    app = create_app(settings_for(empty_store.url), engine=empty_store.engine, clock=clock)
    with TestClient(app) as client:
        upgrade(empty_store.engine, "0001")
        behind = client.get("/readyz")
        assert behind.status_code == 503
        assert behind.json()["migrations"]["current"] == "0001"
        assert "anyplace db upgrade" in behind.json()["hint"]
        upgrade(empty_store.engine)
        assert client.get("/readyz").status_code == 200


def test_readyz_reports_an_unreachable_database(clock: VirtualClock) -> None:
    url = "postgresql://nobody@127.0.0.1:1/none"
    app = create_app(settings_for(url), clock=clock)
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"].startswith("unreachable")


def test_metrics_count_requests_by_route_and_report_the_estate(
    client: TestClient, admin_headers: dict[str, str], demo_store: Store, clock: VirtualClock
) -> None:
    with demo_store.transaction() as session:
        host = session.scalars(select(Machine).where(Machine.name == "gis-01")).one()
        host.last_heartbeat_at = clock.now()
    client.get("/api/v1/apps", headers=admin_headers)
    client.get("/api/v1/apps")
    text = client.get("/metrics").text
    counter = 'anyplace_http_requests_total{method="GET",route="/api/v1/apps",status="%s"} 1.0'
    assert counter % 200 in text
    assert counter % 401 in text
    assert 'anyplace_hosts{pool="generel",state="off"} 64.0' in text
    assert "anyplace_apps 250.0" in text
    assert "anyplace_store_up 1.0" in text
    assert 'anyplace_hosts_registered{pool="generel"} 0.0' in text
    assert 'anyplace_hosts_registered{pool="gis"} 1.0' in text


def test_the_front_page_asks_a_visitor_to_sign_in_in_danish(client: TestClient) -> None:
    page = client.get("/")
    assert page.url.path == "/login"
    assert page.status_code == 200
    assert 'lang="da"' in page.text
    assert "Log ind" in page.text
