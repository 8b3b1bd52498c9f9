"""Sign-in with OpenID Connect against a real provider (oidc-provider), as with Entra ID."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from anyplace.clock import VirtualClock
from anyplace.config import OidcSettings
from anyplace.domain import IdentitySource
from anyplace.identity.oidc import OidcClient, OidcError
from anyplace.store.access import Store
from anyplace.store.models import Group, User
from anyplace.web.app import create_app
from tests.peers.oidc import (
    CLIENT_ID,
    CLIENT_SECRET,
    OidcProvider,
    pass_through_provider,
    run_provider,
)
from tests.web.portal.conftest import portal_settings

CALLBACK = "http://localhost/auth/oidc/callback"
JOBCENTER_OBJECT_ID = "5f1c3a2e-8d4b-4e1a-9c77-0b8f6a1d2e3f"
ACCOUNTS = {
    "mette.oidc": {
        "name": "Mette Jensen",
        "email": "mette@kommune.dk",
        "groups": [JOBCENTER_OBJECT_ID, "alle"],
    },
}


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    with run_provider([CALLBACK], ACCOUNTS) as running:
        yield running


def oidc_settings(provider: OidcProvider) -> OidcSettings:
    return OidcSettings(
        enabled=True,
        issuer=provider.issuer,
        client_id=CLIENT_ID,
        client_secret=SecretStr(CLIENT_SECRET),
        scopes="openid profile email groups",
        label="Entra ID",
    )


@pytest.fixture
def oidc_portal(
    demo_store: Store, clock: VirtualClock, provider: OidcProvider
) -> Iterator[TestClient]:
    settings = portal_settings(demo_store.url).model_copy(update={"oidc": oidc_settings(provider)})
    with demo_store.transaction() as session:
        group = session.scalars(select(Group).where(Group.name == "jobcenter")).one()
        group.external_id = JOBCENTER_OBJECT_ID  # as Entra ID names it
    app = create_app(settings, engine=demo_store.engine, clock=clock)
    with TestClient(app, base_url="http://localhost") as client:
        yield client


def start(portal: TestClient, next_url: str = "/") -> str:
    answer = portal.get(f"/login/oidc?next={next_url}", follow_redirects=False)
    assert answer.status_code == 302
    return str(answer.headers["location"])


def test_the_sign_in_page_offers_the_provider(oidc_portal: TestClient) -> None:
    assert "Log ind med Entra ID" in oidc_portal.get("/login").text


def test_a_user_signs_in_with_the_provider_and_gets_the_apps_of_their_groups(
    oidc_portal: TestClient, demo_store: Store
) -> None:
    authorize = start(oidc_portal, "/sessions")
    query = parse_qs(urlparse(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["nonce"]
    assert query["state"]
    back = pass_through_provider(authorize, "mette.oidc", CALLBACK)
    answer = oidc_portal.get(back.removeprefix("http://localhost"), follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/sessions"
    with demo_store.sessions() as session:
        user = session.scalars(select(User).where(User.username == "mette.oidc")).one()
        assert user.source is IdentitySource.OIDC
        assert (user.display_name, user.email) == ("Mette Jensen", "mette@kommune.dk")
        assert sorted(g.name for g in user.groups) == ["alle", "jobcenter"]
    grid = oidc_portal.get("/").text
    assert 'data-app="word"' in grid


def test_a_wrong_state_is_refused(oidc_portal: TestClient, demo_store: Store) -> None:
    back = pass_through_provider(start(oidc_portal), "mette.oidc", CALLBACK)
    params = parse_qs(urlparse(back).query)
    params["state"] = ["forged-state"]
    forged = "/auth/oidc/callback?" + urlencode({k: v[0] for k, v in params.items()})
    answer = oidc_portal.get(forged, follow_redirects=False)
    assert answer.status_code == 400
    assert "state" in answer.text
    assert oidc_portal.get("/", follow_redirects=False).status_code == 303
    with demo_store.sessions() as session:
        assert session.scalar(select(User).where(User.username == "mette.oidc")) is None


def test_an_answer_without_the_sign_in_cookie_is_refused(oidc_portal: TestClient) -> None:
    back = pass_through_provider(start(oidc_portal), "mette.oidc", CALLBACK)
    oidc_portal.cookies.clear()
    answer = oidc_portal.get(back.removeprefix("http://localhost"), follow_redirects=False)
    assert answer.status_code == 400


def test_a_wrong_nonce_in_the_id_token_is_refused(provider: OidcProvider) -> None:
    client = OidcClient(oidc_settings(provider))
    authorize, pending = client.begin(CALLBACK)
    back = pass_through_provider(authorize, "mette.oidc", CALLBACK)
    params = {k: v[0] for k, v in parse_qs(urlparse(back).query).items()}
    with pytest.raises(OidcError, match="nonce"):
        client.finish(params, replace(pending, nonce="not-the-nonce-we-sent"), CALLBACK)


def test_a_token_from_another_client_is_refused(provider: OidcProvider) -> None:
    settings = oidc_settings(provider)
    client = OidcClient(settings)
    authorize, pending = client.begin(CALLBACK)
    params = {
        k: v[0]
        for k, v in parse_qs(
            urlparse(pass_through_provider(authorize, "mette.oidc", CALLBACK)).query
        ).items()
    }
    other = OidcClient(settings.model_copy(update={"client_secret": SecretStr("not-the-secret")}))
    with pytest.raises(OidcError, match="refused the code"):
        other.finish(params, pending, CALLBACK)
