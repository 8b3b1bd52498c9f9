"""Loading into the store: everything arrives, reloading is idempotent, updates apply."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from anyplace.catalog.queries import list_apps
from anyplace.clock import VirtualClock
from anyplace.demo import demo_data_dir
from anyplace.domain import PowerState
from anyplace.importer import apply_dataset, read_dataset
from anyplace.store.access import Store
from anyplace.store.models import App, Machine, Pool, PowerPolicy, User


def test_demo_loads_completely(demo_store: Store) -> None:
    with demo_store.sessions() as session:
        assert session.scalar(select(func.count(User.id))) == 1600
        assert session.scalar(select(func.count(App.id))) == 250
        hosts = session.scalar(select(func.count(Machine.id)).where(Machine.pool_id.is_not(None)))
        servers = session.scalar(
            select(func.count(Machine.id)).where(Machine.server_group_id.is_not(None))
        )
        assert (hosts, servers) == (86, 100)
        policy = session.scalars(select(PowerPolicy).where(PowerPolicy.name == "kontortid")).one()
        assert {phase.phase.value for phase in policy.phases} == {
            "ramp_up",
            "peak",
            "ramp_down",
            "off_peak",
        }


def test_reloading_the_same_folder_changes_nothing(demo_store: Store, clock: VirtualClock) -> None:
    with demo_store.transaction() as session:
        summary = apply_dataset(session, read_dataset(demo_data_dir()), clock)
    assert summary.total("created") == 0
    assert summary.total("updated") == 0
    assert summary.counts["users"]["unchanged"] == 1600


def test_a_changed_file_updates_only_what_changed(
    demo_store: Store, clock: VirtualClock, tmp_path: Path
) -> None:
    for source in demo_data_dir().glob("*.yaml"):
        text = source.read_text(encoding="utf-8")
        if source.name == "apps.yaml":
            assert 'da: "Lønsystem",' in text
            text = text.replace('da: "Lønsystem",', 'da: "Løn og honorar",')
        (tmp_path / source.name).write_text(text, encoding="utf-8")
    with demo_store.sessions() as session:
        gen01 = session.scalars(select(Machine).where(Machine.name == "gen-01")).one()
        gen01.power_state = PowerState.ON  # what the provider said
        session.commit()
    with demo_store.transaction() as session:
        summary = apply_dataset(session, read_dataset(tmp_path), clock)
    assert summary.counts["apps"]["updated"] == 1
    assert summary.total("updated") == 1
    with demo_store.sessions() as session:
        app = session.scalars(select(App).where(App.slug == "lonsystem")).one()
        assert app.name_da == "Løn og honorar"
        gen01 = session.scalars(select(Machine).where(Machine.name == "gen-01")).one()
        assert gen01.power_state is PowerState.ON, "loading never overrides the provider's state"


def test_entitlements_decide_which_apps_a_user_sees(demo_store: Store) -> None:
    with demo_store.sessions() as session:
        users = session.scalars(select(User).where(User.department.in_(["hjemmepleje", "it"])))
        by_department: dict[str, User] = {}
        for user in users:
            by_department.setdefault(user.department or "", user)
        carer, it_person = by_department["hjemmepleje"], by_department["it"]
        carer_apps = {app.slug for app in list_apps(session, user=carer)}
        it_apps = {app.slug for app in list_apps(session, user=it_person)}
        all_apps = {app.slug for app in list_apps(session)}
    assert "omsorgsjournal" in carer_apps
    assert "omsorgsjournal" not in it_apps
    assert {"word", "outlook"} <= carer_apps & it_apps
    assert carer_apps < all_apps
    assert len(all_apps) == 250


def test_pools_reference_their_policy_and_size(demo_store: Store) -> None:
    with demo_store.sessions() as session:
        pool = session.scalars(select(Pool).where(Pool.name == "hjemmepleje")).one()
        assert pool.power_policy is not None
        assert pool.power_policy.name == "dognet"
        assert pool.power_policy.holidays_country is None
        assert pool.vm_size.name == "Standard_D8s_v5"
        assert len(pool.hosts) == 14
