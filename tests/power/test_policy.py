"""The autoscale policy: plain cases, peers' known failures, and invariants as properties."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from anyplace.domain import Phase, PowerActionKind, PowerState
from anyplace.power.policy import (
    Action,
    Demand,
    HostView,
    PhaseView,
    PoolRules,
    PoolSnapshot,
    plan,
    target_hosts,
)

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
LONG_AGO = NOW - timedelta(hours=3)
START, STOP = PowerActionKind.START, PowerActionKind.STOP
DRAIN, UNDRAIN = PowerActionKind.DRAIN, PowerActionKind.UNDRAIN
NOTIFY, LOGOFF = PowerActionKind.NOTIFY, PowerActionKind.LOGOFF


def host(name: str, power: PowerState = PowerState.OFF, **kw: object) -> HostView:
    values: dict[str, object] = {"power_changed_at": LONG_AGO}
    if power is PowerState.ON and not any(
        kw.get(k) for k in ("active_sessions", "disconnected_sessions", "pending_sessions")
    ):
        values["idle_since"] = LONG_AGO
    values.update(kw)
    return HostView(name, power, **values)  # type: ignore[arg-type]


def snapshot(
    hosts: list[HostView],
    *,
    phase: Phase = Phase.PEAK,
    minimum: int = 0,
    buffer: int = 10,
    demand: Demand | None = None,
    now: datetime = NOW,
    **rules: object,
) -> PoolSnapshot:
    pool_rules = replace(PoolRules(max_sessions_per_host=10), **rules)  # type: ignore[arg-type]
    return PoolSnapshot(
        "generel",
        now,
        pool_rules,
        PhaseView(phase, minimum, buffer),
        tuple(hosts),
        demand or Demand(),
    )


def names(actions: list[Action]) -> list[str]:
    return [action.host for action in actions]


def test_target_hosts_keeps_the_buffer_free() -> None:
    # 45 sessions, 10 per host, 10 % free: 45 / 9 = 5 hosts (50 seats, 5 free = 10 %).
    assert target_hosts(45, buffer_percent=10, per_host=10, minimum=0, usable=20) == 5
    assert target_hosts(46, buffer_percent=10, per_host=10, minimum=0, usable=20) == 6
    assert target_hosts(0, buffer_percent=10, per_host=10, minimum=2, usable=20) == 2
    assert target_hosts(500, buffer_percent=10, per_host=10, minimum=0, usable=20) == 20
    assert target_hosts(1, buffer_percent=100, per_host=10, minimum=0, usable=7) == 7


def test_a_full_pool_starts_hosts_within_the_concurrency_limit() -> None:
    hosts = [host("h1", PowerState.ON, active_sessions=10)] + [host(f"h{i}") for i in range(2, 9)]
    result = plan(snapshot(hosts, demand=Demand(forecast=60), max_concurrent_actions=3))
    assert result.target_hosts == 7
    assert names(result.of_kind(START)) == ["h2", "h3", "h4"]
    assert result.of_kind(STOP) == []


def test_hosts_already_starting_count_as_capacity_and_against_the_limit() -> None:
    hosts = [
        host("h1", PowerState.ON, active_sessions=9),
        host("h2", PowerState.STARTING),
        host("h3"),
        host("h4"),
    ]
    result = plan(snapshot(hosts, max_concurrent_actions=1))
    assert result.capacity == 20
    assert result.of_kind(START) == [], "h2's boot fills the limit of one"
    result = plan(snapshot(hosts, max_concurrent_actions=2))
    assert result.of_kind(START) == [], "9 sessions fit in 2 hosts with 10 % free"


def test_waiting_users_start_a_host_now() -> None:
    hosts = [host("h1", PowerState.ON, active_sessions=10), host("h2")]
    result = plan(snapshot(hosts, buffer=0, demand=Demand(waiting=1)))
    assert names(result.of_kind(START)) == ["h2"]


def test_the_minimum_ahead_starts_hosts_before_ramp_up() -> None:
    hosts = [host(f"h{i}") for i in range(1, 6)]
    result = plan(snapshot(hosts, phase=Phase.OFF_PEAK, minimum=3))
    assert names(result.of_kind(START)) == ["h1", "h2", "h3"]


def test_drained_hosts_are_undrained_before_new_ones_start() -> None:
    hosts = [
        host("h1", PowerState.ON, active_sessions=10),
        host("h2", PowerState.ON, active_sessions=3, drain=True, drained_by_policy=True),
        host("h3"),
    ]
    result = plan(snapshot(hosts, demand=Demand(forecast=20)))
    assert names(result.of_kind(UNDRAIN)) == ["h2"]
    assert result.of_kind(START) == []


def test_scale_in_drains_the_least_loaded_host_then_stops_it_when_idle() -> None:
    hosts = [
        host("h1", PowerState.ON, active_sessions=5),
        host("h2", PowerState.ON, active_sessions=1),
        host("h3", PowerState.ON, active_sessions=4),
    ]
    result = plan(snapshot(hosts))
    assert result.target_hosts == 2
    assert names(result.of_kind(DRAIN)) == ["h2"]
    assert result.of_kind(STOP) == [], "a host is drained first, never stopped with sessions"
    drained = replace(hosts[1], drain=True, drained_by_policy=True, active_sessions=0)
    ended_now = replace(drained, idle_since=NOW)
    assert plan(snapshot([hosts[0], ended_now, hosts[2]])).of_kind(STOP) == []
    later = NOW + timedelta(minutes=30)
    result = plan(snapshot([hosts[0], ended_now, hosts[2]], now=later))
    assert names(result.of_kind(STOP)) == ["h2"]


def test_a_recently_started_host_is_not_drained_again() -> None:
    fresh = host("h2", PowerState.ON, power_changed_at=NOW - timedelta(minutes=10))
    result = plan(snapshot([host("h1", PowerState.ON, active_sessions=2), fresh]))
    assert result.target_hosts == 1
    assert "h2" not in names(result.of_kind(DRAIN)), "started 10 minutes ago: not yet"


def test_peer_failure_hosts_left_drained_overnight() -> None:
    # AVD runbook #443/#444: hosts stopped while drained refused every logon next morning.
    overnight = [
        host(f"h{i}", drain=True, drained_by_policy=True, power_changed_at=NOW - timedelta(hours=9))
        for i in range(1, 4)
    ]
    result = plan(snapshot(overnight, phase=Phase.RAMP_UP, minimum=2))
    assert sorted(names(result.of_kind(UNDRAIN))) == ["h1", "h2", "h3"]
    assert names(result.of_kind(START)) == ["h1", "h2"]


def test_peer_failure_a_host_stopped_right_after_it_received_a_session() -> None:
    # AVD runbook #501: a session began after the run decided to stop the host.
    drained = host("h2", PowerState.ON, drain=True, drained_by_policy=True, pending_sessions=1)
    result = plan(snapshot([host("h1", PowerState.ON), drained]))
    assert result.of_kind(STOP) == []


def test_an_admin_drained_or_maintenance_host_is_left_alone() -> None:
    hosts = [
        host("h1", PowerState.ON, active_sessions=1),
        host("h2", PowerState.ON, drain=True),
        host("h3", PowerState.ON, maintenance=True),
        host("h4", drain=True),
    ]
    result = plan(snapshot(hosts))
    assert {a.host for a in result.actions} <= {"h1"}


def test_disconnected_sessions_past_the_timeout_are_logged_off_before_a_stop() -> None:
    drained = host(
        "h2",
        PowerState.ON,
        drain=True,
        drained_by_policy=True,
        disconnected_sessions=2,
        expired_disconnected=2,
    )
    hosts = [host("h1", PowerState.ON), drained]
    allowed = plan(snapshot(hosts, minimum=1, disconnect_timeout=timedelta(hours=2)))
    assert [(a.host, a.expired_only) for a in allowed.of_kind(LOGOFF)] == [("h2", True)]
    assert allowed.of_kind(STOP) == []
    assert plan(snapshot(hosts, minimum=1)).of_kind(LOGOFF) == [], "the pool does not allow it"
    young = replace(drained, expired_disconnected=1)
    timeout = timedelta(hours=2)
    assert plan(snapshot([hosts[0], young], minimum=1, disconnect_timeout=timeout)).actions == ()


def test_forced_logoff_only_in_ramp_down_after_notice_and_grace() -> None:
    drained = host("h2", PowerState.ON, drain=True, drained_by_policy=True, active_sessions=2)
    hosts = [host("h1", PowerState.ON, active_sessions=1), drained]
    in_peak = plan(snapshot(hosts, forced_logoff=True))
    assert in_peak.of_kind(NOTIFY) == in_peak.of_kind(LOGOFF) == []
    ramp_down = plan(snapshot(hosts, phase=Phase.RAMP_DOWN, forced_logoff=True))
    assert names(ramp_down.of_kind(NOTIFY)) == ["h2"]
    assert ramp_down.of_kind(LOGOFF) == []
    noticed = replace(drained, logoff_notice_at=NOW - timedelta(minutes=14))
    waiting = plan(snapshot([hosts[0], noticed], phase=Phase.RAMP_DOWN, forced_logoff=True))
    assert waiting.actions == ()
    noticed = replace(drained, logoff_notice_at=NOW - timedelta(minutes=15))
    due = plan(snapshot([hosts[0], noticed], phase=Phase.RAMP_DOWN, forced_logoff=True))
    assert [(a.host, a.expired_only) for a in due.of_kind(LOGOFF)] == [("h2", False)]
    assert plan(snapshot(hosts, phase=Phase.RAMP_DOWN)).actions == (), "pool does not force"


# --- properties -----------------------------------------------------------------------------

powers = st.sampled_from(list(PowerState))
minutes_ago = st.integers(min_value=0, max_value=600).map(lambda m: NOW - timedelta(minutes=m))


@st.composite
def host_views(draw: st.DrawFn, index: int) -> HostView:
    power = draw(powers)
    drain = draw(st.booleans())
    active = draw(st.integers(0, 12)) if power in (PowerState.ON, PowerState.STOPPING) else 0
    disconnected = draw(st.integers(0, 3)) if power is PowerState.ON else 0
    pending = draw(st.integers(0, 2)) if power in (PowerState.ON, PowerState.STARTING) else 0
    sessions = active + disconnected + pending
    return HostView(
        name=f"h{index:02d}",
        power=power,
        drain=drain,
        drained_by_policy=drain and draw(st.booleans()),
        maintenance=draw(st.booleans()) and draw(st.booleans()),
        active_sessions=active,
        disconnected_sessions=disconnected,
        expired_disconnected=draw(st.integers(0, disconnected)),
        pending_sessions=pending,
        power_changed_at=draw(minutes_ago),
        idle_since=draw(minutes_ago) if sessions == 0 else None,
        logoff_notice_at=draw(st.none() | minutes_ago),
        action_in_flight=draw(st.booleans()) and draw(st.booleans()),
    )


@st.composite
def snapshots(draw: st.DrawFn) -> PoolSnapshot:
    count = draw(st.integers(1, 12))
    hosts = tuple(draw(host_views(i)) for i in range(count))
    rules = PoolRules(
        max_sessions_per_host=draw(st.integers(1, 16)),
        power_off_delay=timedelta(minutes=draw(st.integers(0, 60))),
        max_concurrent_actions=draw(st.integers(1, 5)),
        forced_logoff=draw(st.booleans()),
        logoff_grace=timedelta(minutes=draw(st.integers(0, 30))),
        disconnect_timeout=draw(st.none() | st.just(timedelta(hours=2))),
    )
    phase = PhaseView(
        draw(st.sampled_from(list(Phase))), draw(st.integers(0, 12)), draw(st.integers(0, 100))
    )
    demand = Demand(forecast=draw(st.integers(0, 200)), waiting=draw(st.integers(0, 5)))
    return PoolSnapshot("p", NOW, rules, phase, hosts, demand)


@settings(max_examples=400)
@given(snapshots())
def test_invariants_of_every_plan(snap: PoolSnapshot) -> None:
    result = plan(snap)
    by_name = {h.name: h for h in snap.hosts}
    busy = sum(1 for h in snap.hosts if h.busy)
    power_actions = [a for a in result.actions if a.kind in (START, STOP)]
    # Never more concurrent power actions than the pool allows.
    assert len(power_actions) <= max(0, snap.rules.max_concurrent_actions - busy)
    # At most one power action per host, and only on hosts in the right state.
    assert len({a.host for a in power_actions}) == len(power_actions)
    for action in result.actions:
        target = by_name[action.host]
        assert not target.maintenance, "maintenance hosts are the admin's"
        if target.drain and not target.drained_by_policy:
            raise AssertionError("an admin's drain is never changed")
        if action.kind is STOP:
            assert target.sessions == 0, "never stop a host with sessions"
            assert target.power is PowerState.ON
            assert target.drain
            assert target.idle_since is not None
            assert NOW - target.idle_since >= snap.rules.power_off_delay
        if action.kind is START:
            assert target.power is PowerState.OFF
        if action.kind is DRAIN:
            assert target.power_changed_at is not None
            assert NOW - target.power_changed_at >= snap.rules.power_off_delay
        if action.kind in (NOTIFY, LOGOFF) and not action.expired_only:
            assert snap.phase.phase is Phase.RAMP_DOWN
            assert snap.rules.forced_logoff
    # Never below the minimum (nor the target) by scaling in.
    serving = [h for h in snap.hosts if h.serving]
    drained = len(result.of_kind(DRAIN))
    usable = sum(1 for h in snap.hosts if not h.maintenance)
    assert result.target_hosts >= min(snap.phase.minimum, usable)
    if drained:
        assert len(serving) - drained >= result.target_hosts
    # Stopped hosts never stay drained by us.
    for h in snap.hosts:
        if h.power is PowerState.OFF and h.drain and h.drained_by_policy and not h.maintenance:
            assert any(a.kind is UNDRAIN and a.host == h.name for a in result.actions)


@settings(max_examples=150, deadline=None)
@given(
    demands=st.lists(st.integers(0, 80), min_size=5, max_size=40),
    delay=st.integers(5, 45),
)
def test_a_day_of_changing_demand_never_strands_a_user_or_flaps(
    demands: list[int], delay: int
) -> None:
    """Drive the policy through a toy world (instant boot, sessions stick to their host)."""
    rules = PoolRules(
        max_sessions_per_host=10, power_off_delay=timedelta(minutes=delay), max_concurrent_actions=3
    )
    hosts = {f"h{i:02d}": HostView(f"h{i:02d}", PowerState.OFF) for i in range(10)}
    sessions = dict.fromkeys(hosts, 0)
    started_at: dict[str, datetime] = {}
    now = NOW
    for demand in demands:
        for _ in range(5):  # five one-minute ticks per demand level
            now += timedelta(minutes=1)
            _follow_demand(hosts, sessions, demand)
            views = tuple(
                replace(
                    h,
                    active_sessions=sessions[n],
                    idle_since=None if sessions[n] else (h.idle_since or now),
                )
                for n, h in hosts.items()
            )
            hosts = {h.name: h for h in views}
            result = plan(PoolSnapshot("p", now, rules, PhaseView(Phase.PEAK, 1, 20), views))
            for action in result.actions:
                current = hosts[action.host]
                if action.kind is START:
                    hosts[action.host] = replace(current, power=PowerState.ON, power_changed_at=now)
                    started_at[action.host] = now
                elif action.kind is STOP:
                    assert sessions[action.host] == 0, "a user was cut off"
                    assert now - started_at.get(action.host, NOW) >= rules.power_off_delay
                    hosts[action.host] = replace(
                        current, power=PowerState.OFF, power_changed_at=now, idle_since=None
                    )
                elif action.kind is DRAIN:
                    hosts[action.host] = replace(current, drain=True, drained_by_policy=True)
                elif action.kind is UNDRAIN:
                    hosts[action.host] = replace(current, drain=False, drained_by_policy=False)
            serving = sum(1 for h in hosts.values() if h.serving)
            assert serving >= 1, "the minimum of one host is kept"


def _follow_demand(hosts: dict[str, HostView], sessions: dict[str, int], demand: int) -> None:
    """New users go to the serving host with most room; users leave from the fullest hosts."""
    total = sum(sessions.values())
    while total > demand:
        fullest = max(sessions, key=lambda n: sessions[n])
        sessions[fullest] -= 1
        total -= 1
    while total < demand:
        open_hosts = [n for n, h in hosts.items() if h.serving and sessions[n] < 10]
        if not open_hosts:
            break
        sessions[min(open_hosts, key=lambda n: sessions[n])] += 1
        total += 1
