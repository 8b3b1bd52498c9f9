"""Liveness and readiness for load balancers and orchestrators.

/healthz says the process answers; /readyz says it can do its job: the store
is reachable and its schema is at the migrations' head (a replica started
before `anyplace db upgrade` must not take traffic).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from anyplace.store.migrate import current_revision, head_revision

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    engine: Engine = request.app.state.engine
    body: dict[str, Any] = {}
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        body["database"] = "ok"
        current, head = current_revision(engine), head_revision()
        body["migrations"] = {"current": current, "head": head}
    except SQLAlchemyError as exc:
        body["database"] = f"unreachable: {type(exc).__name__}"
        return JSONResponse({"status": "not ready", **body}, status_code=503)
    if current != head:
        body["hint"] = "run `anyplace db upgrade`"
        return JSONResponse({"status": "not ready", **body}, status_code=503)
    return JSONResponse({"status": "ready", **body})
