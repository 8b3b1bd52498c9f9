"""Each sign-in method in a real browser: OpenID Connect through the provider's pages, and LDAP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pydantic import SecretStr

from anyplace.clock import VirtualClock
from anyplace.config import LdapSettings, OidcSettings
from anyplace.store.access import Store
from anyplace.web.app import create_app
from tests.e2e.conftest import ONE_BACKEND, assert_accessible, serve_app, sign_in_with_keyboard
from tests.peers.ldap import ADMIN_DN, ADMIN_PASSWORD, run_slapd
from tests.peers.oidc import CLIENT_ID, CLIENT_SECRET, run_provider
from tests.peers.processes import free_port
from tests.web.portal.conftest import portal_settings
from tests.web.portal.test_ldap import GROUPS, LDIF, PEOPLE

pytestmark = ONE_BACKEND


@pytest.fixture
def oidc_portal(demo_store: Store, clock: VirtualClock) -> Iterator[str]:
    port = free_port()
    callback = f"http://127.0.0.1:{port}/auth/oidc/callback"
    accounts = {"jens.entra": {"name": "Jens Entra", "groups": ["alle", "jobcenter"]}}
    with run_provider([callback], accounts) as provider:
        oidc = OidcSettings(
            enabled=True,
            issuer=provider.issuer,
            client_id=CLIENT_ID,
            client_secret=SecretStr(CLIENT_SECRET),
            scopes="openid profile email groups",
            label="Entra ID",
        )
        settings = portal_settings(demo_store.url).model_copy(update={"oidc": oidc})
        with serve_app(create_app(settings, engine=demo_store.engine, clock=clock), port) as url:
            yield url


@pytest.fixture
def ldap_portal(demo_store: Store, clock: VirtualClock, tmp_path: Path) -> Iterator[str]:
    with run_slapd(tmp_path, LDIF) as directory:
        ldap = LdapSettings(
            enabled=True,
            url=directory.url,
            bind_dn=ADMIN_DN,
            bind_password=SecretStr(ADMIN_PASSWORD),
            user_base=PEOPLE,
            group_base=GROUPS,
        )
        settings = portal_settings(demo_store.url).model_copy(update={"ldap": ldap})
        app = create_app(settings, engine=demo_store.engine, clock=clock)
        with serve_app(app, free_port()) as url:
            yield url


def test_sign_in_with_openid_connect(oidc_portal: str, page: Page) -> None:
    page.goto(f"{oidc_portal}/")
    page.get_by_role("link", name="Log ind med Entra ID").click()
    page.locator('input[name="login"]').fill("jens.entra")  # the provider's own page
    page.locator('input[name="password"]').fill("anything")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()  # the provider's consent
    page.wait_for_url(f"{oidc_portal}/")
    expect(page.get_by_text("Jens Entra")).to_be_visible()
    expect(page.locator('li.app[data-app="word"]')).to_be_visible()
    assert_accessible(page)


def test_sign_in_with_ldap(ldap_portal: str, page: Page) -> None:
    sign_in_with_keyboard(page, ldap_portal, "kirsten", "kirstens-kodeord")
    expect(page.get_by_text("Kirsten Holm")).to_be_visible()
    expect(page.locator('li.app[data-app="word"]')).to_be_visible()
