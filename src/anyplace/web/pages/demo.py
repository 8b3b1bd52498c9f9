"""Demo only: a stand-in for Apache Guacamole, which is not in Debian's archive.

It decrypts the token exactly as guacamole-auth-json would (with the shared
key) and shows what Guacamole would open, so a demo user sees the whole launch.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import HTMLResponse

from anyplace.broker.guacamole import decrypt_token
from anyplace.config import BrokerSettings
from anyplace.web.pages.auth import Signed
from anyplace.web.pages.rendering import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/demo/guacamole/", response_class=HTMLResponse)
def guacamole_stand_in(request: Request, _: Signed, data: str = "") -> HTMLResponse:
    settings: BrokerSettings = request.app.state.settings.broker
    if settings.guacamole_key is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no Guacamole key is configured")
    try:
        payload = decrypt_token(data, settings.guacamole_key.get_secret_value())
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    return render(request, "demo_guacamole.html", {"payload": payload})
