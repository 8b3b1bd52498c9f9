"""Server-rendered pages; the portal comes with its own issue, this is the landing page."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select

from anyplace.store.models import App, Machine, Pool
from anyplace.web.deps import DbSession

__all__ = ["STATIC_DIR", "router"]

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def index(request: Request, db: DbSession) -> HTMLResponse:
    context = {
        "apps": db.scalar(select(func.count(App.id)).where(App.enabled)) or 0,
        "pools": db.scalar(select(func.count(Pool.id))) or 0,
        "hosts": db.scalar(select(func.count(Machine.id)).where(Machine.pool_id.is_not(None))) or 0,
    }
    return templates.TemplateResponse(request, "index.html", context)
