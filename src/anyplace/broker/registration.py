"""Whether a host's agent counts as registered (pure).

Citrix deregisters a VDA that missed its pings for 10 minutes; we are stricter
because our heartbeat is shorter: a host that missed two heartbeats gets no
new launches.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["MISSED_HEARTBEATS", "is_registered", "registered_since"]

MISSED_HEARTBEATS = 2


def registered_since(now: datetime, interval_s: float) -> datetime:
    """The oldest last heartbeat a registered host can have (for asking the database)."""
    return now - timedelta(seconds=interval_s * MISSED_HEARTBEATS)


def is_registered(last_heartbeat_at: datetime | None, now: datetime, interval_s: float) -> bool:
    if last_heartbeat_at is None:
        return False
    return last_heartbeat_at >= registered_since(now, interval_s)
