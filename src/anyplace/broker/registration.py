"""Whether a host's agent counts as registered (pure).

Citrix deregisters a VDA that missed its pings for 10 minutes; we are stricter
because our heartbeat is shorter: a host that missed two heartbeats gets no
new launches.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["MISSED_HEARTBEATS", "is_registered"]

MISSED_HEARTBEATS = 2


def is_registered(last_heartbeat_at: datetime | None, now: datetime, interval_s: float) -> bool:
    if last_heartbeat_at is None:
        return False
    return now - last_heartbeat_at <= timedelta(seconds=interval_s * MISSED_HEARTBEATS)
