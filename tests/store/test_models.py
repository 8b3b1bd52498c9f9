"""Constraints and types the rest of the code relies on, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from anyplace.clock import VirtualClock
from anyplace.domain import IdentitySource, LoadBalancing, PowerState
from anyplace.store.access import Store
from anyplace.store.models import AuditEvent, Machine, Pool, ServerGroup, User, VmSize


def _user(name: str, at: datetime) -> User:
    return User(
        username=name,
        display_name=name.title(),
        source=IdentitySource.LOCAL,
        is_active=True,
        created_at=at,
    )


def test_times_come_back_aware_and_in_utc(store: Store) -> None:
    copenhagen_summer = timezone(timedelta(hours=2))
    written = datetime(2026, 7, 1, 9, 30, tzinfo=copenhagen_summer)
    with store.transaction() as session:
        session.add(AuditEvent(at=written, actor="test", action="check", details={"n": 1}))
    with store.sessions() as session:
        event = session.scalars(select(AuditEvent)).one()
    assert event.at == written
    assert event.at.tzinfo is UTC
    assert event.at.hour == 7
    assert event.details == {"n": 1}


def test_naive_times_are_refused(store: Store) -> None:
    with store.sessions() as session:
        session.add(_user("naive", datetime(2026, 1, 1, 8, 0)))
        with pytest.raises(StatementError, match="naive datetime"):
            session.flush()


def test_usernames_are_unique(store: Store, clock: VirtualClock) -> None:
    with store.transaction() as session:
        session.add(_user("anni", clock.now()))
    with store.sessions() as session:
        session.add(_user("anni", clock.now()))
        with pytest.raises(IntegrityError):
            session.flush()


def test_a_machine_belongs_to_a_pool_or_a_server_group_never_both(store: Store) -> None:
    with store.transaction() as session:
        size = VmSize(
            name="D2", vcpus=2, memory_gb=Decimal(8), price_per_hour=Decimal("0.1"), currency="EUR"
        )
        pool = Pool(
            name="p",
            display_name="P",
            max_sessions_per_host=10,
            load_balancing=LoadBalancing.BREADTH_FIRST,
            provider="sim",
            vm_size=size,
        )
        group = ServerGroup(name="g", display_name="G", provider="sim")
        session.add_all([pool, group])
    for pool_id, group_id in ((pool.id, group.id), (None, None)):
        with store.sessions() as session:
            session.add(
                Machine(
                    name="both",
                    pool_id=pool_id,
                    server_group_id=group_id,
                    provider="sim",
                    provider_id="both",
                    vm_size_id=size.id,
                    power_state=PowerState.OFF,
                )
            )
            with pytest.raises(IntegrityError):
                session.flush()


def test_power_states_are_stored_as_their_values(store: Store) -> None:
    with store.transaction() as session:
        size = VmSize(
            name="D2", vcpus=2, memory_gb=Decimal(8), price_per_hour=Decimal("0.1"), currency="EUR"
        )
        group = ServerGroup(name="g", display_name="G", provider="sim")
        session.add(
            Machine(
                name="m1",
                server_group=group,
                provider="sim",
                provider_id="m1",
                vm_size=size,
                power_state=PowerState.STARTING,
            )
        )
    with store.engine.connect() as connection:
        raw = connection.exec_driver_sql("SELECT power_state FROM machines").scalar_one()
    assert raw == "starting"
