"""A web app over a per-test database, and tokens to call it with."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from anyplace.clock import VirtualClock
from anyplace.identity.tokens import create_token
from anyplace.store.access import Store
from anyplace.store.models import User
from anyplace.web.app import create_app
from tests.conftest import settings_for


@pytest.fixture
def client(demo_store: Store, clock: VirtualClock) -> Iterator[TestClient]:
    app = create_app(settings_for(demo_store.url), engine=demo_store.engine, clock=clock)
    with TestClient(app) as test_client:
        yield test_client


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def admin_headers(demo_store: Store, clock: VirtualClock) -> dict[str, str]:
    with demo_store.transaction() as session:
        return bearer(create_token(session, clock, name="admin", admin=True).secret)


def user_headers(store: Store, clock: VirtualClock, department: str) -> tuple[str, dict[str, str]]:
    """A token for the first user of `department`, and that user's name."""
    with store.transaction() as session:
        user = session.scalars(
            select(User).where(User.department == department).order_by(User.id)
        ).first()
        assert user is not None
        token = create_token(session, clock, name=f"user {user.username}", admin=False, user=user)
        return user.username, bearer(token.secret)
