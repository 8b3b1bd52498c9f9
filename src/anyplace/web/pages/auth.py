"""Who is signed in to the portal, and the checks every page makes.

The session cookie is HttpOnly, SameSite=Lax and Secure anywhere but
localhost. Each session has its own CSRF token: every form carries it in
`csrf_token` and htmx sends it as `X-CSRF-Token` (from the <body>'s
hx-headers), so a post without it is refused even if SameSite is not honoured.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response, status
from itsdangerous import BadSignature, URLSafeTimedSerializer

from anyplace.clock import Clock
from anyplace.config import AuthSettings
from anyplace.identity.websessions import SessionLimits, find_session
from anyplace.store.models import User, WebSession
from anyplace.web.deps import DbSession, get_clock

__all__ = [
    "LANG_COOKIE",
    "SESSION_COOKIE",
    "SIGNIN_COOKIE",
    "Admin",
    "AdminCsrfChecked",
    "CsrfChecked",
    "PortalUser",
    "SignInRequired",
    "Signed",
    "Viewer",
    "is_secure",
    "limits",
    "safe_next",
    "set_cookie",
]

SESSION_COOKIE = "anyplace_session"
SIGNIN_COOKIE = "anyplace_signin"
LANG_COOKIE = "lang"
SIGNIN_MAX_AGE = 600
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})


class SignInRequired(Exception):
    """Raised by a page for a visitor without a live session: they are sent to sign in."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


@dataclass(frozen=True)
class PortalUser:
    """The signed-in person. The plain fields are copied while the database session is
    open, so an error page can still show them after a rollback."""

    user: User
    session: WebSession
    is_admin: bool
    csrf: str
    display_name: str


def limits(settings: AuthSettings) -> SessionLimits:
    return SessionLimits(
        idle=timedelta(minutes=settings.idle_minutes),
        absolute=timedelta(hours=settings.absolute_hours),
    )


def is_secure(request: Request) -> bool:
    """Cookies are Secure (and HSTS is sent) unless the portal is on this very machine."""
    return request.url.scheme == "https" or (request.url.hostname or "") not in LOCAL_HOSTS


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        secure=is_secure(request),
        samesite="lax",
        path="/",
    )


def safe_next(value: str | None) -> str:
    """Only a path on this site: never an open redirect to another one."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


def _auth_settings(request: Request) -> AuthSettings:
    settings: AuthSettings = request.app.state.settings.auth
    return settings


def get_viewer(
    request: Request, db: DbSession, clock: Annotated[Clock, Depends(get_clock)]
) -> PortalUser | None:
    secret = request.cookies.get(SESSION_COOKIE, "")
    row = find_session(db, clock, secret, limits(_auth_settings(request)))
    if row is None:
        return None
    viewer = PortalUser(
        user=row.user,
        session=row,
        is_admin=any(group.is_admin for group in row.user.groups),
        csrf=row.csrf_token,
        display_name=row.user.display_name,
    )
    request.state.portal_user = viewer
    return viewer


Viewer = Annotated[PortalUser | None, Depends(get_viewer)]


def get_portal_user(request: Request, viewer: Viewer) -> PortalUser:
    if viewer is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(quote(target, safe="/?=&"))
    return viewer


Signed = Annotated[PortalUser, Depends(get_portal_user)]


async def check_csrf(request: Request, me: Signed) -> PortalUser:
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not sent or not secrets.compare_digest(sent, me.csrf):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the form's CSRF token is missing or wrong")
    return me


CsrfChecked = Annotated[PortalUser, Depends(check_csrf)]


def require_admin_page(me: Signed) -> PortalUser:
    if not me.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this page is for IT administrators")
    return me


Admin = Annotated[PortalUser, Depends(require_admin_page)]


async def check_admin_csrf(request: Request, me: Admin) -> PortalUser:
    return await check_csrf(request, me)


def signer(request: Request) -> URLSafeTimedSerializer:
    serializer: URLSafeTimedSerializer = request.app.state.signin_signer
    return serializer


def read_signin_cookie(request: Request) -> dict[str, Any]:
    raw = request.cookies.get(SIGNIN_COOKIE, "")
    try:
        data = signer(request).loads(raw, max_age=SIGNIN_MAX_AGE)
    except BadSignature:
        return {}
    return data if isinstance(data, dict) else {}


def write_signin_cookie(request: Request, response: Response, data: dict[str, Any]) -> None:
    set_cookie(response, request, SIGNIN_COOKIE, signer(request).dumps(data), SIGNIN_MAX_AGE)


AdminCsrfChecked = Annotated[PortalUser, Depends(check_admin_csrf)]
