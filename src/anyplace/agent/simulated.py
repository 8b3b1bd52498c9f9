"""The demo's session hosts: the real agent on every simulated host the sim cloud has booted.

A simulated host has no Windows to log on to, so its session source stands in
for the users' RDP clients: a session the broker placed on the host connects
(is reported active) at the next heartbeat, and a logoff removes it. Everything
else (enrolment, heartbeats over HTTP, commands) is the production agent code.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from anyplace.agent.client import Agent
from anyplace.broker.agents import create_enrolment_token
from anyplace.broker.heartbeat import ReportedSession
from anyplace.clock import Clock
from anyplace.domain import PowerState, SessionState
from anyplace.store.access import Store
from anyplace.store.models import Machine
from anyplace.store.models import Session as UserSession

__all__ = ["SimulatedHosts", "SimulatedSource"]

log = logging.getLogger(__name__)
LIVE = (SessionState.PENDING, SessionState.ACTIVE, SessionState.DISCONNECTED)


class SimulatedSource:
    """Reports the sessions the broker placed on this host, as if their users connected."""

    def __init__(self, store: Store, machine: str) -> None:
        self.store = store
        self.machine = machine
        self.logged_off: set[str] = set()
        self.disconnected: set[str] = set()
        self.messages: list[str] = []

    def sessions(self) -> list[ReportedSession]:
        with self.store.sessions() as session:
            rows = session.scalars(
                select(UserSession)
                .join(Machine, UserSession.machine_id == Machine.id)
                .where(Machine.name == self.machine, UserSession.state.in_(LIVE))
            ).all()
            return [
                ReportedSession(
                    external_id=row.external_id or str(row.id),
                    username=row.user.username,
                    state=SessionState.DISCONNECTED
                    if row.state is SessionState.DISCONNECTED
                    or (row.external_id or str(row.id)) in self.disconnected
                    else SessionState.ACTIVE,
                    apps=tuple(row.apps),
                )
                for row in rows
                if (row.external_id or str(row.id)) not in self.logged_off
            ]

    def log_off(self, session_id: str) -> None:
        self.logged_off.add(session_id)

    def disconnect(self, session_id: str) -> None:
        self.disconnected.add(session_id)

    def message(self, session_id: str | None, text: str) -> None:
        self.messages.append(text)


LIST_EVERY = 5.0
"""Seconds between looks at which hosts are on (a host that comes on beats within this)."""
TICK = 0.1


class SimulatedHosts:
    """Runs one agent per simulated host that is on, enrolling it the first time."""

    def __init__(self, store: Store, clock: Clock, broker_url: str, interval: float) -> None:
        self.store, self.clock = store, clock
        self.broker_url = broker_url
        self.interval = interval
        self.agents: dict[str, Agent] = {}
        self.state = Path(tempfile.mkdtemp(prefix="anyplace-sim-agents-"))
        self.http = httpx.Client(timeout=10)
        self._spread: dict[str, float] = {}
        """A new host's wait before its second beat: its point of the interval."""

    def beat_all(self) -> None:
        """One heartbeat from every host that is on, one after another."""
        for name in self._hosts_on():
            self.beat(name)

    def beat(self, name: str) -> None:
        agent = self.agents.get(name)
        if agent is None:
            agent = Agent(self.broker_url, self.state / name, SimulatedSource(self.store, name),
                          client=self.http, interval=self.interval)  # fmt: skip
            with self.store.transaction() as session:
                token = create_enrolment_token(
                    session, self.clock, name, valid=timedelta(minutes=5)
                )
            agent.enrol(token)
            self.agents[name] = agent
        agent.heartbeat()

    def _hosts_on(self) -> list[str]:
        with self.store.sessions() as session:
            on = {
                m.name
                for m in session.scalars(
                    select(Machine).where(
                        Machine.provider == "sim",
                        Machine.pool_id.is_not(None),
                        Machine.power_state == PowerState.ON,
                    )
                )
            }
        for name in set(self.agents) - on:
            del self.agents[name]  # the host stopped; its agent stopped with it
        return sorted(on)

    def run(self, stop: threading.Event) -> None:
        """Beat each host once per interval. A host that has just come on beats at once; after
        that the hosts' beats are spread over the interval, as real agents started at
        different moments are (every host at once would load the broker in bursts)."""
        due: dict[str, float] = {}
        listed_at = -LIST_EVERY
        hosts: list[str] = []
        while not stop.is_set():
            now = time.monotonic()
            if now - listed_at >= LIST_EVERY:
                try:
                    hosts = self._hosts_on()
                except Exception:
                    log.exception("simulated agents: could not read the hosts")
                listed_at = now
                for position, name in enumerate(hosts):
                    if name not in due:
                        # At its own point of the interval; a host no agent has beaten yet at once.
                        spread = self.interval * position / max(1, len(hosts))
                        due[name] = now if name not in self.agents else now + spread
                        self._spread[name] = self.interval + spread
                for name in set(due) - set(hosts):
                    del due[name]
            for name in [name for name in hosts if due.get(name, now + 1) <= now]:
                try:
                    self.beat(name)
                except Exception:
                    log.exception("simulated agents: heartbeat of %s failed", name)
                due[name] = now + self._spread.pop(name, self.interval)
            stop.wait(min(TICK, self.interval))
