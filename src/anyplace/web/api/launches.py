"""Launching apps: POST /api/v1/launches, polling, and the one-time connection."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from anyplace.broker.batcher import LaunchBatcher
from anyplace.broker.connection import html5_url, rdp_file
from anyplace.broker.launch import (
    LaunchAsk,
    Launched,
    NotEntitled,
    NotSignedIn,
    TicketRefused,
    poll_launch,
    redeem_ticket,
)
from anyplace.config import BrokerSettings
from anyplace.errors import AnyplaceError, NotFound
from anyplace.identity.tokens import secret_digest
from anyplace.store.models import User
from anyplace.web.api.paging import API_PREFIX
from anyplace.web.deps import Caller, DbSession, bearer_secret, get_clock, unauthorized

__all__ = ["LaunchOut", "LaunchRequest", "launch_out", "refusal_status", "router"]

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


def launch_out(launched: Launched) -> LaunchOut:
    connection = None
    if launched.ticket is not None:
        connection = (
            f"{API_PREFIX}/launches/{launched.launch_id}/connection?ticket={launched.ticket}"
        )
    message = "Vi starter en server til dig ..." if launched.state == "starting" else "Klar"
    return LaunchOut(
        id=launched.launch_id,
        app=launched.app,
        client=launched.client,
        state="ready" if launched.state == "ready" else "starting",
        host=launched.host,
        url=launched.url,
        ticket=launched.ticket,
        connection=connection,
        message=message,
    )


def refusal_status(error: AnyplaceError) -> int:
    """The HTTP status of a launch the broker refused."""
    if isinstance(error, NotSignedIn):
        return status.HTTP_401_UNAUTHORIZED
    if isinstance(error, NotEntitled):
        return status.HTTP_403_FORBIDDEN
    if isinstance(error, NotFound):
        return status.HTTP_404_NOT_FOUND
    return status.HTTP_409_CONFLICT


def _refusal(error: AnyplaceError) -> HTTPException:
    code = refusal_status(error)
    if code == status.HTTP_401_UNAUTHORIZED:
        return unauthorized(str(error))
    return HTTPException(code, str(error))


@router.post("", response_model=LaunchOut, status_code=status.HTTP_201_CREATED)
async def create_launch(request: Request, body: LaunchRequest) -> LaunchOut:
    """Open an app for the caller; `starting` means poll GET /launches/{id} until `ready`.

    Asynchronous, and without a database session of its own: the token is checked,
    and the launch decided, in the broker's next batch (`broker.batcher`). Most launches
    are answered before they get here, with the same models, by `web.launch_fastpath`.
    """
    batcher: LaunchBatcher = request.app.state.launches
    ask = LaunchAsk(body.app, body.client, token_digest=secret_digest(bearer_secret(request)))
    outcome = await batcher.launch(ask)
    if isinstance(outcome, AnyplaceError):
        raise _refusal(outcome)
    return launch_out(outcome)


@router.get("/{launch_id}", response_model=LaunchOut)
def get_launch(request: Request, launch_id: int, db: DbSession, caller: Caller) -> LaunchOut:
    try:
        view = poll_launch(
            db, get_clock(request), _settings(request), user=_user(caller), launch_id=launch_id
        )
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return launch_out(view.launched())


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
