"""Danish first, English too: gettext catalogues read with Babel.

Messages are written in English in templates and code; `locale/da/.../messages.po`
translates them. The .po file is compiled in memory when the process starts, so
there is no build step and no binary file in git. The language of a request is
its `lang` cookie, else Danish.
"""

from __future__ import annotations

import gettext
from contextvars import ContextVar
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Literal

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "LOCALE_DIR",
    "Locale",
    "current_locale",
    "gettext_",
    "ngettext_",
    "set_locale",
    "translations",
]

Locale = Literal["da", "en"]
LOCALES: tuple[Locale, ...] = ("da", "en")
DEFAULT_LOCALE: Locale = "da"
LOCALE_DIR = Path(__file__).parent / "locale"

_current: ContextVar[Locale] = ContextVar("locale", default=DEFAULT_LOCALE)


@cache
def translations(locale: Locale) -> gettext.NullTranslations:
    po = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po.is_file():
        return gettext.NullTranslations()  # English: the messages themselves
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def set_locale(locale: str | None) -> Locale:
    chosen: Locale = "en" if locale == "en" else DEFAULT_LOCALE
    _current.set(chosen)
    return chosen


def current_locale() -> Locale:
    return _current.get()


def gettext_(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext_(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)
