"""Launching apps: POST /api/v1/launches, polling, and the one-time connection."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from anyplace.broker.connection import html5_url, rdp_file
from anyplace.broker.launch import (
    LaunchView,
    NotEntitled,
    TicketRefused,
    poll_launch,
    redeem_ticket,
    start_launch,
)
from anyplace.config import BrokerSettings
from anyplace.errors import AnyplaceError, NotFound
from anyplace.store.models import User
from anyplace.web.api.paging import API_PREFIX
from anyplace.web.deps import Caller, DbSession, capacity_asker, get_clock

__all__ = ["router"]

router = APIRouter(prefix=f"{API_PREFIX}/launches", tags=["launch"])


class LaunchRequest(BaseModel):
    app: str
    client: Literal["rdp", "html5"] = "rdp"


class LaunchOut(BaseModel):
    id: int
    app: str
    client: str
    state: Literal["starting", "ready"]
    host: str | None
    url: str | None
    """A web app's address."""
    ticket: str | None
    """Shown once, in the answer that made the launch ready; spend it within a minute."""
    connection: str | None
    """Where to fetch the .rdp file or the HTML5 address with the ticket."""
    message: str


def _user(caller: Caller) -> User:
    if caller.user is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "launching needs a user's token")
    return caller.user


def _settings(request: Request) -> BrokerSettings:
    settings: BrokerSettings = request.app.state.settings.broker
    return settings


def _out(view: LaunchView) -> LaunchOut:
    launch = view.launch
    host = launch.session.machine.name if launch.session and launch.session.machine else None
    connection = None
    if view.ticket is not None:
        connection = f"{API_PREFIX}/launches/{launch.id}/connection?ticket={view.ticket}"
    message = "Vi starter en server til dig ..." if launch.state == "starting" else "Klar"
    return LaunchOut(
        id=launch.id,
        app=launch.app.slug,
        client=launch.client,
        state="ready" if launch.state == "ready" else "starting",
        host=host,
        url=launch.app.url,
        ticket=view.ticket,
        connection=connection,
        message=message,
    )


@router.post("", response_model=LaunchOut, status_code=status.HTTP_201_CREATED)
def create_launch(
    request: Request, body: LaunchRequest, db: DbSession, caller: Caller
) -> LaunchOut:
    """Open an app for the caller; `starting` means poll GET /launches/{id} until `ready`."""
    try:
        view = start_launch(
            db,
            get_clock(request),
            _settings(request),
            user=_user(caller),
            app_slug=body.app,
            client=body.client,
            request_capacity=capacity_asker(request),
        )
    except NotEntitled as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return _out(view)


@router.get("/{launch_id}", response_model=LaunchOut)
def get_launch(request: Request, launch_id: int, db: DbSession, caller: Caller) -> LaunchOut:
    try:
        view = poll_launch(
            db, get_clock(request), _settings(request), user=_user(caller), launch_id=launch_id
        )
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return _out(view)


@router.get("/{launch_id}/connection", response_model=None)
def get_connection(
    request: Request,
    launch_id: int,
    db: DbSession,
    caller: Caller,
    ticket: Annotated[str, Query(description="The launch's one-time ticket.")],
) -> Response:
    """The .rdp file (client rdp) or {"url": ...} for Guacamole (client html5), once."""
    try:
        launch = redeem_ticket(
            db, get_clock(request), user=_user(caller), launch_id=launch_id, ticket=ticket
        )
    except TicketRefused as exc:
        code = status.HTTP_410_GONE if exc.gone else status.HTTP_403_FORBIDDEN
        raise HTTPException(code, str(exc)) from None
    settings = _settings(request)
    try:
        if launch.client == "html5":
            return JSONResponse({"url": html5_url(launch, settings, get_clock(request))})
        text = rdp_file(launch, settings)
    except AnyplaceError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    headers = {"Content-Disposition": f'attachment; filename="{launch.app.slug}.rdp"'}
    return Response(text, media_type="application/x-rdp", headers=headers)
