"""Which session host a new session goes to (pure).

The load-balancing modes of Azure Virtual Desktop and Citrix:

- **breadth-first** spreads users: the host with the fewest sessions (AVD picks
  at random among the emptier half; we pick the emptiest, ties by name, so the
  choice is repeatable).
- **depth-first** fills a host to its maximum before the next one, so idle
  hosts can be stopped sooner.
- **load index** ranks hosts by a Citrix-style load evaluator: sessions against
  the maximum, CPU and memory, and logons in progress (Citrix's concurrent
  logon tolerance), each 0-10,000, the highest counting.

Only registered, powered-on hosts that are not draining and have room are
candidates. Reconnection to a user's own session comes first and is the
broker's (launch) business; this module picks a host for a new session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from anyplace.domain import LoadBalancing, SessionState

__all__ = ["Candidate", "Decision", "ExistingSession", "choose_host", "decide", "load_index"]

FULL = 10_000


class Candidate(NamedTuple):
    """A host as placement sees it (a named tuple: made for every launch, so it must be cheap)."""

    name: str
    sessions: int
    max_sessions: int
    registered: bool = True
    powered_on: bool = True
    draining: bool = False
    cpu_percent: float | None = None
    memory_percent: float | None = None
    logons_in_progress: int = 0

    @property
    def has_room(self) -> bool:
        return (
            self.registered
            and self.powered_on
            and not self.draining
            and self.sessions < self.max_sessions
        )


def load_index(host: Candidate, logon_tolerance: int = 2) -> int:
    """0 (idle) to 10,000 (full), the highest of the session, CPU, memory and logon loads."""
    loads = [FULL * host.sessions // max(1, host.max_sessions)]
    if host.cpu_percent is not None:
        loads.append(int(host.cpu_percent * 100))
    if host.memory_percent is not None:
        loads.append(int(host.memory_percent * 100))
    if host.logons_in_progress:
        loads.append(FULL * host.logons_in_progress // max(1, logon_tolerance))
    return min(FULL, max(loads))


def choose_host(hosts: Sequence[Candidate], mode: LoadBalancing) -> Candidate | None:
    """The host for a new session, or None when no host has room (start one on demand)."""
    open_hosts = [host for host in hosts if host.has_room]
    if not open_hosts:
        return None
    if mode is LoadBalancing.DEPTH_FIRST:
        return min(open_hosts, key=lambda h: (-h.sessions, h.name))
    if mode is LoadBalancing.LOAD_INDEX:
        full = [h for h in open_hosts if load_index(h) < FULL] or open_hosts
        return min(full, key=lambda h: (load_index(h), h.name))
    return min(open_hosts, key=lambda h: (h.sessions, h.name))


@dataclass(frozen=True)
class ExistingSession:
    """One of the user's own sessions in the pool."""

    session_id: int
    host: str
    state: SessionState


@dataclass(frozen=True)
class Decision:
    """Where a launch goes: back into the user's session, onto a new host, or to wait."""

    kind: str  # "reconnect", "new" or "starting"
    host: str | None = None
    session_id: int | None = None


RECONNECT_ORDER = {SessionState.DISCONNECTED: 0, SessionState.ACTIVE: 1, SessionState.PENDING: 2}


def decide(
    own: Sequence[ExistingSession], hosts: Sequence[Candidate], mode: LoadBalancing
) -> Decision:
    """Reconnect first, even to a draining host (as AVD and Citrix do), else place, else wait.

    A user's existing session in the pool takes the new app too (RemoteApps share
    a session), so one user never holds two sessions in a pool. A session on a
    host that is off or unregistered is not reconnected to.
    """
    reachable = {h.name for h in hosts if h.powered_on and h.registered}
    live = [s for s in own if s.state in RECONNECT_ORDER and s.host in reachable]
    if live:
        best = min(live, key=lambda s: (RECONNECT_ORDER[s.state], s.session_id))
        return Decision("reconnect", best.host, best.session_id)
    chosen = choose_host(hosts, mode)
    if chosen is None:
        return Decision("starting")
    return Decision("new", chosen.name)
