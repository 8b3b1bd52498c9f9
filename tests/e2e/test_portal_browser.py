"""The portal in a real browser: sign in by keyboard, search, favourite, launch, reconnect, admin.

Every main page is checked with axe-core for WCAG 2.1 AA: no violations.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from anyplace.store.models import Machine
from tests.e2e.conftest import (
    ONE_BACKEND,
    LiveServer,
    assert_accessible,
    screenshot,
    sign_in_with_keyboard,
)
from tests.web.portal.conftest import People
from tests.web.test_launches import bring_up

pytestmark = ONE_BACKEND


def test_sign_in_page_is_accessible_and_shows_the_demo_accounts(
    live: LiveServer, page: Page, people: People
) -> None:
    page.goto(f"{live.url}/login")
    expect(page.get_by_role("heading", name="Log ind på din arbejdsplads")).to_be_visible()
    expect(page.get_by_role("cell", name=people.carer)).to_be_visible()
    assert_accessible(page)
    screenshot(page, "signin")


def test_a_user_signs_in_searches_and_keeps_a_favourite(
    live: LiveServer, page: Page, people: People
) -> None:
    sign_in_with_keyboard(page, live.url, people.caseworker)
    expect(page.get_by_role("heading", name="Kontor og samarbejde")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Find et program").fill("regneark")
    expect(page.locator("li.app")).to_have_count(1)
    expect(page.locator('li.app[data-app="excel"]')).to_be_visible()
    assert page.url.endswith("/?q=regneark"), "the search is in the address, for back and reload"

    page.get_by_role("button", name="Favorit: Excel").click()
    page.get_by_label("Find et program").fill("")
    favourites = page.locator("section", has=page.get_by_role("heading", name="Favoritter"))
    expect(favourites.locator('li.app[data-app="excel"]')).to_be_visible()
    expect(page.get_by_role("button", name="Favorit: Excel").first).to_have_attribute(
        "aria-pressed", "true"
    )
    page.reload()
    expect(favourites.locator('li.app[data-app="excel"]')).to_be_visible()
    screenshot(page, "portal")


def test_launch_shows_progress_until_a_host_is_up_then_opens_html5(
    live: LiveServer, page: Page, people: People
) -> None:
    sign_in_with_keyboard(page, live.url, people.caseworker)
    page.get_by_role("button", name="Åbn Word i browseren").click()
    expect(page.get_by_text("Vi starter en server til dig ...")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "launch-starting")

    bring_up(live.store, live.clock, "gen-03")  # the power controller's work, done by hand
    # htmx polls every 2 s; once the host is up the app opens by itself.
    expect(page.get_by_role("heading", name="Her ville Apache Guacamole åbne")).to_be_visible()
    expect(page.get_by_role("cell", name="gen-03")).to_be_visible()
    expect(page.get_by_role("cell", name="||word")).to_be_visible()


def test_an_rdp_file_is_downloaded_and_the_session_can_be_reconnected(
    live: LiveServer, page: Page, people: People
) -> None:
    bring_up(live.store, live.clock, "gen-01")
    sign_in_with_keyboard(page, live.url, people.caseworker)
    page.get_by_role("button", name="RDP: åbn Word med Fjernskrivebord").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Hent RDP-filen").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert "full address:s:gen-01" in text
    assert "remoteapplicationmode:i:1" in text

    page.get_by_role("link", name="Mine sessioner").click()
    row = page.locator("tr", has_text="word")
    expect(row).to_contain_text("gen-01")
    assert_accessible(page)
    row.get_by_role("button", name="Genopret forbindelse").click()
    expect(page.get_by_text("på gen-01")).to_be_visible()


def test_an_admin_drains_a_host_from_the_pool_page(
    live: LiveServer, page: Page, people: People
) -> None:
    bring_up(live.store, live.clock, "gen-01", "gen-02")
    sign_in_with_keyboard(page, live.url, people.admin)
    page.get_by_role("link", name="Administration").click()
    page.get_by_role("link", name=re.compile("Generel")).first.click()
    expect(page.get_by_role("heading", name="I dag: sessioner og kapacitet")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("button", name="Tøm gen-01").click()
    expect(page.locator('tr[data-host="gen-01"] .drain-state')).to_have_text("vedligehold")
    screenshot(page, "admin-pool")
    with live.store.sessions() as session:
        assert session.scalars(select(Machine).where(Machine.name == "gen-01")).one().maintenance


def test_a_user_never_sees_the_admin_console(live: LiveServer, page: Page, people: People) -> None:
    sign_in_with_keyboard(page, live.url, people.carer)
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)
    response = page.goto(f"{live.url}/admin/pools")
    assert response is not None
    assert response.status == 403
