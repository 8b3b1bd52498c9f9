"""Danish first, English too: every message is translated, and the language follows the choice."""

from __future__ import annotations

from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from tools.update_catalog import CATALOG, extract, untranslated


def test_every_message_in_the_code_has_a_danish_translation() -> None:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="da")
    catalog.update(extract(), no_fuzzy_matching=True)
    assert untranslated(catalog) == [], "run python tools/update_catalog.py, then translate"


def test_pages_are_danish_unless_english_is_chosen(portal: TestClient) -> None:
    danish = portal.get("/login")
    assert 'lang="da"' in danish.text
    assert "Log ind på din arbejdsplads" in danish.text
    chosen = portal.get("/lang/en?next=/login", follow_redirects=False)
    assert chosen.headers["location"] == "/login"
    english = portal.get("/login")
    assert 'lang="en"' in english.text
    assert "Sign in to your workplace" in english.text
