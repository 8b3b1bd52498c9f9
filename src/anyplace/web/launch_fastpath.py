"""POST /api/v1/launches answered beside the framework: the morning storm's hot path.

A launch is the request a working morning brings by the thousand. FastAPI's
routing, dependency solving and response validation cost about 0.4 ms of CPU
per request here, as much as deciding the launch itself (docs/performance.md).
This ASGI middleware answers the launches it can on its own, with the route's
own models (`LaunchRequest`, `LaunchOut`) and its error bodies, and hands every
other request to the app. A launch it cannot answer as the route would (a body
that is not JSON or that the model refuses, no bearer token, a large body) goes
to the route too, with the body it has read, so errors stay FastAPI's.

It sits inside the security and metrics middlewares, so its answers carry the
same headers and are counted under the route's template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from anyplace.broker.batcher import LaunchBatcher
from anyplace.broker.launch import LaunchAsk
from anyplace.errors import AnyplaceError
from anyplace.identity.tokens import secret_digest
from anyplace.web.api.launches import LaunchRequest, launch_out, refusal_status
from anyplace.web.api.paging import API_PREFIX
from anyplace.web.deps import parse_bearer

__all__ = ["LaunchFastPath"]

PATH = f"{API_PREFIX}/launches"
MAX_BODY = 16 * 1024
"""A launch body is a few dozen bytes; a larger one is the route's business."""


@dataclass(frozen=True)
class _Route:
    """What the metrics middleware reads from a matched route: its template."""

    path: str


ROUTE = _Route(PATH)


class LaunchFastPath:
    def __init__(self, app: ASGIApp, batcher: LaunchBatcher) -> None:
        self.app = app
        self.batcher = batcher

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        body, complete = await _read_body(receive, headers)
        request = _parse(body, headers) if complete else None
        secret = parse_bearer(headers.get(b"authorization", b"").decode("latin-1"))
        if request is None or secret is None:
            await self.app(scope, _replay(body, complete, receive), send)
            return
        scope["route"] = ROUTE
        ask = LaunchAsk(request.app, request.client, token_digest=secret_digest(secret))
        outcome = await self.batcher.launch(ask)
        if isinstance(outcome, AnyplaceError):
            await _answer(send, refusal_status(outcome), _detail(outcome), bearer=True)
        else:
            await _answer(send, 201, launch_out(outcome).model_dump_json().encode())


async def _read_body(receive: Receive, headers: dict[bytes, bytes]) -> tuple[bytes, bool]:
    """The body, and whether it is all there (not when it outgrew MAX_BODY)."""
    length = headers.get(b"content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
        return b"", False
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), True
        if size > MAX_BODY:
            return b"".join(chunks), False


def _replay(body: bytes, complete: bool, receive: Receive) -> Receive:
    """A receive that gives what was read first, then whatever the client still sends."""
    pending = [{"type": "http.request", "body": body, "more_body": not complete}]

    async def replayed() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return replayed


def _parse(body: bytes, headers: dict[bytes, bytes]) -> LaunchRequest | None:
    content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
    if content_type != b"application/json":
        return None
    try:
        return LaunchRequest.model_validate_json(body)
    except ValidationError:
        return None


def _detail(error: AnyplaceError) -> bytes:
    """As Starlette's JSONResponse renders an HTTPException's detail."""
    return json.dumps({"detail": str(error)}, ensure_ascii=False, separators=(",", ":")).encode()


async def _answer(send: Send, status: int, body: bytes, *, bearer: bool = False) -> None:
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    if bearer and status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
