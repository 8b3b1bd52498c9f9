"""Admin console, the directory: apps and entitlements, users and groups, the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, UploadFile, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from anyplace.audit import record
from anyplace.catalog.editing import CatalogError, parse_apps_csv, save_apps, spec_from_form
from anyplace.identity.websessions import end_all_sessions
from anyplace.store.models import App, AuditEvent, Category, Group, Pool, User, group_members
from anyplace.web.deps import DbSession, get_clock
from anyplace.web.pages.auth import Admin, AdminCsrfChecked
from anyplace.web.pages.rendering import render

__all__ = ["router"]

router = APIRouter(prefix="/admin", include_in_schema=False)
SEE_OTHER = 303
PAGE = 50
MAX_CSV_BYTES = 2_000_000


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


@router.get("/apps", response_class=HTMLResponse)
def apps_page(request: Request, db: DbSession, _: Admin, q: str = "") -> HTMLResponse:
    query = select(App).options(
        selectinload(App.groups), selectinload(App.category), selectinload(App.pool)
    )
    if q:
        pattern = _like(q)
        query = query.where(
            or_(
                App.slug.ilike(pattern, escape="\\"),
                App.name_da.ilike(pattern, escape="\\"),
                App.name_en.ilike(pattern, escape="\\"),
            )
        )
    apps = db.scalars(query.order_by(App.name_da)).all()
    return render(request, "admin/apps.html", {"apps": apps, "q": q})


def _form_context(db: DbSession) -> dict[str, object]:
    return {
        "categories": db.scalars(select(Category).order_by(Category.sort_order)).all(),
        "pools": db.scalars(select(Pool).order_by(Pool.name)).all(),
        "groups": db.scalars(select(Group).order_by(Group.name)).all(),
    }


@router.get("/apps/new", response_class=HTMLResponse)
def new_app_page(request: Request, db: DbSession, _: Admin) -> HTMLResponse:
    return render(request, "admin/app_form.html", {"app": None, "values": {}, **_form_context(db)})


@router.get("/apps/{slug}", response_class=HTMLResponse)
def app_page(request: Request, slug: str, db: DbSession, _: Admin) -> HTMLResponse:
    app = db.scalar(select(App).where(App.slug == slug))
    if app is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no app {slug!r}")
    values = {
        "slug": app.slug,
        "da": app.name_da,
        "en": app.name_en,
        "category": app.category.slug,
        "kind": app.kind.value,
        "pool": app.pool.name if app.pool else "",
        "program": app.program or "",
        "url": app.url or "",
        "keywords": "; ".join(app.keywords),
        "groups": [g.name for g in app.groups],
    }
    return render(
        request, "admin/app_form.html", {"app": app, "values": values, **_form_context(db)}
    )


@router.post("/apps", response_model=None)
async def save_app(request: Request, db: DbSession, me: AdminCsrfChecked) -> Response:
    form = await request.form()
    values: dict[str, str | None] = {
        key: str(form.get(key) or "")
        for key in ("slug", "da", "en", "category", "kind", "pool", "program", "url", "keywords")
    }
    values["groups"] = ";".join(str(g) for g in form.getlist("groups"))
    try:
        spec = spec_from_form(values)
        created, _ = save_apps(db, [(None, spec)])
    except CatalogError as exc:
        context = {
            "app": None,
            "values": {**values, "groups": form.getlist("groups")},
            "problems": exc.problems,
        }
        return render(
            request, "admin/app_form.html", {**context, **_form_context(db)}, status_code=400
        )
    record(
        db,
        get_clock(request),
        actor=me.user.username,
        action="app-create" if created else "app-update",
        object_type="app",
        object_id=spec.slug,
        details={"groups": list(spec.groups)},
    )
    return RedirectResponse(f"/admin/apps?q={spec.slug}", status_code=SEE_OTHER)


@router.post("/apps/import", response_model=None)
async def import_apps(
    request: Request, db: DbSession, me: AdminCsrfChecked, file: UploadFile
) -> Response:
    raw = await file.read(MAX_CSV_BYTES + 1)
    try:
        if len(raw) > MAX_CSV_BYTES:
            raise ValueError("the file is larger than 2 MB")
        text = raw.decode("utf-8-sig")
        specs = parse_apps_csv(text)
        created, updated = save_apps(db, specs)
    except (ValueError, CatalogError) as exc:
        problems = exc.problems if isinstance(exc, CatalogError) else [str(exc)]
        apps = db.scalars(select(App).order_by(App.name_da)).all()
        context = {"apps": apps, "q": "", "problems": problems, "filename": file.filename}
        return render(request, "admin/apps.html", context, status_code=400)
    record(
        db,
        get_clock(request),
        actor=me.user.username,
        action="apps-import",
        object_type="app",
        details={"file": file.filename, "created": created, "updated": updated},
    )
    return RedirectResponse(f"/admin/apps?imported={created + updated}", status_code=SEE_OTHER)


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request, db: DbSession, _: Admin, q: str = "", page: int = 0
) -> HTMLResponse:
    query = select(User).options(selectinload(User.groups))
    if q:
        pattern = _like(q)
        query = query.where(
            or_(
                User.username.ilike(pattern, escape="\\"),
                User.display_name.ilike(pattern, escape="\\"),
            )
        )
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    users = db.scalars(query.order_by(User.username).offset(max(page, 0) * PAGE).limit(PAGE)).all()
    return render(
        request,
        "admin/users.html",
        {"users": users, "q": q, "page": page, "total": total, "per_page": PAGE},
    )


@router.post("/users/{username}/active", response_model=None)
def set_active(
    request: Request, username: str, db: DbSession, me: AdminCsrfChecked, on: Annotated[str, Form()]
) -> Response:
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user {username!r}")
    if user.id == me.user.id:
        raise HTTPException(status.HTTP_409_CONFLICT, "you cannot disable your own account")
    user.is_active = on == "1"
    clock = get_clock(request)
    if not user.is_active:
        end_all_sessions(db, clock, user.id)
    action = "user-enable" if user.is_active else "user-disable"
    record(db, clock, actor=me.user.username, action=action, object_type="user", object_id=username)
    return RedirectResponse(f"/admin/users?q={username}", status_code=SEE_OTHER)


@router.get("/groups", response_class=HTMLResponse)
def groups_page(request: Request, db: DbSession, _: Admin) -> HTMLResponse:
    members: dict[int, int] = dict(
        db.execute(
            select(group_members.c.group_id, func.count()).group_by(group_members.c.group_id)
        ).all()
    )
    groups = db.scalars(select(Group).options(selectinload(Group.apps)).order_by(Group.name)).all()
    rows = [{"group": g, "members": members.get(g.id, 0), "apps": len(g.apps)} for g in groups]
    return render(request, "admin/groups.html", {"rows": rows})


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    db: DbSession,
    _: Admin,
    actor: str = "",
    action: str = "",
    days: int = 7,
) -> HTMLResponse:
    since: datetime = get_clock(request).now() - timedelta(days=max(1, min(days, 366)))
    query = select(AuditEvent).where(AuditEvent.at >= since)
    if actor:
        query = query.where(AuditEvent.actor == actor)
    if action:
        query = query.where(AuditEvent.action == action)
    events = db.scalars(query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(500)).all()
    actions = db.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)).all()
    context = {"events": events, "actor": actor, "action": action, "days": days, "actions": actions}
    return render(request, "admin/audit.html", context)
