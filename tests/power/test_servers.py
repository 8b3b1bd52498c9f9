"""Server groups: sequenced start (database, application, web) and reverse stop."""

from __future__ import annotations

from dataclasses import replace

from anyplace.domain import PowerActionKind, PowerState
from anyplace.power.servers import ServerView, plan_servers

OFF, ON, STARTING = PowerState.OFF, PowerState.ON, PowerState.STARTING


def esdh(db: PowerState, app: PowerState, web: PowerState) -> tuple[ServerView, ...]:
    return (
        ServerView("esdh-web01", web, order=3),
        ServerView("esdh-app01", app, order=2),
        ServerView("esdh-app02", app, order=2),
        ServerView("esdh-db01", db, order=1),
    )


def started(plan_actions: tuple[object, ...], kind: PowerActionKind) -> list[str]:
    return [a.host for a in plan_actions if a.kind is kind]  # type: ignore[attr-defined]


def test_start_goes_up_the_tiers_one_at_a_time() -> None:
    start = PowerActionKind.START
    first = plan_servers("esdh", esdh(OFF, OFF, OFF), wanted=4, budget=10)
    assert started(first.actions, start) == ["esdh-db01"]
    waiting = plan_servers("esdh", esdh(STARTING, OFF, OFF), wanted=4, budget=10)
    assert waiting.actions == (), "applications wait until the database is on"
    second = plan_servers("esdh", esdh(ON, OFF, OFF), wanted=4, budget=10)
    assert started(second.actions, start) == ["esdh-app01", "esdh-app02"]
    third = plan_servers("esdh", esdh(ON, ON, OFF), wanted=4, budget=10)
    assert started(third.actions, start) == ["esdh-web01"]
    assert plan_servers("esdh", esdh(ON, ON, ON), wanted=4, budget=10).actions == ()


def test_stop_comes_down_the_tiers() -> None:
    stop = PowerActionKind.STOP
    first = plan_servers("esdh", esdh(ON, ON, ON), wanted=0, budget=10)
    assert started(first.actions, stop) == ["esdh-web01"]
    second = plan_servers("esdh", esdh(ON, ON, OFF), wanted=0, budget=10)
    assert started(second.actions, stop) == ["esdh-app01", "esdh-app02"]
    last = plan_servers("esdh", esdh(ON, OFF, OFF), wanted=0, budget=10)
    assert started(last.actions, stop) == ["esdh-db01"]


def test_budget_and_maintenance() -> None:
    servers = tuple(ServerView(f"fag-app{i:02d}", OFF) for i in range(1, 31))
    plan = plan_servers("fagsystemer", servers, wanted=30, budget=10)
    assert len(plan.actions) == 10
    held = (replace(servers[0], maintenance=True), *servers[1:])
    plan = plan_servers("fagsystemer", held, wanted=30, budget=50)
    assert "fag-app01" not in started(plan.actions, PowerActionKind.START)
    assert plan.target_hosts == 29
