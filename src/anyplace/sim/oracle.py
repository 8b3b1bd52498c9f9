"""The lower bound on cost: a clairvoyant that knows every session in advance.

At each minute exactly the hosts needed for the sessions running then are on
(sessions / max sessions per host, rounded up), each started exactly one boot
time before it is needed and stopped the minute it is not, billed at the
provider's unit. Hosts are stacked: the last one started is the first stopped,
which gives the fewest and longest runs. No real strategy can do better,
because none knows when the next user arrives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from anyplace.power.metering import billed_seconds
from anyplace.sim.model import PoolSetup
from anyplace.sim.traces import TraceSession

__all__ = ["OracleResult", "oracle_cost"]

MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class OracleResult:
    cost: Decimal
    host_hours: float


def oracle_cost(
    setup: PoolSetup, sessions: Sequence[TraceSession], *, start: datetime, end: datetime
) -> OracleResult:
    minutes = math.ceil((end - start) / MINUTE)
    delta = [0] * (minutes + 1)
    for session in sessions:
        if session.pool != setup.name or not start <= session.start < end:
            continue
        first = int((session.start - start) / MINUTE)
        last = min(minutes, math.ceil((min(session.end, end) - start) / MINUTE))
        delta[first] += 1
        delta[last] -= 1
    boot = setup.boot_minutes * 60
    started: list[int] = []  # minute each stacked host became needed
    billed = allocated = 0.0
    running = hosts = 0
    for minute in range(minutes + 1):
        running += delta[minute]
        needed = min(len(setup.hosts), math.ceil(running / setup.max_sessions))
        while hosts < needed:
            started.append(minute)
            hosts += 1
        while hosts > needed:
            seconds = (minute - started.pop()) * 60 + boot
            allocated += seconds
            billed += billed_seconds(seconds, setup.billing)
            hosts -= 1
    for first in started:
        seconds = (minutes - first) * 60 + boot
        allocated += seconds
        billed += billed_seconds(seconds, setup.billing)
    cost = setup.price_per_hour * Decimal(math.ceil(billed)) / Decimal(3600)
    return OracleResult(cost, allocated / 3600)
