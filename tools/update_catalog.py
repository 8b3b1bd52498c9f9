"""Bring the Danish catalogue up to date with the code: `python tools/update_catalog.py`.

Extracts every message (templates and Python), merges them into
src/anyplace/web/locale/da/LC_MESSAGES/messages.po (kept translations stay,
new messages arrive empty, unused ones are dropped), and lists the messages
still without Danish, exiting 1 if there are any. Translators edit the .po file.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

__all__ = ["CATALOG", "extract", "untranslated"]

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "src/anyplace/web/locale/da/LC_MESSAGES/messages.po"
METHODS = [
    ("src/anyplace/web/templates/**.html", "jinja2"),
    ("src/anyplace/**.py", "python"),
]
OPTIONS = {"src/anyplace/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
KEYWORDS: dict[str, tuple[int, ...] | None] = {"_": None, "ngettext": (1, 2), "N_": None}


def extract() -> Catalog:
    template = Catalog(project="anyplace")
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, OPTIONS, KEYWORDS
    ):
        template.add(message)
    return template


def untranslated(catalog: Catalog) -> list[str]:
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple | list) else [message.string]
        if not all(strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def main() -> int:
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle, locale="da")
    catalog.update(extract(), no_fuzzy_matching=True)
    catalog.obsolete.clear()
    with CATALOG.open("wb") as handle:
        write_po(handle, catalog, sort_output=True, width=100, omit_header=False)
    missing = untranslated(catalog)
    if missing:
        print("no Danish yet for:\n  " + "\n  ".join(missing), file=sys.stderr)
        return 1
    print(f"{CATALOG.relative_to(ROOT)}: {len(catalog)} messages, all translated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
