"""GET /api/v1/pools and /api/v1/hosts: the session-host estate, for admins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from anyplace.broker.registration import is_registered
from anyplace.catalog.pools import list_pools
from anyplace.domain import SessionState
from anyplace.store.models import Machine, Pool, Session
from anyplace.web.api.paging import API_PREFIX, Limit, Offset
from anyplace.web.api.schemas import HostOut, PoolOut
from anyplace.web.deps import DbSession, Principal, get_clock, require_admin

__all__ = ["LIVE_SESSION_STATES", "router"]

router = APIRouter(prefix=API_PREFIX, tags=["estate"])
Admin = Annotated[Principal, Depends(require_admin)]
LIVE_SESSION_STATES = (SessionState.PENDING, SessionState.ACTIVE, SessionState.DISCONNECTED)


@router.get("/pools", response_model=list[PoolOut])
def get_pools(db: DbSession, _: Admin) -> list[PoolOut]:
    return [PoolOut.from_row(pool) for pool in list_pools(db)]


@router.get("/hosts", response_model=list[HostOut])
def get_hosts(
    request: Request,
    db: DbSession,
    _: Admin,
    response: Response,
    pool: Annotated[str | None, Query(description="only this pool's hosts")] = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[HostOut]:
    query = select(Machine).join(Pool, Machine.pool_id == Pool.id)
    if pool is not None:
        query = query.where(Pool.name == pool)
    response.headers["X-Total-Count"] = str(
        db.scalar(select(func.count()).select_from(query.subquery())) or 0
    )
    hosts = db.scalars(
        query.options(selectinload(Machine.pool)).order_by(Machine.name).offset(offset).limit(limit)
    ).all()
    counts = dict(
        db.execute(
            select(Session.machine_id, func.count(Session.id))
            .where(Session.state.in_(LIVE_SESSION_STATES))
            .where(Session.machine_id.in_([host.id for host in hosts]))
            .group_by(Session.machine_id)
        ).all()
    )
    now = get_clock(request).now()
    interval = request.app.state.settings.broker.heartbeat_seconds
    return [
        HostOut(
            name=host.name,
            pool=host.pool.name if host.pool else "",
            provider_id=host.provider_id,
            power_state=host.power_state,
            drain=host.drain,
            maintenance=host.maintenance,
            registered=is_registered(host.last_heartbeat_at, now, interval),
            last_heartbeat_at=host.last_heartbeat_at,
            sessions=counts.get(host.id, 0),
            cpu_percent=host.cpu_percent,
            memory_percent=host.memory_percent,
        )
        for host in hosts
    ]
