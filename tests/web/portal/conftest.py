"""A portal over a per-test demo database, and people who can sign in to it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import ColumnElement, select

from anyplace.clock import VirtualClock
from anyplace.config import AuthSettings, BrokerSettings, DatabaseSettings, Settings
from anyplace.identity.passwords import hash_password
from anyplace.store.access import Store
from anyplace.store.models import Group, User
from anyplace.web.app import create_app

PASSWORD = "correct horse battery"
GUAC_KEY = "4c0b569e4c96df157eee1b65dd0e4d41"
_HASH = hash_password(PASSWORD)


@dataclass(frozen=True)
class People:
    carer: str
    """A home carer: a few apps."""
    caseworker: str
    """A job-centre case worker: other apps."""
    admin: str
    """An IT administrator."""


@pytest.fixture
def people(demo_store: Store) -> People:
    return choose_people(demo_store)


def choose_people(demo_store: Store) -> People:
    """A user of each kind from the demo, each given the test password."""
    with demo_store.transaction() as session:

        def first(condition: ColumnElement[bool]) -> str:
            user = session.scalars(select(User).where(condition).order_by(User.username)).first()
            assert user is not None
            user.password_hash = _HASH
            return user.username

        return People(
            carer=first(User.department == "hjemmepleje"),
            caseworker=first(User.department == "jobcenter"),
            admin=first(User.groups.any(Group.name == "it-admins")),
        )


def portal_settings(url: str, **auth: object) -> Settings:
    return Settings(
        database=DatabaseSettings(url=url),
        broker=BrokerSettings(
            guacamole_url="https://guac.kommune.dk/guacamole", guacamole_key=SecretStr(GUAC_KEY)
        ),
        auth=AuthSettings.model_validate(auth),
    )


@pytest.fixture
def portal(demo_store: Store, clock: VirtualClock) -> Iterator[TestClient]:
    app = create_app(portal_settings(demo_store.url), engine=demo_store.engine, clock=clock)
    with TestClient(app, base_url="http://localhost") as client:
        yield client


def signin_token(client: TestClient, next_url: str = "/") -> str:
    page = client.get(f"/login?next={next_url}")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def sign_in(
    client: TestClient, username: str, password: str = PASSWORD, next_url: str = "/"
) -> None:
    token = signin_token(client, next_url)
    answer = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_url},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == next_url


def csrf_of(client: TestClient, path: str = "/") -> str:
    """The signed-in session's CSRF token, as the page hands it to htmx."""
    page = client.get(path)
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)
