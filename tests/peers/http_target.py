"""A line-of-business system's REST API as the deliveries meet it: it honours idempotency
keys, and it can be told to fail for a while or to need a bearer token."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

__all__ = ["Target"]


@dataclass
class Target:
    """Counts every request per idempotency key, and applies each key's effect once."""

    token: str | None = None
    fail_next: int = 0
    fail_status: int = 503
    requests: Counter[str] = field(default_factory=Counter)
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle(self, request: Request) -> JSONResponse:
        key = request.headers.get("idempotency-key", "")
        if self.token and request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        body = await request.json()
        with self.lock:
            self.requests[key] += 1
            if self.fail_next > 0:
                self.fail_next -= 1
                return JSONResponse({"error": "down"}, status_code=self.fail_status)
            if key in self.applied:
                return JSONResponse({"id": key, "replayed": True}, status_code=200)
            self.applied[key] = {"path": request.url.path, "body": body}
        return JSONResponse({"id": key}, status_code=201)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=["POST", "PUT"])])
