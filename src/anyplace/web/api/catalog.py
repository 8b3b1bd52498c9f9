"""GET /api/v1/apps: the apps the caller may use (all of them for an admin)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from sqlalchemy import func, select

from anyplace.catalog.queries import entitled_app_ids, list_apps
from anyplace.store.models import App
from anyplace.web.api.paging import API_PREFIX, Limit, Offset
from anyplace.web.api.schemas import AppOut
from anyplace.web.deps import Caller, DbSession

__all__ = ["router"]

router = APIRouter(prefix=API_PREFIX, tags=["catalog"])


@router.get("/apps", response_model=list[AppOut])
def get_apps(
    db: DbSession, caller: Caller, response: Response, limit: Limit = 1000, offset: Offset = 0
) -> list[AppOut]:
    user = None if caller.is_admin else caller.user
    total_query = select(func.count(App.id)).where(App.enabled.is_(True))
    if user is not None:
        total_query = total_query.where(App.id.in_(entitled_app_ids(user.id)))
    response.headers["X-Total-Count"] = str(db.scalar(total_query) or 0)
    return [AppOut.from_row(app) for app in list_apps(db, user=user, limit=limit, offset=offset)]
