"""The portal: a person's apps, search, favourites, launching, and their own sessions."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from anyplace.broker.connection import html5_url, rdp_file
from anyplace.broker.launch import (
    Launched,
    LaunchView,
    NotEntitled,
    TicketRefused,
    poll_launch,
    redeem_ticket,
    start_launch,
)
from anyplace.broker.sessions import SessionEnded, request_logoff
from anyplace.catalog.portal import toggle_favourite, user_catalog
from anyplace.config import BrokerSettings
from anyplace.errors import AnyplaceError, NotFound
from anyplace.power.snapshot import LIVE_STATES
from anyplace.store.models import Session as UserSession
from anyplace.web.deps import DbSession, capacity_asker, get_clock
from anyplace.web.i18n import current_locale
from anyplace.web.i18n import gettext_ as _
from anyplace.web.pages.auth import CsrfChecked, Signed
from anyplace.web.pages.rendering import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
SEE_OTHER = 303


def _broker(request: Request) -> BrokerSettings:
    settings: BrokerSettings = request.app.state.settings.broker
    return settings


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@router.get("/", response_class=HTMLResponse)
def home(request: Request, db: DbSession, me: Signed, q: str = "") -> HTMLResponse:
    catalog = user_catalog(db, me.user, locale=current_locale(), query=q.strip()[:100])
    template = "portal/_catalog.html" if _is_htmx(request) else "portal/home.html"
    return render(request, template, {"catalog": catalog, "q": q})


@router.post("/apps/{slug}/favourite", response_model=None)
def favourite(
    request: Request, slug: str, db: DbSession, me: CsrfChecked, q: Annotated[str, Form()] = ""
) -> Response:
    try:
        toggle_favourite(db, get_clock(request), me.user, slug)
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    if not _is_htmx(request):
        return RedirectResponse("/", status_code=SEE_OTHER)
    db.flush()
    catalog = user_catalog(db, me.user, locale=current_locale(), query=q.strip()[:100])
    return render(request, "portal/_catalog.html", {"catalog": catalog, "q": q})


def _launch_target(launched: Launched) -> str:
    target = f"/launches/{launched.launch_id}"
    return f"{target}?ticket={launched.ticket}" if launched.ticket else target


@router.post("/apps/{slug}/launch", response_model=None)
def launch(
    request: Request,
    slug: str,
    db: DbSession,
    me: CsrfChecked,
    client: Annotated[str, Form()] = "html5",
) -> Response:
    try:
        launched = start_launch(
            db,
            get_clock(request),
            _broker(request),
            user=me.user,
            app_slug=slug,
            client=client if client in ("rdp", "html5") else "html5",
            request_capacity=capacity_asker(request),
        )
    except NotEntitled:
        raise HTTPException(status.HTTP_403_FORBIDDEN, _("You may not use this app.")) from None
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("There is no such app.")) from None
    except AnyplaceError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    if launched.url and launched.state == "ready" and launched.pool is None:
        return RedirectResponse(launched.url, status_code=SEE_OTHER)
    return RedirectResponse(_launch_target(launched), status_code=SEE_OTHER)


def _launch_context(view: LaunchView, ticket: str | None) -> dict[str, object]:
    launch = view.launch
    host = launch.session.machine.name if launch.session and launch.session.machine else None
    return {"launch": launch, "ticket": view.ticket or ticket, "host": host}


@router.get("/launches/{launch_id}", response_class=HTMLResponse)
def launch_page(
    request: Request, launch_id: int, db: DbSession, me: Signed, ticket: str | None = None
) -> HTMLResponse:
    try:
        view = poll_launch(
            db, get_clock(request), _broker(request), user=me.user, launch_id=launch_id
        )
    except NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("There is no such launch.")) from None
    if not _is_htmx(request):
        return render(request, "portal/launch.html", _launch_context(view, ticket))
    response = render(request, "portal/_launch_status.html", _launch_context(view, ticket))
    if view.ticket and view.launch.client == "html5":
        # The host came up while the user waited: open the app, as the page promised.
        response.headers["HX-Redirect"] = f"/launches/{launch_id}/open?ticket={view.ticket}"
    return response


@router.get("/launches/{launch_id}/open", response_model=None)
def open_connection(
    request: Request, launch_id: int, db: DbSession, me: Signed, ticket: str = ""
) -> Response:
    """Spend the ticket: the .rdp file, or off to Guacamole."""
    try:
        row = redeem_ticket(
            db, get_clock(request), user=me.user, launch_id=launch_id, ticket=ticket
        )
    except TicketRefused as exc:
        code = status.HTTP_410_GONE if exc.gone else status.HTTP_403_FORBIDDEN
        message = _("This link has been used or has expired. Open the app again from the portal.")
        raise HTTPException(code, message) from None
    settings = _broker(request)
    try:
        if row.client == "html5":
            return RedirectResponse(html5_url(row, settings, get_clock(request)), SEE_OTHER)
        text = rdp_file(row, settings)
    except AnyplaceError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    headers = {"Content-Disposition": f'attachment; filename="{row.app.slug}.rdp"'}
    return Response(text, media_type="application/x-rdp", headers=headers)


def _own_sessions(db: DbSession, user_id: int) -> list[UserSession]:
    return list(
        db.scalars(
            select(UserSession)
            .where(UserSession.user_id == user_id, UserSession.state.in_(LIVE_STATES))
            .options(selectinload(UserSession.machine), selectinload(UserSession.pool))
            .order_by(UserSession.created_at.desc())
        )
    )


@router.get("/sessions", response_class=HTMLResponse)
def my_sessions(request: Request, db: DbSession, me: Signed) -> HTMLResponse:
    return render(request, "portal/sessions.html", {"sessions": _own_sessions(db, me.user.id)})


def _own(db: DbSession, session_id: int, user_id: int) -> UserSession:
    row = db.get(UserSession, session_id)
    if row is None or row.user_id != user_id:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("There is no such session."))
    return row


@router.post("/sessions/{session_id}/logoff", response_model=None)
def log_off(request: Request, session_id: int, db: DbSession, me: CsrfChecked) -> Response:
    row = _own(db, session_id, me.user.id)
    with contextlib.suppress(SessionEnded):  # ended meanwhile: the list shows it gone
        request_logoff(db, get_clock(request), row, me.user.username)
    return RedirectResponse("/sessions", status_code=SEE_OTHER)


@router.post("/sessions/{session_id}/reconnect", response_model=None)
def reconnect(
    request: Request,
    session_id: int,
    db: DbSession,
    me: CsrfChecked,
    client: Annotated[str, Form()] = "html5",
) -> Response:
    """Open the session's first app again: placement sends the user back to this session."""
    row = _own(db, session_id, me.user.id)
    if row.state not in LIVE_STATES or not row.apps:
        raise HTTPException(status.HTTP_409_CONFLICT, _("The session has ended."))
    return launch(request, row.apps[0], db, me, client)
