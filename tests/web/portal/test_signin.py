"""Signing in with a local account: sessions, CSRF, throttling, timeouts and sign-out."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from anyplace.clock import VirtualClock
from anyplace.store.access import Store
from anyplace.store.models import AuditEvent, User
from anyplace.web.app import create_app
from tests.web.portal.conftest import (
    PASSWORD,
    People,
    csrf_of,
    portal_settings,
    sign_in,
    signin_token,
)


def test_a_visitor_is_sent_to_sign_in_and_back_to_the_page_they_wanted(
    portal: TestClient, people: People
) -> None:
    answer = portal.get("/sessions", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/sessions"
    sign_in(portal, people.carer, next_url="/sessions")
    assert portal.get("/sessions").status_code == 200


def test_the_session_cookie_is_http_only_and_same_site(portal: TestClient, people: People) -> None:
    token = signin_token(portal)
    answer = portal.post(
        "/login",
        data={"username": people.carer, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "anyplace_session" in v
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie, "on localhost the portal also works over plain http"


def test_the_cookie_is_secure_and_hsts_is_sent_away_from_localhost(
    portal: TestClient, people: People
) -> None:
    page = portal.get("/login", headers={"host": "portal.kommune.dk"})
    assert page.headers["strict-transport-security"].startswith("max-age=")
    assert "Secure" in page.headers["set-cookie"]
    assert "strict-transport-security" not in portal.get("/login").headers


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    portal: TestClient, people: People
) -> None:
    token = signin_token(portal)
    for username in (people.carer, "nobody-by-this-name"):
        answer = portal.post(
            "/login", data={"username": username, "password": "wrong-password", "csrf_token": token}
        )
        assert answer.status_code == 401
        assert "Forkert brugernavn eller adgangskode" in answer.text
    assert portal.get("/", follow_redirects=False).status_code == 303


def test_the_sign_in_form_needs_its_own_csrf_token(portal: TestClient, people: People) -> None:
    signin_token(portal)
    answer = portal.post("/login", data={"username": people.carer, "password": PASSWORD})
    assert answer.status_code == 403
    assert portal.get("/", follow_redirects=False).status_code == 303


def test_guessing_passwords_is_slowed_down_even_for_the_right_one(
    portal: TestClient, people: People, clock: VirtualClock
) -> None:
    token = signin_token(portal)
    form = {"username": people.carer, "csrf_token": token}
    for _ in range(5):
        assert portal.post("/login", data={**form, "password": "guess"}).status_code == 401
    slowed = portal.post("/login", data={**form, "password": PASSWORD})
    assert slowed.status_code == 429
    wait = int(slowed.headers["retry-after"])
    assert 1 <= wait <= 15 * 60
    clock.advance(timedelta(seconds=wait))
    token = signin_token(portal)
    answer = portal.post(
        "/login",
        data={"username": people.carer, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303


def test_the_wait_grows_with_each_further_failure(
    portal: TestClient, people: People, clock: VirtualClock
) -> None:
    token = signin_token(portal)
    form = {"username": people.carer, "csrf_token": token, "password": "guess"}
    waits = []
    for _ in range(5):
        portal.post("/login", data=form)
    for _ in range(3):
        slowed = portal.post("/login", data=form)
        assert slowed.status_code == 429
        wait = int(slowed.headers["retry-after"])
        waits.append(wait)
        clock.advance(timedelta(seconds=wait))
        assert portal.post("/login", data=form).status_code == 401  # counted again
    assert waits == sorted(waits)
    assert waits[-1] > waits[0]


def test_a_session_ends_when_idle_and_after_the_working_day(
    portal: TestClient, people: People, clock: VirtualClock
) -> None:
    sign_in(portal, people.carer)
    clock.advance(timedelta(minutes=59))
    assert portal.get("/", follow_redirects=False).status_code == 200
    clock.advance(timedelta(minutes=61))
    assert portal.get("/", follow_redirects=False).status_code == 303, "idle for an hour"

    sign_in(portal, people.carer)
    for _ in range(11):  # busy all day: each request within the idle limit
        clock.advance(timedelta(minutes=55))
        status = portal.get("/", follow_redirects=False).status_code
    assert status == 303, "however busy, a session ends 10 hours after sign-in"


def test_sign_out_everywhere_ends_the_other_browsers_too(
    portal: TestClient, people: People, demo_store: Store, clock: VirtualClock
) -> None:
    other = TestClient(
        create_app(portal_settings(demo_store.url), engine=demo_store.engine, clock=clock),
        base_url="http://localhost",
    )
    sign_in(portal, people.carer)
    sign_in(other, people.carer)
    token = csrf_of(portal)
    assert (
        portal.post(
            "/logout/everywhere", data={"csrf_token": token}, follow_redirects=False
        ).status_code
        == 303
    )
    assert portal.get("/", follow_redirects=False).status_code == 303
    assert other.get("/", follow_redirects=False).status_code == 303


def test_sign_out_needs_the_csrf_token(portal: TestClient, people: People) -> None:
    sign_in(portal, people.carer)
    assert portal.post("/logout").status_code == 403
    assert portal.get("/", follow_redirects=False).status_code == 200, "still signed in"
    token = csrf_of(portal)
    assert (
        portal.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    assert portal.get("/", follow_redirects=False).status_code == 303


def test_a_disabled_user_is_signed_out_and_cannot_sign_in(
    portal: TestClient, people: People, demo_store: Store
) -> None:
    sign_in(portal, people.carer)
    with demo_store.transaction() as session:
        session.scalars(select(User).where(User.username == people.carer)).one().is_active = False
    assert portal.get("/", follow_redirects=False).status_code == 303
    token = signin_token(portal)
    answer = portal.post(
        "/login", data={"username": people.carer, "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 401


def test_sign_ins_are_audited(portal: TestClient, people: People, demo_store: Store) -> None:
    sign_in(portal, people.carer)
    with demo_store.sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.actor == people.carer)).all()
    assert [(e.action, e.details) for e in events] == [("sign-in", {"method": "local"})]


def test_the_next_address_never_leads_off_the_site(portal: TestClient, people: People) -> None:
    token = signin_token(portal)
    answer = portal.post(
        "/login",
        data={
            "username": people.carer,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/phish",
        },
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"
