"""Admin console, the estate: pools and their hosts, power by hand, today's chart and costs."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from anyplace.audit import record
from anyplace.broker.registration import is_registered
from anyplace.domain import PowerActionKind, PowerState, SessionState
from anyplace.errors import AnyplaceError
from anyplace.power.manual import request_power, set_maintenance
from anyplace.power.report import PowerReport, power_report
from anyplace.power.timeline import Interval, Timeline, build_timeline
from anyplace.store.models import HostUsage, Machine, Pool, PoolLoadSample
from anyplace.store.models import Session as UserSession
from anyplace.web.deps import DbSession, get_clock
from anyplace.web.pages.auth import Admin, AdminCsrfChecked
from anyplace.web.pages.rendering import LOCAL_ZONE, render

__all__ = ["router"]

router = APIRouter(prefix="/admin", include_in_schema=False)
SEE_OTHER = 303
LIVE = (SessionState.PENDING, SessionState.ACTIVE, SessionState.DISCONNECTED)


def _day_start(now: datetime, zone: ZoneInfo) -> datetime:
    local = now.astimezone(zone)
    return datetime.combine(local.date(), time(0), tzinfo=zone)


def _reports(request: Request, db: Session) -> tuple[PowerReport, PowerReport]:
    now = get_clock(request).now()
    settings = request.app.state.settings.power
    today = _day_start(now, LOCAL_ZONE)
    month = today.replace(day=1)
    day_report = power_report(
        db, start=today, end=today + timedelta(days=1), now=now, settings=settings
    )
    month_end = (month + timedelta(days=32)).replace(day=1)
    month_report = power_report(db, start=month, end=month_end, now=now, settings=settings)
    return day_report, month_report


@router.get("", response_model=None)
def admin_home(_: Admin) -> Response:
    return RedirectResponse("/admin/pools", status_code=SEE_OTHER)


@router.get("/pools", response_class=HTMLResponse)
def pools_page(request: Request, db: DbSession, _: Admin) -> HTMLResponse:
    pools = db.scalars(select(Pool).options(selectinload(Pool.hosts)).order_by(Pool.name)).all()
    sessions = dict(
        db.execute(
            select(UserSession.pool_id, func.count(UserSession.id))
            .where(UserSession.state.in_(LIVE))
            .group_by(UserSession.pool_id)
        ).all()
    )
    day, month = _reports(request, db)
    rows = [
        {
            "pool": pool,
            "on": sum(1 for h in pool.hosts if h.power_state is PowerState.ON),
            "sessions": sessions.get(pool.id, 0),
        }
        for pool in pools
    ]
    return render(request, "admin/pools.html", {"rows": rows, "day": day, "month": month})


def _timeline(db: Session, pool: Pool, start: datetime, end: datetime) -> Timeline:
    samples = db.execute(
        select(PoolLoadSample.at, PoolLoadSample.sessions).where(
            PoolLoadSample.pool_id == pool.id,
            PoolLoadSample.at >= start,
            PoolLoadSample.at <= end,
        )
    ).all()
    usage = db.scalars(
        select(HostUsage).where(
            HostUsage.machine_id.in_([h.id for h in pool.hosts]),
            HostUsage.power_state == PowerState.ON,
            HostUsage.started_at < end,
            (HostUsage.ended_at.is_(None)) | (HostUsage.ended_at > start),
        )
    ).all()
    intervals = [Interval(max(u.started_at, start), u.ended_at) for u in usage]
    return build_timeline(
        start, end, [(at, n) for at, n in samples], intervals, pool.max_sessions_per_host
    )


@router.get("/pools/{name}", response_class=HTMLResponse)
def pool_page(request: Request, name: str, db: DbSession, _: Admin) -> HTMLResponse:
    pool = db.scalar(select(Pool).where(Pool.name == name).options(selectinload(Pool.hosts)))
    if pool is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no pool {name!r}")
    now = get_clock(request).now()
    counts = dict(
        db.execute(
            select(UserSession.machine_id, func.count(UserSession.id))
            .where(UserSession.pool_id == pool.id, UserSession.state.in_(LIVE))
            .group_by(UserSession.machine_id)
        ).all()
    )
    interval = request.app.state.settings.broker.heartbeat_seconds
    hosts = [
        {
            "host": host,
            "registered": is_registered(host.last_heartbeat_at, now, interval),
            "sessions": counts.get(host.id, 0),
        }
        for host in pool.hosts
    ]
    start = _day_start(now, LOCAL_ZONE)
    timeline = _timeline(db, pool, start, min(now, start + timedelta(days=1)))
    day, month = _reports(request, db)
    line_day = next((line for line in day.lines if line.name == pool.name), None)
    line_month = next((line for line in month.lines if line.name == pool.name), None)
    context = {
        "pool": pool,
        "hosts": hosts,
        "timeline": timeline,
        "day_end": start + timedelta(days=1),
        "line_day": line_day,
        "line_month": line_month,
    }
    return render(request, "admin/pool.html", context)


def _host(db: Session, name: str) -> Machine:
    host = db.scalar(select(Machine).where(Machine.name == name, Machine.pool_id.is_not(None)))
    if host is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no host {name!r}")
    return host


def _back_to(host: Machine) -> str:
    return f"/admin/pools/{host.pool.name}" if host.pool else "/admin/pools"


@router.post("/hosts/{name}/maintenance", response_model=None)
def maintenance(
    request: Request, name: str, db: DbSession, me: AdminCsrfChecked, on: Annotated[str, Form()]
) -> Response:
    host = _host(db, name)
    set_maintenance(host, on == "1")
    action = "host-drain" if on == "1" else "host-undrain"
    record(
        db,
        get_clock(request),
        actor=me.user.username,
        action=action,
        object_type="host",
        object_id=name,
    )
    return RedirectResponse(_back_to(host), status_code=SEE_OTHER)


@router.post("/hosts/{name}/power", response_model=None)
def power(
    request: Request, name: str, db: DbSession, me: AdminCsrfChecked, action: Annotated[str, Form()]
) -> Response:
    host = _host(db, name)
    kinds = {"start": PowerActionKind.START, "stop": PowerActionKind.STOP}
    if action not in kinds:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "action must be start or stop")
    try:
        request_power(db, get_clock(request), host, kinds[action], me.user.username)
    except AnyplaceError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    record(
        db,
        get_clock(request),
        actor=me.user.username,
        action=f"host-{action}",
        object_type="host",
        object_id=name,
    )
    return RedirectResponse(_back_to(host), status_code=SEE_OTHER)
