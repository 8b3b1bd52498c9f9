"""Signing in and out: a password (local or LDAP), OpenID Connect, and the language switch."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from anyplace.audit import record
from anyplace.config import Settings
from anyplace.errors import AnyplaceError
from anyplace.identity.oidc import OidcError, PendingSignIn
from anyplace.identity.signin import (
    SignInRefused,
    SignInThrottled,
    from_oidc,
    provision,
    sign_in_with_password,
)
from anyplace.identity.websessions import end_all_sessions, end_session, start_session
from anyplace.store.models import User
from anyplace.web.deps import DbSession, get_clock
from anyplace.web.i18n import gettext_ as _
from anyplace.web.pages.auth import (
    LANG_COOKIE,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    CsrfChecked,
    limits,
    read_signin_cookie,
    safe_next,
    set_cookie,
    write_signin_cookie,
)
from anyplace.web.pages.rendering import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
SEE_OTHER = 303


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _login_page(
    request: Request, *, next_url: str, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    settings = _settings(request)
    # One token per browser, kept while it is fresh: several tabs, and a retry after a
    # wrong password, all post the same one.
    token = str(read_signin_cookie(request).get("csrf") or secrets.token_urlsafe(24))
    response = render(
        request,
        "signin.html",
        {
            "next": next_url,
            "signin_csrf": token,
            "error": error,
            "password_enabled": settings.auth.local_enabled or settings.ldap.enabled,
            "oidc_label": settings.oidc.label if settings.oidc.enabled else None,
            "demo_accounts": request.app.state.demo_accounts if settings.auth.demo_accounts else [],
        },
        status_code=status_code,
    )
    write_signin_cookie(request, response, {"csrf": token})
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_page(request, next_url=safe_next(next))


def _signed_in(request: Request, db: DbSession, user: User, method: str, next_url: str) -> Response:
    clock = get_clock(request)
    new = start_session(db, clock, user, method=method, limits=limits(_settings(request).auth))
    record(db, clock, actor=user.username, action="sign-in", details={"method": method})
    response = RedirectResponse(safe_next(next_url), status_code=SEE_OTHER)
    max_age = int(limits(_settings(request).auth).absolute.total_seconds())
    set_cookie(response, request, SESSION_COOKIE, new.secret, max_age)
    response.delete_cookie(SIGNIN_COOKIE, path="/")
    return response


@router.post("/login", response_model=None)
def login(
    request: Request,
    db: DbSession,
    username: Annotated[str, Form(max_length=128)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    next_url = safe_next(next)
    expected = str(read_signin_cookie(request).get("csrf", ""))
    if not expected or not secrets.compare_digest(csrf_token, expected):
        message = _("The sign-in form expired. Please try again.")
        return _login_page(request, next_url=next_url, error=message, status_code=403)
    settings = _settings(request)
    try:
        user = sign_in_with_password(
            db,
            get_clock(request),
            username=username,
            password=password,
            address=request.client.host if request.client else "-",
            lockout_failures=settings.auth.lockout_failures,
            local_enabled=settings.auth.local_enabled,
            directory=request.app.state.ldap,
        )
    except SignInThrottled as exc:
        seconds = int(exc.wait.total_seconds()) + 1
        message = _("Too many failed attempts. Try again in %(seconds)d seconds.") % {
            "seconds": seconds
        }
        page = _login_page(request, next_url=next_url, error=message, status_code=429)
        page.headers["Retry-After"] = str(seconds)
        return page
    except SignInRefused:
        message = _("Wrong user name or password.")
        return _login_page(request, next_url=next_url, error=message, status_code=401)
    except AnyplaceError:
        message = _("The directory cannot be reached. Try again later, or call IT support.")
        return _login_page(request, next_url=next_url, error=message, status_code=503)
    return _signed_in(request, db, user, user.source.value, next_url)


def _redirect_uri(request: Request) -> str:
    configured = _settings(request).oidc.redirect_url
    return configured or str(request.url_for("oidc_callback"))


@router.get("/login/oidc", response_model=None)
def oidc_begin(request: Request, next: str | None = None) -> Response:
    client = request.app.state.oidc
    if client is None:
        return _login_page(request, next_url="/", error=_("OpenID Connect is not enabled."))
    try:
        url, pending = client.begin(_redirect_uri(request), safe_next(next))
    except OidcError:
        message = _("The identity provider cannot be reached. Try again later.")
        return _login_page(request, next_url=safe_next(next), error=message, status_code=503)
    response = RedirectResponse(url, status_code=302)
    csrf = read_signin_cookie(request).get("csrf") or secrets.token_urlsafe(24)
    write_signin_cookie(request, response, {"oidc": pending.__dict__, "csrf": csrf})
    return response


@router.get("/auth/oidc/callback", name="oidc_callback", response_model=None)
def oidc_callback(request: Request, db: DbSession) -> Response:
    client = request.app.state.oidc
    stored = read_signin_cookie(request).get("oidc")
    if client is None or not isinstance(stored, dict):
        message = _("The sign-in expired or was started elsewhere. Please try again.")
        return _login_page(request, next_url="/", error=message, status_code=400)
    pending = PendingSignIn(**stored)
    try:
        found = client.finish(dict(request.query_params), pending, _redirect_uri(request))
        user = provision(db, get_clock(request), from_oidc(found))
    except (OidcError, SignInRefused) as exc:
        message = _("The sign-in was refused: %(reason)s") % {"reason": str(exc)}
        return _login_page(request, next_url="/", error=message, status_code=400)
    return _signed_in(request, db, user, "oidc", pending.next_url)


@router.post("/logout", response_model=None)
def logout(request: Request, db: DbSession, me: CsrfChecked) -> Response:
    clock = get_clock(request)
    end_session(clock, me.session)
    record(db, clock, actor=me.user.username, action="sign-out")
    response = RedirectResponse("/login", status_code=SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/logout/everywhere", response_model=None)
def logout_everywhere(request: Request, db: DbSession, me: CsrfChecked) -> Response:
    clock = get_clock(request)
    ended = end_all_sessions(db, clock, me.user.id)
    record(
        db, clock, actor=me.user.username, action="sign-out-everywhere", details={"ended": ended}
    )
    response = RedirectResponse("/login", status_code=SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/lang/{code}", response_model=None)
def choose_language(request: Request, code: str, next: str | None = None) -> Response:
    response = RedirectResponse(safe_next(next), status_code=SEE_OTHER)
    set_cookie(response, request, LANG_COOKIE, "en" if code == "en" else "da", 365 * 24 * 3600)
    return response
