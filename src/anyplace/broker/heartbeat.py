"""What a host's heartbeat says about its sessions, against what the broker knows (pure).

The agent is the truth about who is logged on: a pending session (launched,
not yet arrived) is matched to the user's reported session and becomes active
or disconnected; a session the agent no longer reports has ended; a session
the agent reports that the broker did not launch (a direct logon) is adopted.
A pending session is given `pending_grace` to arrive before it counts as
failed, since a logon takes a while.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from anyplace.domain import SessionState

__all__ = ["Change", "KnownSession", "ReportedSession", "reconcile_sessions"]


@dataclass(frozen=True)
class KnownSession:
    id: int
    username: str
    state: SessionState
    external_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class ReportedSession:
    external_id: str
    username: str
    state: SessionState  # ACTIVE or DISCONNECTED
    apps: tuple[str, ...] = ()
    idle_seconds: float = 0.0


@dataclass(frozen=True)
class Change:
    kind: str  # "update", "end" or "adopt"
    session_id: int | None
    report: ReportedSession | None = None


def reconcile_sessions(
    known: Sequence[KnownSession],
    reported: Sequence[ReportedSession],
    now: datetime,
    pending_grace: timedelta = timedelta(minutes=2),
) -> list[Change]:
    changes: list[Change] = []
    by_external = {k.external_id: k for k in known if k.external_id}
    pending = [k for k in known if k.state is SessionState.PENDING and not k.external_id]
    matched: set[int] = set()
    for report in reported:
        found = by_external.get(report.external_id)
        if found is None:
            found = next(
                (k for k in pending if k.username == report.username and k.id not in matched), None
            )
        if found is None:
            changes.append(Change("adopt", None, report))
            continue
        matched.add(found.id)
        changes.append(Change("update", found.id, report))
    for session in known:
        if session.id in matched:
            continue
        waiting = session.state is SessionState.PENDING and not session.external_id
        if waiting and now - session.created_at < pending_grace:
            continue
        changes.append(Change("end", session.id))
    return changes
