"""Demo only: stand-ins for the systems the example microapps deliver to.

Each honours the idempotency key as a real system should (a repeat is
answered but not applied again) and `/demo/targets` shows what arrived, so a
demo user sees one form land in every system.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse

from anyplace.web.pages.auth import Signed
from anyplace.web.pages.rendering import render

__all__ = ["DemoTargets", "MailSink", "router"]

router = APIRouter(include_in_schema=False)


@dataclass
class DemoTargets:
    received: list[dict[str, Any]] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _targets(request: Request) -> DemoTargets:
    targets: DemoTargets = request.app.state.demo_targets
    return targets


@router.api_route("/demo/targets/{system}/{path:path}", methods=["POST", "PUT"])
@router.api_route("/demo/targets/{system}", methods=["POST", "PUT"])
async def receive(request: Request, system: str, path: str = "") -> JSONResponse:
    key = request.headers.get("idempotency-key", "")
    body = await request.json()
    targets = _targets(request)
    with targets.lock:
        if key and key in targets.keys:
            return JSONResponse({"id": key, "replayed": True})
        targets.keys.add(key)
        targets.received.append(
            {"system": system, "path": "/" + path if path else "", "key": key, "body": body}
        )
    return JSONResponse({"id": key}, status_code=201)


@router.get("/demo/targets/cpr-register/borgere/{cpr}")
def citizen(cpr: str) -> JSONResponse:
    """The demo's CPR register: every citizen exists, named by the last digits."""
    return JSONResponse({"cpr": cpr, "navn": f"Demo Borger {cpr[-4:]}"})


@router.get("/demo/targets", response_class=HTMLResponse)
def show(request: Request, _: Signed) -> HTMLResponse:
    return render(
        request, "demo_targets.html", {"received": list(reversed(_targets(request).received))}
    )


class MailSink:
    """aiosmtpd's handler: a received mail becomes a row on /demo/targets."""

    def __init__(self, targets: DemoTargets) -> None:
        self.targets = targets

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content or b"")
        body = {
            "to": message["To"],
            "subject": message["Subject"],
            "message_id": message["Message-ID"],
        }
        with self.targets.lock:
            self.targets.received.append({"system": "mail", "path": "", "key": "", "body": body})
        return "250 OK"
