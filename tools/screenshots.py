"""Screenshots of a running demo for the README: `python tools/screenshots.py URL OUT_DIR`.

Start `make demo` first. It signs in as the demo users (their names are read
from the sign-in page), opens an app, waits for the simulated host to start,
and visits the admin console; Debian's Chromium, driven by Playwright.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

__all__ = ["main"]

PASSWORD = "demo-kode"  # noqa: S105 - the demo's published password


def sign_in(page: Page, url: str, username: str) -> None:
    page.goto(f"{url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def main(url: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.goto(f"{url}/login")
        names = page.locator(".demo tbody tr td:first-child code").all_inner_texts()
        page.screenshot(path=str(out / "signin.png"))
        user, admin = names[1], names[-1]

        sign_in(page, url, user)
        star = page.get_by_role("button", name="Favorit: Word").first
        if star.get_attribute("aria-pressed") == "false":
            star.click()
        expect(page.get_by_role("heading", name="Favoritter")).to_be_visible()
        page.screenshot(path=str(out / "portal.png"))
        page.get_by_role("button", name="Åbn Word i browseren").first.click()
        expect(page.locator("#launch-status")).to_be_visible()
        page.screenshot(path=str(out / "launch.png"))
        expect(page.get_by_text("Klar", exact=True)).to_be_visible(timeout=600_000)
        page.screenshot(path=str(out / "launch-ready.png"))

        page.context.clear_cookies()
        sign_in(page, url, admin)
        page.goto(f"{url}/admin/pools/generel")
        page.screenshot(path=str(out / "admin-pool.png"))
        page.goto(f"{url}/admin/pools")
        page.screenshot(path=str(out / "admin-pools.png"))
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
