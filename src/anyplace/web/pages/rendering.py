"""The page templates: one Jinja2 environment with gettext, autoescaping and our helpers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.responses import HTMLResponse

from anyplace.web.i18n import current_locale, gettext_, ngettext_

__all__ = ["STATIC_DIR", "TEMPLATE_DIR", "render", "templates"]

WEB_DIR = Path(__file__).resolve().parent.parent
TEMPLATE_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
    auto_reload=False,
)
_env.install_gettext_callables(gettext_, ngettext_, newstyle=True)  # type: ignore[attr-defined]
templates = Jinja2Templates(env=_env)

LOCAL_ZONE = ZoneInfo("Europe/Copenhagen")


def local_time(value: datetime | None, fmt: str = "%H:%M") -> str:
    """A stored (UTC) time as the municipality's wall clock."""
    return value.astimezone(LOCAL_ZONE).strftime(fmt) if value is not None else "–"


templates.env.filters["local_time"] = local_time


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """A page in the request's language, with the signed-in person (if any) and CSRF token."""
    values: dict[str, Any] = {
        "lang": current_locale(),
        "me": getattr(request.state, "portal_user", None),
    }
    values.update(context or {})
    response: HTMLResponse = templates.TemplateResponse(
        request, name, values, status_code=status_code
    )
    return response
