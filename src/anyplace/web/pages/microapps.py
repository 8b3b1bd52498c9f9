"""Microapps in the portal: the forms a person may use, submitting, and the live receipt."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from anyplace.audit import record
from anyplace.errors import Permanent, Transient
from anyplace.microapps.definitions import MicroappSpec
from anyplace.microapps.forms import FormErrors
from anyplace.microapps.outbox import submit
from anyplace.microapps.service import Microapps
from anyplace.microapps.worker import replay
from anyplace.store.models import Delivery, Submission
from anyplace.web.deps import DbSession, get_clock
from anyplace.web.i18n import current_locale
from anyplace.web.i18n import gettext_ as _
from anyplace.web.pages.auth import Admin, AdminCsrfChecked, CsrfChecked, PortalUser, Signed
from anyplace.web.pages.rendering import render

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
SEE_OTHER = 303
OPEN = ("pending", "running")


def _service(request: Request) -> Microapps:
    service: Microapps | None = request.app.state.microapps
    if service is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("Microapps are not enabled."))
    return service


def _may_use(me: PortalUser, spec: MicroappSpec) -> bool:
    return me.is_admin or bool({g.name for g in me.user.groups} & set(spec.groups))


def _spec(request: Request, me: PortalUser, microapp_id: str) -> MicroappSpec:
    spec = _service(request).library.microapps.get(microapp_id)
    if spec is None or not _may_use(me, spec):
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("There is no such form."))
    return spec


@router.get("/microapps", response_class=HTMLResponse)
def list_page(request: Request, me: Signed) -> HTMLResponse:
    specs = [s for s in _service(request).library.microapps.values() if _may_use(me, s)]
    return render(request, "microapps/list.html", {"specs": specs, "locale": current_locale()})


@router.get("/microapps/{microapp_id}", response_class=HTMLResponse)
def form_page(request: Request, microapp_id: str, me: Signed) -> HTMLResponse:
    spec = _spec(request, me, microapp_id)
    return render(
        request,
        "microapps/form.html",
        {"spec": spec, "values": {}, "errors": {}, "locale": current_locale()},
    )


@router.post("/microapps/{microapp_id}", response_model=None)
async def submit_form(
    request: Request, microapp_id: str, db: DbSession, me: CsrfChecked
) -> Response:
    spec = _spec(request, me, microapp_id)
    form = await request.form()
    values = {key: str(value) for key, value in form.items() if key != "csrf_token"}
    try:
        made = submit(
            db,
            get_clock(request),
            _service(request).library,
            spec.id,
            by=me.user.username,
            values=values,
        )
    except FormErrors as exc:
        context = {"spec": spec, "values": values, "errors": exc.errors, "locale": current_locale()}
        return render(request, "microapps/form.html", context, status_code=400)
    return RedirectResponse(f"/microapps/receipts/{made.id}", status_code=SEE_OTHER)


@router.get("/microapps/{microapp_id}/lookup/{field_name}", response_class=HTMLResponse)
def lookup(
    request: Request, microapp_id: str, field_name: str, db: DbSession, me: Signed
) -> HTMLResponse:
    """The field's input, prefilled from a system by another field's value (htmx swaps it in)."""
    spec = _spec(request, me, microapp_id)
    names = {f.name for f in spec.fields}
    rule = spec.field(field_name).lookup if field_name in names else None
    if rule is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("There is no such form."))
    by_value = request.query_params.get(rule.by, "").strip()
    value: str | None = None
    if by_value:
        try:
            value = _service(request).lookup(spec, field_name, by_value)
        except (Transient, Permanent):
            value = None  # the person types it instead
        if rule.by == spec.person_field:
            record(
                db,
                get_clock(request),
                actor=me.user.username,
                action="microapp-lookup",
                object_type="microapp",
                object_id=spec.id,
                details={"microapp": spec.id, "field": field_name},
                subject=by_value,
            )
    context = {
        "spec": spec,
        "f": spec.field(field_name),
        "values": {field_name: value or ""},
        "errors": {},
        "locale": current_locale(),
    }
    return render(request, "microapps/_input.html", context)


def _submission(db: DbSession, me: PortalUser, submission_id: str) -> Submission:
    row = db.get(Submission, submission_id)
    if row is None or not (me.is_admin or row.submitted_by == me.user.username):
        raise HTTPException(status.HTTP_404_NOT_FOUND, _("There is no such receipt."))
    return row


@router.get("/microapps/receipts/{submission_id}", response_class=HTMLResponse)
def receipt(request: Request, submission_id: str, db: DbSession, me: Signed) -> HTMLResponse:
    row = _submission(db, me, submission_id)
    fragment = request.headers.get("hx-request") == "true"
    if not fragment:  # every look at a person's data is audited (not each live refresh)
        record(
            db,
            get_clock(request),
            actor=me.user.username,
            action="submission-view",
            object_type="submission",
            object_id=row.id,
            details={"microapp": row.microapp},
            subject=row.person,
        )
    spec = _service(request).library.microapps.get(row.microapp)
    context = {
        "submission": row,
        "spec": spec,
        "open": any(d.state in OPEN for d in row.deliveries),
        "locale": current_locale(),
    }
    template = "microapps/_status.html" if fragment else "microapps/receipt.html"
    return render(request, template, context)


@router.get("/admin/deliveries", response_class=HTMLResponse)
def deliveries_page(
    request: Request, db: DbSession, _admin: Admin, state: str = "dead"
) -> HTMLResponse:
    rows = db.scalars(
        select(Delivery).where(Delivery.state == state).order_by(Delivery.id.desc()).limit(500)
    ).all()
    return render(request, "admin/deliveries.html", {"rows": rows, "state": state})


@router.post("/admin/deliveries/replay", response_model=None)
async def replay_deliveries(
    request: Request, db: DbSession, me: AdminCsrfChecked, every: Annotated[str, Form()] = ""
) -> Response:
    form = await request.form()
    ids = [int(str(v)) for v in form.getlist("ids") if str(v).isdigit()]
    if every == "1":
        ids = list(db.scalars(select(Delivery.id).where(Delivery.state == "dead")))
    db.commit()  # replay runs in its own transaction
    replay(request.app.state.store, get_clock(request), ids, by=me.user.username)
    return RedirectResponse("/admin/deliveries", status_code=SEE_OTHER)
