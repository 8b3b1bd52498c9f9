"""A session's end asked for by its user or an admin: the host's agent carries it out."""

from __future__ import annotations

from typing import Literal

from sqlalchemy.orm import Session

from anyplace.clock import Clock
from anyplace.domain import PowerActionKind, PowerActionState, SessionState
from anyplace.errors import AnyplaceError
from anyplace.store.models import PowerAction
from anyplace.store.models import Session as UserSession

__all__ = ["SessionEnded", "request_logoff"]


class SessionEnded(AnyplaceError):
    """The session has ended already."""


def request_logoff(
    db: Session, clock: Clock, row: UserSession, by: str
) -> Literal["ended", "logging off"]:
    """End a session that never reached a host at once; ask the agent to log off the rest."""
    if row.state is SessionState.ENDED:
        raise SessionEnded("the session has ended already")
    now = clock.now()
    if row.machine_id is None or (row.state is SessionState.PENDING and row.external_id is None):
        row.state, row.ended_at = SessionState.ENDED, now
        return "ended"
    db.add(
        PowerAction(
            machine_id=row.machine_id,
            session_id=row.id,
            action=PowerActionKind.LOGOFF,
            reason=f"logoff asked by {by}"[:400],
            state=PowerActionState.PENDING,
            idempotency_key=f"logoff/{row.id}/{now.isoformat()}",
            requested_at=now,
        )
    )
    return "logging off"
