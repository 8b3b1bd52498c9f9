"""GDPR retention: what a person entered is deleted after the retention period.

Who submitted what to which microapp and when, and where each delivery went,
are kept (the audit trail); the values themselves, and the rendered requests
that carry them, are not. A delivery still open when its time is up is
finished first: retention runs only on submissions whose deliveries are all
done (delivered, skipped or dead).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import exists, select, update

from anyplace.audit import record
from anyplace.clock import Clock
from anyplace.store.access import Store
from anyplace.store.models import Delivery, Submission

__all__ = ["apply_retention"]

OPEN = ("pending", "running")


def apply_retention(store: Store, clock: Clock, days: int) -> int:
    """Delete the values of submissions older than `days`; returns how many."""
    cutoff = clock.now() - timedelta(days=days)
    with store.transaction() as session:
        still_open = exists().where(
            Delivery.submission_id == Submission.id, Delivery.state.in_(OPEN)
        )
        ids = list(
            session.scalars(
                select(Submission.id).where(
                    Submission.submitted_at < cutoff,
                    Submission.payload_deleted_at.is_(None),
                    ~still_open,
                )
            )
        )
        if not ids:
            return 0
        session.execute(
            update(Submission)
            .where(Submission.id.in_(ids))
            .values(payload=None, payload_deleted_at=clock.now())
        )
        session.execute(
            update(Delivery).where(Delivery.submission_id.in_(ids)).values(request=None)
        )
        record(
            session,
            clock,
            actor="retention",
            action="payloads-deleted",
            details={"submissions": len(ids), "days": days},
        )
    return len(ids)
