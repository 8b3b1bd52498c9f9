"""The launch fast path answers as the route would, and leaves to the route what it cannot."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from anyplace.clock import VirtualClock
from anyplace.domain import PowerState
from anyplace.store.access import Store
from anyplace.store.models import Machine
from tests.web.conftest import user_headers


@pytest.fixture
def headers(demo_store: Store, clock: VirtualClock) -> dict[str, str]:
    with demo_store.transaction() as session:
        for machine in session.scalars(select(Machine).where(Machine.name == "gen-01")):
            machine.power_state = PowerState.ON
            machine.last_heartbeat_at = clock.now()
    return user_headers(demo_store, clock, "jobcenter")[1]


def test_a_launch_is_answered_with_the_routes_model_headers_and_metrics(
    client: TestClient, headers: dict[str, str]
) -> None:
    answer = client.post("/api/v1/launches", json={"app": "word"}, headers=headers)
    assert answer.status_code == 201
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-content-type-options"] == "nosniff", "security headers still apply"
    body = answer.json()
    assert set(body) == {
        "id",
        "app",
        "client",
        "state",
        "host",
        "url",
        "ticket",
        "connection",
        "message",
    }
    assert (body["app"], body["client"], body["state"], body["host"]) == (
        "word",
        "rdp",
        "ready",
        "gen-01",
    )
    assert body["connection"] == f"/api/v1/launches/{body['id']}/connection?ticket={body['ticket']}"
    metrics = client.get("/metrics").text
    assert (
        'anyplace_http_requests_total{method="POST",route="/api/v1/launches",status="201"} 1.0'
        in metrics
    )
    assert "anyplace_launch_batch_size_count 1.0" in metrics


def test_refusals_have_the_routes_status_and_detail(
    client: TestClient, headers: dict[str, str], admin_headers: dict[str, str]
) -> None:
    unknown = client.post(
        "/api/v1/launches", json={"app": "word"}, headers={"Authorization": "Bearer ap_nope"}
    )
    assert unknown.status_code == 401
    assert unknown.headers["www-authenticate"] == "Bearer"
    assert unknown.json() == {"detail": "the API token is unknown, expired or revoked"}
    admin = client.post("/api/v1/launches", json={"app": "word"}, headers=admin_headers)
    assert admin.status_code == 403
    assert admin.json() == {"detail": "launching needs a user's token"}
    missing = client.post("/api/v1/launches", json={"app": "nope"}, headers=headers)
    assert (missing.status_code, missing.json()) == (404, {"detail": "no app 'nope'"})


def test_what_the_fast_path_cannot_answer_goes_to_the_route(
    client: TestClient, headers: dict[str, str]
) -> None:
    """FastAPI's own answers: validation errors, a missing token, a form instead of JSON."""
    invalid = client.post(
        "/api/v1/launches", json={"app": "word", "client": "vnc"}, headers=headers
    )
    assert invalid.status_code == 422
    assert invalid.json()["detail"][0]["loc"] == ["body", "client"]
    no_token = client.post("/api/v1/launches", json={"app": "word"})
    assert no_token.status_code == 401
    assert "Authorization: Bearer" in no_token.json()["detail"]
    form = client.post("/api/v1/launches", data={"app": "word"}, headers=headers)
    assert form.status_code == 422
    broken = client.post(
        "/api/v1/launches",
        content=b'{"app": "word"',
        headers=headers | {"content-type": "application/json"},
    )
    assert broken.status_code == 422
    assert broken.json()["detail"][0]["type"] == "json_invalid"
    chunked = client.post(
        "/api/v1/launches",
        content=iter([b'{"app": ', b'"word"}']),
        headers=headers | {"content-type": "application/json"},
    )
    assert chunked.status_code == 201, "a body in several chunks is read whole"
