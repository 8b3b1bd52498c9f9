"""A microapp in the browser: an accessible form, a field shown by another, a live receipt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from anyplace.clock import SystemClock
from anyplace.store.access import Store
from anyplace.store.models import Group, User
from anyplace.web.app import create_app
from tests.e2e.conftest import ONE_BACKEND, assert_accessible, serve_app, sign_in_with_keyboard
from tests.microapps.examples import examples_for, with_microapps
from tests.peers.asgi import serve_asgi
from tests.peers.http_target import Target
from tests.peers.processes import free_port
from tests.web.portal.conftest import People, portal_settings

pytestmark = ONE_BACKEND


@pytest.fixture
def target() -> Iterator[tuple[Target, str]]:
    served = Target()
    with serve_asgi(served.app()) as url:
        yield served, url


@pytest.fixture
def forms_portal(
    demo_store: Store, tmp_path: Path, target: tuple[Target, str], people: People
) -> Iterator[str]:
    folder = examples_for(tmp_path / "microapps", target[1])
    settings = with_microapps(portal_settings(demo_store.url), folder, workers=1, poll_seconds=0.2)
    settings = settings.model_copy(
        update={"power": settings.power.model_copy(update={"enabled": False})}
    )
    with demo_store.transaction() as session:
        user = session.scalars(select(User).where(User.username == people.caseworker)).one()
        user.groups.append(
            session.scalars(select(Group).where(Group.name == "borgerservice")).one()
        )
    # The real clock: the delivery workers run in the background, as in production.
    app = create_app(settings, engine=demo_store.engine, clock=SystemClock(), background=True)
    with serve_app(app, free_port()) as url:
        yield url


def test_a_case_worker_registers_a_move_once_and_sees_it_delivered(
    forms_portal: str, page: Page, people: People, target: tuple[Target, str]
) -> None:
    sign_in_with_keyboard(page, forms_portal, people.caseworker)
    page.get_by_role("link", name="Formularer").click()
    page.get_by_role("link", name="Flytning").click()
    school = page.get_by_label("Barnets skole")
    expect(school).to_be_hidden()
    page.get_by_label("Har hjemmeboende børn").check()
    expect(school).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Borgerens CPR-nummer").fill("010170-1235")
    page.get_by_label("Ny adresse").fill("Torvet 1")
    page.get_by_label("Postnummer").fill("8600")
    page.locator("#f-by").fill("Silkeborg")
    page.get_by_label("Flyttedato").fill("2026-12-15")
    school.fill("Balleskolen")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name="Kvittering: Flytning")).to_be_visible()
    for system in ("folkeregister", "skole"):
        expect(page.locator(f'tr[data-target="{system}"] td.state-delivered')).to_be_visible()
    assert_accessible(page)
    served, _ = target
    paths = sorted(item["path"] for item in served.applied.values())
    assert paths == ["/folkeregister", "/folkeregister/skoleflytning"]
