"""A line-of-business system's REST API as the deliveries meet it: it honours idempotency
keys, and it can be told to fail for a while or to need a bearer token."""

from __future__ import annotations

import base64
import secrets
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
    basic: tuple[str, str] | None = None
    clients: dict[str, str] = field(default_factory=dict)
    """OAuth2 clients (id -> secret) that may get a token at /oauth/token."""
    issued: list[str] = field(default_factory=list)
    documents: dict[str, Any] = field(default_factory=dict)
    """What GET answers, by path: the records a form's lookup reads."""
    fail_next: int = 0
    fail_status: int = 503
    requests: Counter[str] = field(default_factory=Counter)
    applied: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        if self.token and header != f"Bearer {self.token}":
            return False
        if self.basic:
            expected = base64.b64encode(f"{self.basic[0]}:{self.basic[1]}".encode()).decode()
            if header != f"Basic {expected}":
                return False
        if self.clients:
            return header.removeprefix("Bearer ") in self.issued
        return True

    async def token_endpoint(self, request: Request) -> JSONResponse:
        """OAuth2 client credentials (RFC 6749 4.4), the client authenticated with Basic."""
        form = await request.form()
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        client_id, _, secret = base64.b64decode(encoded or "").decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if scheme != "Basic" or self.clients.get(client_id) != secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        token = secrets.token_urlsafe(16)
        self.issued.append(token)
        return JSONResponse({"access_token": token, "token_type": "Bearer", "expires_in": 3600})

    async def handle(self, request: Request) -> JSONResponse:
        key = request.headers.get("idempotency-key", "")
        if not self._authorised(request):
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

    async def read(self, request: Request) -> JSONResponse:
        if not self._authorised(request):
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        found = self.documents.get(request.url.path)
        return JSONResponse(found) if found is not None else JSONResponse({}, status_code=404)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/oauth/token", self.token_endpoint, methods=["POST"]),
                Route("/{path:path}", self.handle, methods=["POST", "PUT"]),
                Route("/{path:path}", self.read, methods=["GET"]),
            ]
        )
