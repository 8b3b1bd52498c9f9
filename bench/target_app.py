"""The benchmark's delivery target: a minimal REST endpoint that honours idempotency keys.

Run by bench/microapps.py in its own process (uvicorn), so the target does not
share the benchmark's interpreter lock.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

seen: set[str] = set()


async def receive(request: Request) -> JSONResponse:
    key = request.headers.get("idempotency-key", "")
    await request.body()
    if key in seen:
        return JSONResponse({"id": key, "replayed": True})
    seen.add(key)
    return JSONResponse({"id": key}, status_code=201)


async def count(_: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(seen)))


app = Starlette(routes=[Route("/count", count), Route("/{path:path}", receive, methods=["POST"])])
