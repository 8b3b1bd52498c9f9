"""The simulator reads the same pools from the YAML folder as from the store."""

from __future__ import annotations

from anyplace.demo import demo_data_dir
from anyplace.importer import read_dataset
from anyplace.sim.setups import setups_from_dataset, setups_from_store
from anyplace.store.access import Store


def test_setups_from_the_store_match_the_files(demo_store: Store) -> None:
    from_files = {s.name: s for s in setups_from_dataset(read_dataset(demo_data_dir()))}
    with demo_store.sessions() as session:
        from_store = {s.name: s for s in setups_from_store(session)}
    assert set(from_store) == set(from_files) == {"generel", "gis", "legacy32", "hjemmepleje"}
    for name, expected in from_files.items():
        found = from_store[name]
        assert sorted(found.hosts) == sorted(expected.hosts)
        assert found.rules == expected.rules
        assert found.schedule.rules == expected.schedule.rules or set(found.schedule.rules) == set(
            expected.schedule.rules
        )
        assert (found.max_sessions, found.boot_minutes, found.price_per_hour) == (
            expected.max_sessions,
            expected.boot_minutes,
            expected.price_per_hour,
        )
