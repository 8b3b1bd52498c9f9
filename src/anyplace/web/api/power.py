"""GET /api/v1/power/plan and /api/v1/power/report, for admins: the same as the CLI says."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from anyplace.power.preview import PlanPreview, preview
from anyplace.power.report import PowerReport, power_report
from anyplace.web.api.paging import API_PREFIX
from anyplace.web.deps import DbSession, Principal, get_clock, require_admin

__all__ = ["router"]

router = APIRouter(prefix=f"{API_PREFIX}/power", tags=["power"])
Admin = Annotated[Principal, Depends(require_admin)]


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"{name} needs a UTC offset, e.g. +01:00"
        )
    return value


@router.get("/plan", response_model=PlanPreview)
def get_plan(
    request: Request,
    db: DbSession,
    _: Admin,
    at: Annotated[
        datetime | None, Query(description="When (ISO 8601 with offset); now if left out.")
    ] = None,
) -> PlanPreview:
    """What the controller would do at `at`, and why, without doing it."""
    when = _aware(at, "at") or get_clock(request).now()
    return preview(db, request.app.state.settings.power, when)


@router.get("/report", response_model=PowerReport)
def get_report(
    request: Request,
    db: DbSession,
    _: Admin,
    start: Annotated[datetime, Query(alias="from", description="Start (ISO 8601 with offset).")],
    end: Annotated[datetime | None, Query(alias="to", description="End; now if left out.")] = None,
) -> PowerReport:
    """Hours, cost, kWh and CO2 per pool and server group, with savings against always-on."""
    now = get_clock(request).now()
    first = _aware(start, "from")
    last = _aware(end, "to") or now
    assert first is not None
    if last <= first:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "'to' must be after 'from'")
    return power_report(
        db, start=first, end=last, now=now, settings=request.app.state.settings.power
    )
