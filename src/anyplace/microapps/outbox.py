"""Taking a submission: the submission and one delivery per target, in one transaction.

The caller commits before the person is answered, so "sent" always means "will
be delivered" (the transactional outbox). Each target's mapping is rendered now,
in the sandbox, from the cleaned values: a replay later sends exactly what was
submitted, with the same idempotency key (submission id and target).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from jinja2 import Template, TemplateError
from sqlalchemy.orm import Session

from anyplace.audit import record
from anyplace.clock import Clock
from anyplace.errors import AnyplaceError, NotFound
from anyplace.microapps.definitions import Library, MicroappSpec, TargetSpec, template_env
from anyplace.microapps.forms import clean_form
from anyplace.store.models import Delivery, Submission

__all__ = ["render_request", "render_request_path", "submit"]

_ENV = template_env()


@lru_cache(maxsize=4096)
def _template(source: str) -> Template:
    """Compiled once: a definition's few templates serve every submission."""
    return _ENV.from_string(source)


@lru_cache(maxsize=1024)
def _condition(source: str) -> Any:
    return _ENV.compile_expression(source)


def _render(value: Any, context: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return _template(value).render(context) if "{" in value else value
    if isinstance(value, Mapping):
        return {key: _render(item, context) for key, item in value.items()}
    if isinstance(value, list):
        return [_render(item, context) for item in value]
    return value


def render_request_path(template: str, context: Mapping[str, Any]) -> str:
    """A lookup's path; the values are URL-quoted so a field cannot change the path."""
    quoted = {key: quote(str(value), safe="") for key, value in context.items()}
    return str(_render(template, quoted))


def render_request(target: TargetSpec, context: Mapping[str, Any]) -> dict[str, Any] | None:
    """The target's request, or None when its condition is false."""
    try:
        if target.condition and not _condition(target.condition)(**context):
            return None
        rendered: dict[str, Any] = _render(target.mapping, context)
    except TemplateError as exc:
        raise AnyplaceError(f"target {target.name}: {exc}") from None
    return rendered


def submit(
    db: Session,
    clock: Clock,
    library: Library,
    microapp_id: str,
    *,
    by: str,
    values: Mapping[str, Any],
) -> Submission:
    spec: MicroappSpec | None = library.microapps.get(microapp_id)
    if spec is None:
        raise NotFound(f"no microapp {microapp_id!r}")
    cleaned = clean_form(spec, values)
    now = clock.now()
    submission_id = str(uuid.uuid4())
    context = {
        **cleaned,
        "submission": {"id": submission_id, "by": by, "at": now.isoformat()},
        "microapp": spec.id,
    }
    person = (
        str(cleaned[spec.person_field])
        if spec.person_field and spec.person_field in cleaned
        else None
    )
    submission = Submission(
        id=submission_id,
        microapp=spec.id,
        version=library.versions.get(spec.id, ""),
        submitted_by=by,
        submitted_at=now,
        person=person,
        payload=cleaned,
    )
    db.add(submission)
    for target in spec.targets:
        request = render_request(target, {**context, "target": target.name})
        db.add(
            Delivery(
                submission_id=submission_id,
                target=target.name,
                connector=target.connector,
                state="pending" if request is not None else "skipped",
                idempotency_key=f"{submission_id}:{target.name}",
                request=request,
                limits=target.limits.model_dump(),
                attempts=0,
                next_attempt_at=now if request is not None else None,
                created_at=now,
                finished_at=None if request is not None else now,
            )
        )
    record(
        db,
        clock,
        actor=by,
        action="microapp-submit",
        object_type="submission",
        object_id=submission_id,
        details={"microapp": spec.id},
        subject=person,
    )
    return submission  # flushed with the caller's commit: many submissions batch their inserts
