"""The admin console: who may use it, the estate by hand, the catalog, users and the audit log."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from anyplace.clock import VirtualClock
from anyplace.domain import PowerActionKind, PowerState
from anyplace.store.access import Store
from anyplace.store.models import App, AuditEvent, Machine, PowerAction, User
from tests.web.portal.conftest import People, csrf_of, sign_in
from tests.web.test_launches import bring_up

ADMIN_PAGES = (
    "/admin/pools",
    "/admin/pools/generel",
    "/admin/apps",
    "/admin/apps/word",
    "/admin/apps/new",
    "/admin/users",
    "/admin/groups",
    "/admin/audit",
)


def audit(store: Store, action: str) -> list[AuditEvent]:
    with store.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_admin_pages_are_for_admins_only(portal: TestClient, people: People) -> None:
    for path in ADMIN_PAGES:
        assert portal.get(path, follow_redirects=False).status_code == 303, path
    sign_in(portal, people.carer)
    assert "/admin/pools" not in portal.get("/").text, "no admin link for a user"
    for path in ADMIN_PAGES:
        assert portal.get(path).status_code == 403, path
    token = csrf_of(portal)
    refused = portal.post("/admin/hosts/gen-01/maintenance", data={"csrf_token": token, "on": "1"})
    assert refused.status_code == 403
    portal.cookies.clear()
    sign_in(portal, people.admin)
    for path in ADMIN_PAGES:
        assert portal.get(path).status_code == 200, path


def test_draining_a_host_by_hand_keeps_new_sessions_off_it_and_is_audited(
    portal: TestClient, people: People, demo_store: Store, clock: VirtualClock
) -> None:
    bring_up(demo_store, clock, "gen-01")
    sign_in(portal, people.admin)
    token = csrf_of(portal, "/admin/pools/generel")
    answer = portal.post("/admin/hosts/gen-01/maintenance", data={"csrf_token": token, "on": "1"})
    assert answer.url.path == "/admin/pools/generel"
    row = answer.text.split('data-host="gen-01"')[1].split("</tr>")[0]
    assert "vedligehold" in row
    with demo_store.sessions() as session:
        assert session.scalars(select(Machine).where(Machine.name == "gen-01")).one().maintenance
    [event] = audit(demo_store, "host-drain")
    assert (event.actor, event.object_id) == (people.admin, "gen-01")

    portal.post("/admin/hosts/gen-01/maintenance", data={"csrf_token": token, "on": "0"})
    with demo_store.sessions() as session:
        assert (
            not session.scalars(select(Machine).where(Machine.name == "gen-01")).one().maintenance
        )
    assert len(audit(demo_store, "host-undrain")) == 1


def test_start_and_stop_by_hand_are_power_actions_for_the_controller(
    portal: TestClient, people: People, demo_store: Store
) -> None:
    sign_in(portal, people.admin)
    token = csrf_of(portal, "/admin/pools/generel")
    portal.post("/admin/hosts/gen-05/power", data={"csrf_token": token, "action": "start"})
    twice = portal.post("/admin/hosts/gen-05/power", data={"csrf_token": token, "action": "start"})
    assert twice.status_code == 409, "one start or stop at a time"
    with demo_store.sessions() as session:
        action = session.scalars(select(PowerAction)).one()
        assert action.action is PowerActionKind.START
        assert action.machine.name == "gen-05"
        assert action.machine.maintenance, "the schedule must not undo a start by hand"
    assert len(audit(demo_store, "host-start")) == 1


def test_the_pool_page_charts_today_and_shows_cost_and_co2(
    portal: TestClient, people: People, demo_store: Store, clock: VirtualClock
) -> None:
    bring_up(demo_store, clock, "gen-01")
    with demo_store.transaction() as session:
        host = session.scalars(select(Machine).where(Machine.name == "gen-01")).one()
        assert host.power_state is PowerState.ON
    sign_in(portal, people.admin)
    page = portal.get("/admin/pools/generel")
    assert "<polyline" in page.text
    assert "I dag" in page.text
    assert "CO₂" in page.text


def test_an_app_made_in_the_console_obeys_the_loader_rules(
    portal: TestClient, people: People, demo_store: Store
) -> None:
    sign_in(portal, people.admin)
    token = csrf_of(portal, "/admin/apps/new")
    bad = portal.post(
        "/admin/apps",
        data={
            "csrf_token": token,
            "slug": "kortet",
            "da": "Kortet",
            "en": "The map",
            "category": "teknik",
            "kind": "hosted",
            "pool": "",
            "groups": ["alle"],
        },
    )
    assert bad.status_code == 400
    assert "needs a pool" in bad.text
    good = portal.post(
        "/admin/apps",
        data={
            "csrf_token": token,
            "slug": "kortet",
            "da": "Kortet",
            "en": "The map",
            "category": "teknik",
            "kind": "hosted",
            "pool": "gis",
            "program": "||kort",
            "groups": ["gis-brugere", "ledere"],
        },
    )
    assert good.status_code == 200
    with demo_store.sessions() as session:
        app = session.scalars(select(App).where(App.slug == "kortet")).one()
        assert sorted(g.name for g in app.groups) == ["gis-brugere", "ledere"]
    [event] = audit(demo_store, "app-create")
    assert event.details == {"groups": ["gis-brugere", "ledere"]}


def test_a_csv_import_with_one_bad_line_changes_nothing(
    portal: TestClient, people: People, demo_store: Store
) -> None:
    sign_in(portal, people.admin)
    token = csrf_of(portal, "/admin/apps")
    csv = (
        "slug,da,en,category,kind,pool,program,url,groups,keywords\n"
        "ny-web,Ny side,New site,web,web,,,https://ny.example.dk,alle,nyt;side\n"
        "ny-host,Nyt program,New app,kontor,hosted,generel,,,alle;ledere,\n"
        "ny-to,Andet,Other,kontor,web,,,https://to.example.dk,no-such-group,\n"
    )
    refused = portal.post(
        "/admin/apps/import",
        data={"csrf_token": token},
        files={"file": ("apps.csv", csv.encode(), "text/csv")},
    )
    assert refused.status_code == 400
    assert "line 3" in refused.text
    assert "needs a program" in refused.text
    with demo_store.sessions() as session:
        assert session.scalar(select(App).where(App.slug.like("ny-%"))) is None

    fixed = csv.replace("generel,,,alle;ledere", "generel,||nyt,,alle;ledere").replace(
        "no-such-group", "alle"
    )
    done = portal.post(
        "/admin/apps/import",
        data={"csrf_token": token},
        files={"file": ("apps.csv", fixed.encode(), "text/csv")},
    )
    assert done.status_code == 200
    assert "3 programmer importeret" in done.text
    with demo_store.sessions() as session:
        web = session.scalars(select(App).where(App.slug == "ny-web")).one()
        assert web.keywords == ["nyt", "side"]
    [event] = audit(demo_store, "apps-import")
    assert event.details["created"] == 3


def test_disabling_a_user_signs_them_out_and_is_audited(
    portal: TestClient, people: People, demo_store: Store
) -> None:
    sign_in(portal, people.admin)
    token = csrf_of(portal, "/admin/users")
    page = portal.post(f"/admin/users/{people.carer}/active", data={"csrf_token": token, "on": "0"})
    assert "spærret" in page.text
    with demo_store.sessions() as session:
        assert (
            not session.scalars(select(User).where(User.username == people.carer)).one().is_active
        )
    own = portal.post(f"/admin/users/{people.admin}/active", data={"csrf_token": token, "on": "0"})
    assert own.status_code == 409
    assert len(audit(demo_store, "user-disable")) == 1


def test_the_audit_log_filters_by_who_and_what(
    portal: TestClient, people: People, demo_store: Store
) -> None:
    sign_in(portal, people.carer)
    portal.cookies.clear()
    sign_in(portal, people.admin)
    token = csrf_of(portal, "/admin/pools/generel")
    portal.post("/admin/hosts/gen-02/maintenance", data={"csrf_token": token, "on": "1"})
    mine = portal.get(f"/admin/audit?actor={people.admin}").text
    assert "host-drain" in mine
    assert people.carer not in mine.split("<tbody>")[1]
    drains = portal.get("/admin/audit?action=host-drain").text.split("<tbody>")[1]
    assert "sign-in" not in drains
