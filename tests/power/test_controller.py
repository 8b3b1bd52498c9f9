"""The controller against the simulated cloud, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from textwrap import dedent

import pytest
from sqlalchemy import func, select

from anyplace.clock import VirtualClock
from anyplace.clouds.base import FakeCloud, Transient
from anyplace.clouds.sim import SimCloud
from anyplace.config import PowerSettings
from anyplace.domain import PowerActionKind, PowerActionState, PowerState, SessionState
from anyplace.importer import apply_dataset, read_dataset
from anyplace.power.controller import PowerController
from anyplace.power.locks import LocalLocks, locks_for
from anyplace.store.access import Store
from anyplace.store.models import HostUsage, Machine, Pool, PoolLoadSample, PowerAction, User
from anyplace.store.models import Session as UserSession
from tests.power.conftest import local

ESTATE = """\
vm_sizes:
  - {name: D8, vcpus: 8, memory_gb: 32, price_per_hour: 0.75, currency: EUR}
groups:
  - {name: alle, display_name: Alle}
users:
  - {username: u1, name: User One, groups: [alle]}
power_policies:
  - name: kontor
    power_off_delay_minutes: 20
    max_concurrent_actions: 3
    schedule:
      - days: [mon, tue, wed, thu, fri]
        phases:
          - {phase: ramp_up, start: "06:30", min_hosts: 3, buffer_percent: 20}
          - {phase: peak, start: "08:30", min_hosts: 2, buffer_percent: 10}
          - {phase: ramp_down, start: "16:00", min_hosts: 1, buffer_percent: 10}
          - {phase: off_peak, start: "19:00", min_hosts: 0, buffer_percent: 0}
  - name: servere
    power_off_delay_minutes: 0
    schedule:
      - days: [mon, tue, wed, thu, fri]
        phases:
          - {phase: peak, start: "06:00", min_percent: 100, buffer_percent: 0}
          - {phase: off_peak, start: "19:00", min_percent: 0, buffer_percent: 0}
pools:
  - {name: generel, display_name: Generel, vm_size: D8, max_sessions_per_host: 10,
     power_policy: kontor, boot_minutes: 5, host_prefix: gen-, host_count: 6}
server_groups:
  - name: esdh
    display_name: ESDH
    vm_size: D8
    power_policy: servere
    servers:
      - {name: esdh-db01, order: 1}
      - {name: esdh-app01, order: 2}
      - {name: esdh-web01, order: 3}
"""
MONDAY_0600 = local(2026, 11, 30, 6, 0)


class GuardedCloud:
    """The sim cloud, refusing (and recording) any stop of a host that has sessions."""

    name = "sim"

    def __init__(self, cloud: SimCloud, store: Store) -> None:
        self.cloud, self.store = cloud, store
        self.cut_off: list[str] = []

    def power_states(self, machine_ids: Sequence[str]) -> dict[str, PowerState]:
        return self.cloud.power_states(machine_ids)

    def start(self, machine_id: str) -> None:
        self.cloud.start(machine_id)

    def stop(self, machine_id: str) -> None:
        with self.store.sessions() as session:
            live = session.scalar(
                select(func.count(UserSession.id))
                .join(Machine, UserSession.machine_id == Machine.id)
                .where(Machine.provider_id == machine_id, UserSession.state != SessionState.ENDED)
            )
        if live:
            self.cut_off.append(machine_id)
        self.cloud.stop(machine_id)

    def close(self) -> None:
        pass


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(MONDAY_0600)


@pytest.fixture
def estate(store: Store, tmp_path: Path, clock: VirtualClock) -> Store:
    (tmp_path / "estate.yaml").write_text(dedent(ESTATE), encoding="utf-8")
    with store.transaction() as session:
        apply_dataset(session, read_dataset(tmp_path), clock)
    return store


def make_cloud(store: Store, clock: VirtualClock, failure_rate: float = 0.0) -> SimCloud:
    cloud = SimCloud(clock, seed=11, failure_rate=failure_rate)
    with store.sessions() as session:
        for machine in session.scalars(select(Machine)):
            cloud.add_machine(machine.provider_id, boot_minutes=5)
    return cloud


def controller(store: Store, cloud: object, clock: VirtualClock) -> PowerController:
    settings = PowerSettings(tick_seconds=60, forecast_weeks=0, retry_base_seconds=30)
    return PowerController(store, {"sim": cloud}, clock, settings)  # type: ignore[dict-item]


def hosts(store: Store) -> dict[str, Machine]:
    with store.sessions() as session:
        return {
            m.name: m for m in session.scalars(select(Machine).where(Machine.pool_id.is_not(None)))
        }


def serving(store: Store) -> int:
    return sum(1 for m in hosts(store).values() if m.power_state is PowerState.ON and not m.drain)


def set_sessions(store: Store, clock: VirtualClock, wanted: int) -> None:
    """A toy broker: new sessions go to the least-loaded serving host; leavers end first-in."""
    with store.transaction() as session:
        user = session.scalars(select(User)).one()
        live = list(
            session.scalars(
                select(UserSession)
                .where(UserSession.state != SessionState.ENDED)
                .order_by(UserSession.id)
            )
        )
        for extra in live[wanted:]:
            extra.state, extra.ended_at = SessionState.ENDED, clock.now()
        missing = wanted - min(wanted, len(live))
        pool = session.scalars(select(Pool)).one()
        for _ in range(missing):
            counts = {
                m.id: sum(1 for s in live if s.machine_id == m.id and s.state != SessionState.ENDED)
                for m in pool.hosts
                if m.power_state is PowerState.ON and not m.drain
            }
            room = [mid for mid, n in counts.items() if n < pool.max_sessions_per_host]
            if not room:
                return
            target = min(room, key=lambda mid: counts[mid])
            new = UserSession(
                user=user, pool=pool, machine_id=target, state=SessionState.ACTIVE,
                apps=["word"], created_at=clock.now(), connected_at=clock.now(),
            )  # fmt: skip
            session.add(new)
            live.append(new)


def run(
    ctl: PowerController, clock: VirtualClock, minutes: int, store: Store, demand: int | None = None
) -> None:
    for _ in range(minutes):
        clock.advance(timedelta(minutes=1))
        if demand is not None:
            set_sessions(store, clock, demand)
        ctl.tick()


def test_a_monday_morning_brings_the_minimum_on_before_ramp_up_and_holds_it(
    estate: Store, clock: VirtualClock
) -> None:
    cloud = make_cloud(estate, clock)
    ctl = controller(estate, cloud, clock)
    run(ctl, clock, 18, estate)  # 06:18: nothing yet (look-ahead 2 x 5 min boot + 1 min tick)
    assert serving(estate) == 0
    assert all(m.power_state is PowerState.OFF for m in hosts(estate).values())
    run(ctl, clock, 12, estate)  # 06:30: three hosts started ahead of the ramp-up
    assert sum(1 for m in hosts(estate).values() if m.power_state is not PowerState.OFF) == 3
    run(ctl, clock, 60, estate, demand=25)  # 07:30, 25 users: 25 / (10 x 0.8) -> 4 hosts
    assert serving(estate) == 4
    assert cloud.redundant_starts == 0
    with estate.sessions() as session:
        usage = session.scalar(select(func.count(HostUsage.id)))
        assert usage is not None
        assert usage >= 9 + 4 * 2  # every machine observed once, each start metered


def test_a_day_with_failures_never_double_starts_or_cuts_anyone_off(
    estate: Store, clock: VirtualClock
) -> None:
    sim = make_cloud(estate, clock, failure_rate=0.25)
    guarded = GuardedCloud(sim, estate)
    ctl = controller(estate, guarded, clock)
    day = [0] * 30 + [10] * 60 + [45] * 120 + [30] * 180 + [50] * 120 + [12] * 180 + [0] * 120
    for minute, demand in enumerate(day):
        clock.advance(timedelta(minutes=1))
        set_sessions(estate, clock, demand)
        ctl.tick()
        now = clock.now()
        if local(2026, 11, 30, 9, 0) <= now <= local(2026, 11, 30, 15, 0):
            assert serving(estate) >= 2, f"the peak minimum fell at minute {minute}"
    assert guarded.cut_off == []
    assert sim.redundant_starts == 0
    with estate.sessions() as session:
        retried = session.scalar(select(func.count(PowerAction.id)).where(PowerAction.attempts > 1))
        assert retried, "with a 25 % failure rate some actions must have been retried"
    # By 21:00 the pool is down to the off-peak minimum of 0 and nothing is left drained.
    final = hosts(estate)
    assert all(m.power_state is PowerState.OFF for m in final.values())
    assert not any(m.drain for m in final.values())


def test_a_stop_is_cancelled_when_the_host_gets_a_session_again(
    estate: Store, clock: VirtualClock
) -> None:
    cloud = make_cloud(estate, clock)
    ctl = controller(estate, cloud, clock)
    with estate.transaction() as session:
        host = session.scalars(select(Machine).where(Machine.name == "gen-06")).one()
        host.drain, host.drain_by_policy = True, True
        session.add(
            PowerAction(
                machine_id=host.id, action=PowerActionKind.STOP, reason="test",
                state=PowerActionState.PENDING, idempotency_key="k1", requested_at=clock.now(),
            )
        )  # fmt: skip
        user = session.scalars(select(User)).one()
        session.add(
            UserSession(
                user=user, pool_id=host.pool_id, machine_id=host.id, state=SessionState.PENDING,
                apps=["word"], created_at=clock.now(),
            )
        )  # fmt: skip
    cloud.machines["gen-06"].state = PowerState.ON
    ctl._carry_out([hosts(estate)["gen-06"].id])
    with estate.sessions() as session:
        action = session.scalars(
            select(PowerAction).where(PowerAction.idempotency_key == "k1")
        ).one()
    assert action.state is PowerActionState.FAILED
    assert "session" in (action.error or "")
    assert cloud.machines["gen-06"].state is PowerState.ON


def test_ghost_sessions_end_when_the_cloud_says_the_host_is_off(
    estate: Store, clock: VirtualClock
) -> None:
    cloud = make_cloud(estate, clock)
    with estate.transaction() as session:
        host = session.scalars(select(Machine).where(Machine.name == "gen-01")).one()
        host.power_state = PowerState.ON
        user = session.scalars(select(User)).one()
        session.add(
            UserSession(
                user=user, pool_id=host.pool_id, machine_id=host.id, state=SessionState.ACTIVE,
                apps=["word"], created_at=clock.now(),
            )
        )  # fmt: skip
    controller(estate, cloud, clock).tick()  # the sim never started gen-01: it is off
    with estate.sessions() as session:
        ghost = session.scalars(select(UserSession)).one()
    assert ghost.state is SessionState.ENDED
    assert hosts(estate)["gen-01"].power_state is PowerState.OFF


def test_transient_errors_are_retried_with_backoff_and_permanent_ones_fail(
    estate: Store, clock: VirtualClock
) -> None:
    with estate.sessions() as session:
        ids = [m.provider_id for m in session.scalars(select(Machine))]
    fake = FakeCloud(dict.fromkeys(ids, PowerState.OFF))
    ctl = controller(estate, fake, clock)
    clock.set(local(2026, 11, 30, 6, 30))
    fake.fail_next("power_states", Transient("throttled"))
    ctl.tick_pool("generel")
    with estate.sessions() as session:
        assert session.scalar(select(func.count(PowerAction.id))) == 0, "no plan without states"
    fake.fail_next("start", Transient("throttled"))
    ctl.tick_pool("generel")
    with estate.sessions() as session:
        pending = session.scalars(
            select(PowerAction).where(PowerAction.state == PowerActionState.PENDING)
        ).all()
    waiting = [a for a in pending if a.attempts == 1]
    assert len(waiting) == 1
    assert waiting[0].next_attempt_at == clock.now() + timedelta(seconds=30)
    clock.advance(timedelta(seconds=31))
    ctl.tick_pool("generel")
    with estate.sessions() as session:
        retried = session.get(PowerAction, waiting[0].id)
        assert retried is not None
        assert retried.state is PowerActionState.SUCCEEDED
        assert retried.attempts == 2
    del fake.states["gen-05"]  # the machine was deleted in the cloud
    with estate.transaction() as session:
        host = session.scalars(select(Machine).where(Machine.name == "gen-05")).one()
        session.add(
            PowerAction(
                machine_id=host.id, action=PowerActionKind.START, reason="test",
                state=PowerActionState.PENDING, idempotency_key="gone", requested_at=clock.now(),
            )
        )  # fmt: skip
    ctl._carry_out([hosts(estate)["gen-05"].id])
    with estate.sessions() as session:
        gone = session.scalars(
            select(PowerAction).where(PowerAction.idempotency_key == "gone")
        ).one()
    assert gone.state is PowerActionState.FAILED
    assert "no machine" in (gone.error or "")


def test_servers_start_in_sequence(estate: Store, clock: VirtualClock) -> None:
    cloud = make_cloud(estate, clock)
    ctl = controller(estate, cloud, clock)
    started: list[str] = []
    for _ in range(40):
        clock.advance(timedelta(minutes=1))
        report = ctl.tick()
        started += [a.host for a in report.server_groups["esdh"].actions]
    assert started == ["esdh-db01", "esdh-app01", "esdh-web01"]
    with estate.sessions() as session:
        states = {
            m.name: m.power_state
            for m in session.scalars(select(Machine).where(Machine.server_group_id.is_not(None)))
        }
    assert set(states.values()) == {PowerState.ON}


def test_one_controller_per_pool(estate: Store, clock: VirtualClock) -> None:
    cloud = make_cloud(estate, clock)
    first = controller(estate, cloud, clock)
    second = PowerController(
        estate,
        {"sim": cloud},
        clock,
        PowerSettings(forecast_weeks=0),
        locks=locks_for(estate.engine),
    )
    if isinstance(first.locks, LocalLocks):
        second.locks = first.locks  # one process on SQLite: the loop and the broker share locks
    with first.locks.hold("pool:generel") as held:
        assert held
        assert second.tick_pool("generel") is None, "another replica holds the pool"
    assert second.tick_pool("generel") is not None


def test_the_forecast_starts_hosts_before_the_monday_logon_storm(
    estate: Store, clock: VirtualClock
) -> None:
    """Four earlier Mondays had 45 users at 08:00; at 07:55 hosts for them are started."""
    with estate.transaction() as session:
        pool = session.scalars(select(Pool)).one()
        for week in range(1, 5):
            for minute in range(0, 60, 5):
                at = local(2026, 11, 30, 7, 30) - timedelta(weeks=week) + timedelta(minutes=minute)
                sessions = 45 if minute >= 30 else 5
                session.add(PoolLoadSample(pool_id=pool.id, at=at, sessions=sessions))
    cloud = make_cloud(estate, clock)
    settings = PowerSettings(tick_seconds=60, forecast_weeks=4)
    ctl = PowerController(estate, {"sim": cloud}, clock, settings)
    clock.set(local(2026, 11, 30, 7, 55))  # boot 5 min + tick 1 min: 08:00 is in sight
    result = ctl.tick_pool("generel")
    assert result is not None
    # 45 users at 20 % buffer and 10 per host need 6 hosts; the ramp-up minimum is only 3.
    assert result.target_hosts == 6
    blind = PowerController(estate, {"sim": cloud}, clock, PowerSettings(forecast_weeks=0))
    clock.advance(timedelta(minutes=1))
    without = blind.tick_pool("generel")
    assert without is not None
    assert without.target_hosts == 3


def test_start_on_demand_when_a_user_finds_no_room(estate: Store, clock: VirtualClock) -> None:
    cloud = make_cloud(estate, clock)
    ctl = controller(estate, cloud, clock)
    clock.set(local(2026, 12, 5, 11, 0))  # a Saturday: off-peak, minimum 0
    assert ctl.tick_pool("generel") is not None
    assert serving(estate) == 0
    result = ctl.request_capacity("generel")
    assert result is not None
    assert [a.kind for a in result.actions] == [PowerActionKind.START]
    assert cloud.machines["gen-01"].state is PowerState.STARTING
