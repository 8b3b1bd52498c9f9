"""The audit log: who did what, when. Every admin action and every sign-in is recorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from anyplace.clock import Clock
from anyplace.store.models import AuditEvent

__all__ = ["record"]


def record(
    db: Session,
    clock: Clock,
    *,
    actor: str,
    action: str,
    object_type: str | None = None,
    object_id: str | int | None = None,
    details: dict[str, Any] | None = None,
    subject: str | None = None,
) -> AuditEvent:
    event = AuditEvent(
        at=clock.now(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        details=details or {},
        subject=subject,
    )
    db.add(event)
    return event
