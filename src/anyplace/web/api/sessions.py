"""GET /api/v1/sessions: the caller's own sessions, or everyone's for an admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from anyplace.domain import SessionState
from anyplace.store.models import Session
from anyplace.web.api.paging import API_PREFIX, Limit, Offset
from anyplace.web.api.schemas import SessionOut
from anyplace.web.deps import Caller, DbSession

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, tags=["sessions"])


@router.get("/sessions", response_model=list[SessionOut])
def get_sessions(
    db: DbSession,
    caller: Caller,
    response: Response,
    state: Annotated[SessionState | None, Query(description="only sessions in this state")] = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[SessionOut]:
    query = select(Session)
    if not caller.is_admin:
        user_id = caller.user.id if caller.user is not None else -1
        query = query.where(Session.user_id == user_id)
    if state is not None:
        query = query.where(Session.state == state)
    response.headers["X-Total-Count"] = str(
        db.scalar(select(func.count()).select_from(query.subquery())) or 0
    )
    rows = db.scalars(
        query.options(
            selectinload(Session.user), selectinload(Session.pool), selectinload(Session.machine)
        )
        .order_by(Session.created_at.desc(), Session.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return [
        SessionOut(
            id=row.id,
            user=row.user.username,
            pool=row.pool.name,
            host=row.machine.name if row.machine else None,
            state=row.state,
            apps=row.apps,
            created_at=row.created_at,
            connected_at=row.connected_at,
            disconnected_at=row.disconnected_at,
            ended_at=row.ended_at,
        )
        for row in rows
    ]
