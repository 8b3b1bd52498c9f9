"""The portal as a user sees it: their apps, search, favourites, launching and their sessions."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

from fastapi.testclient import TestClient
from sqlalchemy import select

from anyplace.broker.guacamole import decrypt_token
from anyplace.clock import VirtualClock
from anyplace.domain import SessionState
from anyplace.store.access import Store
from anyplace.store.models import App, Launch, PowerAction, User
from anyplace.store.models import Session as UserSession
from tests.web.portal.conftest import GUAC_KEY, People, csrf_of, sign_in
from tests.web.test_launches import bring_up

HTMX = {"HX-Request": "true"}


def entitled_slugs(store: Store, username: str) -> set[str]:
    with store.sessions() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return {app.slug for group in user.groups for app in group.apps if app.enabled}


def test_the_grid_shows_exactly_the_apps_the_user_is_entitled_to(
    portal: TestClient, people: People, demo_store: Store
) -> None:
    sign_in(portal, people.carer)
    page = portal.get("/")
    shown = set(re.findall(r'data-app="([^"]+)"', page.text))
    expected = entitled_slugs(demo_store, people.carer)
    assert shown == expected
    with demo_store.sessions() as session:
        everything = set(session.scalars(select(App.slug)))
    assert everything - expected, "the demo has apps this user may not see"


def test_search_finds_apps_by_name_keyword_and_category_in_either_language(
    portal: TestClient, people: People
) -> None:
    sign_in(portal, people.admin)
    by_keyword = portal.get("/?q=regneark", headers=HTMX)  # Excel's keyword
    assert 'data-app="excel"' in by_keyword.text
    assert 'data-app="word"' not in by_keyword.text
    assert "<html" not in by_keyword.text, "htmx gets the grid alone"
    by_english_name = portal.get("/?q=pdf reader", headers=HTMX)
    assert 'data-app="adobe-reader"' in by_english_name.text
    without_accents = portal.get("/?q=okonomi", headers=HTMX)  # finds "Økonomi og indkøb"
    assert "Økonomi" in without_accents.text
    nothing = portal.get("/?q=zzzz-no-such-app", headers=HTMX)
    assert "Intet program passer til din søgning" in nothing.text
    full_page = portal.get("/?q=regneark")
    assert "<html" in full_page.text
    assert 'value="regneark"' in full_page.text


def test_a_favourite_is_kept_and_shown_first(portal: TestClient, people: People) -> None:
    sign_in(portal, people.carer)
    token = csrf_of(portal)
    assert "Favoritter" not in portal.get("/").text
    starred = portal.post("/apps/word/favourite", data={"csrf_token": token}, headers=HTMX)
    assert starred.status_code == 200
    favourites = starred.text.split('id="h-favourites"')[1].split("</section>")[0]
    assert 'data-app="word"' in favourites
    assert 'aria-pressed="true"' in favourites
    portal.post("/apps/word/favourite", data={"csrf_token": token}, headers=HTMX)
    assert "Favoritter" not in portal.get("/").text


def test_no_form_is_accepted_without_the_csrf_token(portal: TestClient, people: People) -> None:
    sign_in(portal, people.carer)
    for path in ("/apps/word/favourite", "/apps/word/launch", "/logout/everywhere"):
        refused = portal.post(path, data={"client": "rdp"}, follow_redirects=False)
        assert refused.status_code == 403, path
        wrong = portal.post(path, data={"csrf_token": "forged"}, follow_redirects=False)
        assert wrong.status_code == 403, path
    assert "Favoritter" not in portal.get("/").text


def test_a_user_cannot_open_an_app_they_are_not_entitled_to(
    portal: TestClient, people: People, demo_store: Store
) -> None:
    sign_in(portal, people.carer)
    with demo_store.sessions() as session:
        others = set(session.scalars(select(App.slug).where(App.enabled)))
    forbidden = sorted(others - entitled_slugs(demo_store, people.carer))[0]
    token = csrf_of(portal)
    answer = portal.post(f"/apps/{forbidden}/launch", data={"csrf_token": token})
    assert answer.status_code == 403
    assert "Du har ikke adgang" in answer.text


def test_launch_shows_progress_while_a_host_starts_then_opens_in_guacamole_once(
    portal: TestClient, people: People, demo_store: Store, clock: VirtualClock
) -> None:
    sign_in(portal, people.caseworker)
    token = csrf_of(portal)
    started = portal.post("/apps/word/launch", data={"csrf_token": token, "client": "html5"})
    assert started.status_code == 200
    assert "Vi starter en server til dig" in started.text
    assert 'hx-trigger="every 2s"' in started.text
    launch_path = urlparse(str(started.url)).path

    bring_up(demo_store, clock, "gen-01")
    ready = portal.get(launch_path, headers=HTMX)
    assert "Klar" in ready.text
    assert "every 2s" not in ready.text, "polling stops when ready"
    link = ready.text.split('id="open-link" href="')[1].split('"')[0].replace("&amp;", "&")
    assert ready.headers["hx-redirect"] == link, "the browser opens the app by itself"
    opened = portal.get(link, follow_redirects=False)
    assert opened.status_code == 303
    target = urlparse(opened.headers["location"])
    assert target.netloc == "guac.kommune.dk"
    payload = decrypt_token(parse_qs(target.query)["data"][0], GUAC_KEY)
    assert payload["username"] == people.caseworker
    assert payload["connections"]["Word"]["parameters"]["hostname"] == "gen-01"
    again = portal.get(link, follow_redirects=False)
    assert again.status_code == 410
    assert "Linket er brugt eller udløbet" in again.text


def test_an_rdp_launch_on_a_running_host_downloads_the_file(
    portal: TestClient, people: People, demo_store: Store, clock: VirtualClock
) -> None:
    bring_up(demo_store, clock, "gen-01")
    sign_in(portal, people.caseworker)
    token = csrf_of(portal)
    page = portal.post("/apps/excel/launch", data={"csrf_token": token, "client": "rdp"})
    assert "Hent RDP-filen" in page.text
    link = page.text.split('id="open-link" href="')[1].split('"')[0].replace("&amp;", "&")
    rdp = portal.get(link)
    assert rdp.headers["content-type"].startswith("application/x-rdp")
    assert "remoteapplicationprogram:s:||excel" in rdp.text


def test_reconnect_goes_back_to_the_same_session_and_log_off_asks_the_agent(
    portal: TestClient, people: People, demo_store: Store, clock: VirtualClock
) -> None:
    bring_up(demo_store, clock, "gen-01", "gen-02")
    sign_in(portal, people.caseworker)
    token = csrf_of(portal)
    portal.post("/apps/word/launch", data={"csrf_token": token, "client": "rdp"})
    with demo_store.transaction() as session:
        row = session.scalars(select(UserSession)).one()
        row.state, row.external_id = SessionState.DISCONNECTED, "7"
        session_id, host = row.id, row.machine_id
    listing = portal.get("/sessions")
    assert f'data-session="{session_id}"' in listing.text
    assert "afbrudt" in listing.text
    portal.post(f"/sessions/{session_id}/reconnect", data={"csrf_token": token, "client": "rdp"})
    with demo_store.sessions() as session:
        launches = session.scalars(select(Launch).order_by(Launch.id)).all()
        assert [launch.session_id for launch in launches] == [session_id, session_id]
        assert session.scalar(select(UserSession.machine_id)) == host

    portal.post(f"/sessions/{session_id}/logoff", data={"csrf_token": token})
    with demo_store.sessions() as session:
        action = session.scalars(
            select(PowerAction).where(PowerAction.session_id == session_id)
        ).one()
        assert action.action.value == "logoff"


def test_a_user_cannot_reach_another_users_session_or_launch(
    portal: TestClient, people: People, demo_store: Store, clock: VirtualClock
) -> None:
    bring_up(demo_store, clock, "gen-01")
    sign_in(portal, people.caseworker)
    portal.post("/apps/word/launch", data={"csrf_token": csrf_of(portal), "client": "rdp"})
    with demo_store.sessions() as session:
        session_id = session.scalars(select(UserSession.id)).one()
        launch_id = session.scalars(select(Launch.id)).one()
    portal.cookies.clear()
    sign_in(portal, people.carer)
    token = csrf_of(portal)
    assert f'data-session="{session_id}"' not in portal.get("/sessions").text
    assert (
        portal.post(f"/sessions/{session_id}/logoff", data={"csrf_token": token}).status_code == 404
    )
    assert (
        portal.post(f"/sessions/{session_id}/reconnect", data={"csrf_token": token}).status_code
        == 404
    )
    assert portal.get(f"/launches/{launch_id}").status_code == 404
    with demo_store.sessions() as session:
        assert session.scalar(select(PowerAction.id)) is None


def test_recently_used_apps_are_listed(
    portal: TestClient, people: People, clock: VirtualClock
) -> None:
    sign_in(portal, people.caseworker)
    token = csrf_of(portal)
    for slug in ("word", "excel"):
        portal.post(f"/apps/{slug}/launch", data={"csrf_token": token, "client": "rdp"})
        clock.advance(timedelta(minutes=1))
    recent = portal.get("/").text.split('id="h-recent"')[1].split("</section>")[0]
    assert recent.index('data-app="excel"') < recent.index('data-app="word"')
