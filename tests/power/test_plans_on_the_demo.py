"""`anyplace power plan --at` on the demo municipality: sensible plans at the times that matter."""

from __future__ import annotations

import json

import pytest

from anyplace.config import PowerSettings
from anyplace.domain import Phase
from anyplace.power.preview import PlanPreview, preview
from anyplace.store.access import Store
from tests.power.conftest import local
from tests.test_cli import anyplace


def plan_at(store: Store, *when: int) -> PlanPreview:
    with store.sessions() as session:
        return preview(session, PowerSettings(), local(*when))


def pools(result: PlanPreview) -> dict[str, tuple[Phase, int]]:
    return {p.pool: (p.phase, p.target_hosts) for p in result.pools}


def test_a_weekday_morning_ramps_up_with_the_boot_time_ahead(demo_store: Store) -> None:
    result = plan_at(demo_store, 2026, 12, 1, 7, 0)  # Tuesday 07:00
    assert pools(result) == {
        "generel": (Phase.RAMP_UP, 13),  # 20 % of 64
        "gis": (Phase.RAMP_UP, 1),
        "legacy32": (Phase.RAMP_UP, 1),
        "hjemmepleje": (Phase.RAMP_UP, 3),
    }
    generel = next(p for p in result.pools if p.pool == "generel")
    assert len(generel.actions) == 13, "all within the limit of 20 concurrent actions"
    # Monday evening's off-peak (minimum 1) runs until Tuesday's ramp-up at 06:30.
    early = plan_at(demo_store, 2026, 12, 1, 6, 16)
    assert pools(early)["generel"] == (Phase.OFF_PEAK, 1)
    # From 06:17 the controller looks past 06:30 (twice the 6-minute boot plus a tick).
    ahead = plan_at(demo_store, 2026, 12, 1, 6, 17)
    assert pools(ahead)["generel"] == (Phase.OFF_PEAK, 13)


def test_weekday_noon_evening_saturday_night_and_christmas(demo_store: Store) -> None:
    noon = pools(plan_at(demo_store, 2026, 12, 1, 12, 0))
    assert noon["generel"] == (Phase.PEAK, 7)
    evening = pools(plan_at(demo_store, 2026, 12, 1, 19, 0))
    assert evening["generel"] == (Phase.OFF_PEAK, 1)
    assert evening["hjemmepleje"] == (Phase.RAMP_DOWN, 2), "home care's evening shift"
    saturday = pools(plan_at(demo_store, 2026, 12, 5, 3, 0))
    assert saturday["generel"] == (Phase.OFF_PEAK, 0)
    assert saturday["hjemmepleje"] == (Phase.OFF_PEAK, 1)
    christmas = plan_at(demo_store, 2026, 12, 25, 10, 0)
    by_pool = {p.pool: p for p in christmas.pools}
    assert by_pool["generel"].holiday == "Christmas Day"
    assert (by_pool["generel"].phase, by_pool["generel"].target_hosts) == (Phase.OFF_PEAK, 0)
    assert by_pool["hjemmepleje"].phase is Phase.PEAK, "home care works on holidays"
    groups = {g.server_group: g for g in christmas.server_groups}
    assert groups["esdh"].target_hosts == 0
    assert groups["domaene"].target_hosts == 3, "domain controllers are always on"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_cli_prints_the_plan_as_json(demo_store: Store) -> None:
    url = demo_store.engine.url.render_as_string(hide_password=False)
    result = anyplace("power", "plan", "--at", "2026-12-01T07:00", "--json", url=url)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    generel = next(p for p in plan["pools"] if p["pool"] == "generel")
    assert {"phase", "demand", "buffer", "target_hosts", "actions"} <= set(generel)
    assert generel["target_hosts"] == 13
    assert {"server_group", "phase", "target_hosts", "actions"} <= set(plan["server_groups"][0])
    table = anyplace("power", "plan", "--at", "2026-12-25T10:00", url=url)
    assert "Christmas Day" in table.stdout
    bad = anyplace("power", "plan", "--at", "tomorrow", url=url)
    assert bad.returncode == 1
    assert "not a time" in bad.stderr
