"""Microapps in the portal: who sees which form, server-side checks, the live receipt, replay."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from anyplace.clock import VirtualClock
from anyplace.microapps.service import Microapps
from anyplace.store.access import Store
from anyplace.store.models import AuditEvent, Delivery, Group, User
from anyplace.web.app import create_app
from tests.microapps.examples import examples_for, with_microapps
from tests.peers.asgi import serve_asgi
from tests.peers.http_target import Target
from tests.web.portal.conftest import People, csrf_of, portal_settings, sign_in

MOVE = {
    "cpr": "010170-1235",
    "adresse": "Torvet 1",
    "postnummer": "8600",
    "by": "Silkeborg",
    "flyttedato": "2026-12-15",
}


@pytest.fixture
def target() -> Iterator[tuple[Target, str]]:
    served = Target()
    with serve_asgi(served.app()) as url:
        yield served, url


@pytest.fixture
def forms(
    demo_store: Store,
    clock: VirtualClock,
    tmp_path: Path,
    target: tuple[Target, str],
    people: People,
) -> Iterator[TestClient]:
    folder = examples_for(tmp_path / "microapps", target[1])
    settings = with_microapps(portal_settings(demo_store.url), folder, workers=0)
    with demo_store.transaction() as session:  # the case worker works in Borgerservice too
        user = session.scalars(select(User).where(User.username == people.caseworker)).one()
        user.groups.append(
            session.scalars(select(Group).where(Group.name == "borgerservice")).one()
        )
    with TestClient(
        create_app(settings, engine=demo_store.engine, clock=clock), base_url="http://localhost"
    ) as client:
        yield client


def deliver(client: TestClient) -> None:
    service: Microapps = client.app.state.microapps  # type: ignore[attr-defined]
    worker = service.worker()
    worker.rng = random.Random(1)
    worker.run_once()


def test_a_person_sees_only_the_forms_of_their_groups(forms: TestClient, people: People) -> None:
    sign_in(forms, people.caseworker)
    listing = forms.get("/microapps").text
    assert 'href="/microapps/flytning"' in listing
    assert 'href="/microapps/ny-medarbejder"' not in listing
    assert forms.get("/microapps/ny-medarbejder").status_code == 404


def test_the_form_is_checked_on_the_server_and_errors_are_shown_by_field(
    forms: TestClient, people: People
) -> None:
    sign_in(forms, people.caseworker)
    token = csrf_of(forms, "/microapps/flytning")
    answer = forms.post(
        "/microapps/flytning", data={**MOVE, "cpr": "320170-1234", "csrf_token": token}
    )
    assert answer.status_code == 400
    assert 'id="f-cpr-error"' in answer.text
    assert 'value="Torvet 1"' in answer.text, "what was typed is kept"
    assert forms.post("/microapps/flytning", data=MOVE).status_code == 403, "no CSRF token"


def test_a_submission_shows_a_live_receipt_and_reaches_the_system(
    forms: TestClient, people: People, demo_store: Store, target: tuple[Target, str]
) -> None:
    served, _ = target
    sign_in(forms, people.caseworker)
    token = csrf_of(forms, "/microapps/flytning")
    receipt = forms.post("/microapps/flytning", data={**MOVE, "csrf_token": token})
    assert receipt.status_code == 200
    assert "sending" in receipt.text or "sender" in receipt.text
    assert 'hx-trigger="every 2s"' in receipt.text
    deliver(forms)
    status = forms.get(str(receipt.url), headers={"HX-Request": "true"}).text
    assert "leveret" in status
    assert "every 2s" not in status, "nothing left to wait for"
    assert len(served.applied) == 1
    with demo_store.sessions() as session:
        views = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "submission-view")
        ).all()
        assert [v.subject for v in views] == ["010170-1235"], (
            "the page view is audited, not each refresh"
        )


def test_another_user_cannot_see_the_receipt(forms: TestClient, people: People) -> None:
    sign_in(forms, people.caseworker)
    token = csrf_of(forms, "/microapps/flytning")
    receipt = str(forms.post("/microapps/flytning", data={**MOVE, "csrf_token": token}).url)
    forms.cookies.clear()
    sign_in(forms, people.carer)
    assert forms.get(receipt).status_code == 404


def test_an_admin_replays_the_dead_letters(
    forms: TestClient, people: People, demo_store: Store, target: tuple[Target, str]
) -> None:
    served, _ = target
    served.fail_next, served.fail_status = 1, 400
    sign_in(forms, people.caseworker)
    token = csrf_of(forms, "/microapps/flytning")
    forms.post("/microapps/flytning", data={**MOVE, "csrf_token": token})
    deliver(forms)
    forms.cookies.clear()
    sign_in(forms, people.admin)
    page = forms.get("/admin/deliveries")
    assert "answered 400" in page.text
    token = csrf_of(forms, "/admin/deliveries")
    forms.post("/admin/deliveries/replay", data={"csrf_token": token, "every": "1"})
    deliver(forms)
    with demo_store.sessions() as session:
        assert {d.state for d in session.scalars(select(Delivery))} == {"delivered", "skipped"}
    assert len(served.applied) == 1


def test_a_lookup_prefills_a_field_from_a_system_and_is_audited(
    forms: TestClient, people: People, demo_store: Store, target: tuple[Target, str]
) -> None:
    served, _ = target
    served.documents["/cpr-register/borgere/010170-1235"] = {"navn": "Mette Jensen"}
    sign_in(forms, people.caseworker)
    form = forms.get("/microapps/flytning").text
    assert 'hx-get="/microapps/flytning/lookup/navn"' in form
    found = forms.get(
        "/microapps/flytning/lookup/navn?cpr=010170-1235", headers={"HX-Request": "true"}
    )
    assert 'id="f-navn"' in found.text
    assert 'value="Mette Jensen"' in found.text
    unknown = forms.get("/microapps/flytning/lookup/navn?cpr=020270-1234")
    assert 'value=""' in unknown.text, "not found: the person types it"
    with demo_store.sessions() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "microapp-lookup")
        ).all()
        assert [e.subject for e in events] == ["010170-1235", "020270-1234"]
