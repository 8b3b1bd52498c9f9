"""Browser tests: the portal served by uvicorn on a free port, driven by Playwright in Chromium.

Debian's Chromium is used (Playwright's own browser download cannot run here);
axe-core, the accessibility engine, comes from npm (tests/node).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from anyplace.clock import VirtualClock
from anyplace.store.access import Store
from anyplace.web.app import create_app
from tests.peers.asgi import serve_asgi
from tests.peers.processes import NODE_DIR, free_port, require_tool
from tests.web.portal.conftest import (
    PASSWORD,
    People,
    choose_people,
    portal_settings,
)

__all__ = [
    "AXE_TAGS",
    "ONE_BACKEND",
    "LiveServer",
    "assert_accessible",
    "screenshot",
    "sign_in_with_keyboard",
]

CHROMIUM = "/usr/bin/chromium"
AXE = NODE_DIR / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SCREENSHOTS = os.environ.get("ANYPLACE_SCREENSHOTS")
"""A folder: when set, the tests also save the screenshots the README shows."""

# Waits are for a condition (an element, a text), never a fixed sleep; the limit is generous
# because a CI machine with two cores may be busy with other tests.
expect.set_options(timeout=15_000)

ONE_BACKEND = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
"""Browser tests need one backend only: the store is tested on both elsewhere."""


@dataclass
class LiveServer:
    url: str
    app: FastAPI
    store: Store
    clock: VirtualClock


def serve_app(app: FastAPI, port: int) -> AbstractContextManager[str]:
    """Serve `app` with uvicorn on `port` in a thread until the block ends."""
    return serve_asgi(app, port)


@pytest.fixture
def people(demo_store: Store) -> People:
    return choose_people(demo_store)


@pytest.fixture
def live(demo_store: Store, clock: VirtualClock, people: People) -> Iterator[LiveServer]:
    """The demo's portal (demo accounts, the Guacamole stand-in) on a free port."""
    port = free_port()
    settings = portal_settings(demo_store.url, demo_accounts=True)
    guacamole = f"http://127.0.0.1:{port}/demo/guacamole/"
    settings = settings.model_copy(
        update={"broker": settings.broker.model_copy(update={"guacamole_url": guacamole})}
    )
    accounts = [
        (people.carer, PASSWORD, "home carer"),
        (people.admin, PASSWORD, "IT administrator"),
    ]
    app = create_app(settings, engine=demo_store.engine, clock=clock, demo_accounts=accounts)
    with serve_app(app, port) as url:
        yield LiveServer(url, app, demo_store, clock)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    require_tool(CHROMIUM, "apt-get install chromium")
    if not AXE.is_file():
        pytest.skip("run: npm ci --prefix tests/node")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield launched
        launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    # bypass_csp lets the test inject axe-core; the pages themselves run under the real CSP.
    made = browser.new_context(
        bypass_csp=True, accept_downloads=True, viewport={"width": 1280, "height": 900}
    )
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def assert_accessible(page: Page) -> None:
    """axe-core finds no WCAG 2.1 A/AA violation on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    problems = [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
    ]
    assert problems == [], f"{page.url}:\n" + "\n".join(problems)


def screenshot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        folder = Path(SCREENSHOTS)
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


def sign_in_with_keyboard(page: Page, url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{url}/login")
    expect(page.locator("#username")).to_be_focused()  # autofocus: no mouse needed
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    error = page.locator("#signin-error")
    assert page.url == f"{url}/", error.inner_text() if error.count() else page.url
