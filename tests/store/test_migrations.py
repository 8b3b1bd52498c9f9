"""The schema is made by migrations, upgrades keep data, and the models match the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text

from anyplace.clock import VirtualClock
from anyplace.identity.tokens import authenticate_token, create_token
from anyplace.store.access import Store
from anyplace.store.migrate import current_revision, head_revision, is_current, upgrade
from anyplace.store.models import Base, Machine, User


def test_upgrade_from_empty_reaches_head_with_every_table(empty_store: Store) -> None:
    assert current_revision(empty_store.engine) is None
    upgrade(empty_store.engine)
    assert is_current(empty_store.engine)
    tables = set(inspect(empty_store.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_models_match_the_migrated_schema(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrade_from_the_first_revision_keeps_data(
    empty_store: Store, clock: VirtualClock
) -> None:
    upgrade(empty_store.engine, "0001")
    with empty_store.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (username, display_name, source, is_active, created_at) "
                "VALUES ('anni', 'Anne Nielsen', 'local', true, :at)"
            ),
            {"at": clock.now()},
        )
        for statement in (
            "INSERT INTO vm_sizes (id, name, vcpus, memory_gb, price_per_hour, "
            "disk_price_per_hour, currency) VALUES (1, 'D2', 2, 8, 0.1, 0, 'EUR')",
            "INSERT INTO server_groups (id, name, display_name, provider) "
            "VALUES (1, 'dc', 'DC', 'sim')",
            "INSERT INTO machines (name, server_group_id, provider, provider_id, vm_size_id, "
            "power_state, start_order, drain, maintenance) "
            "VALUES ('dc01', 1, 'sim', 'dc01', 1, 'on', 0, false, false)",
        ):
            connection.execute(text(statement))
    assert "api_tokens" not in inspect(empty_store.engine).get_table_names()

    upgrade(empty_store.engine)

    assert current_revision(empty_store.engine) == head_revision()
    with empty_store.transaction() as session:
        machine = session.scalars(select(Machine)).one()
        assert (machine.name, machine.drain_by_policy, machine.logoff_notice_at) == (
            "dc01",
            False,
            None,
        )
        user = session.scalars(select(User)).one()
        assert (user.username, user.display_name, user.created_at) == (
            "anni",
            "Anne Nielsen",
            clock.now(),
        )
        token = create_token(session, clock, name="after upgrade", admin=False, user=user)
    with empty_store.transaction() as session:
        found = authenticate_token(session, clock, token.secret)
        assert found is not None
        assert found.user is not None
        assert found.user.username == "anni"


def test_upgrading_twice_changes_nothing(store: Store) -> None:
    before = set(inspect(store.engine).get_table_names())
    upgrade(store.engine)
    assert set(inspect(store.engine).get_table_names()) == before
    assert is_current(store.engine)
