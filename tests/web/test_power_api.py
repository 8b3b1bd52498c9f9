"""The power API: plans and reports, for admins only."""

from __future__ import annotations

from fastapi.testclient import TestClient

from anyplace.clock import VirtualClock
from anyplace.store.access import Store
from tests.web.conftest import user_headers


def test_the_api_serves_plans_and_reports_to_admins_only(
    client: TestClient, admin_headers: dict[str, str], demo_store: Store, clock: VirtualClock
) -> None:
    at = "2026-12-01T07:00:00+01:00"
    plan = client.get("/api/v1/power/plan", params={"at": at}, headers=admin_headers)
    assert plan.status_code == 200
    assert {p["pool"]: p["target_hosts"] for p in plan.json()["pools"]}["generel"] == 13
    naive = client.get(
        "/api/v1/power/plan", params={"at": "2026-12-01T07:00"}, headers=admin_headers
    )
    assert naive.status_code == 422
    _, user = user_headers(demo_store, clock, "jobcenter")
    assert client.get("/api/v1/power/plan", headers=user).status_code == 403
    report = client.get(
        "/api/v1/power/report", params={"from": "2026-11-30T00:00:00+01:00"}, headers=admin_headers
    )
    assert report.status_code == 200
    assert {line["name"] for line in report.json()["lines"]} >= {"generel", "esdh"}
