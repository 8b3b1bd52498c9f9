"""Launches answered in batches by one thread: a storm costs a few statements per batch.

A launch is a small read-then-write transaction, and on SQLite every such
transaction queues for the one writer. One transaction per request spends most
of its time in per-statement overhead and in handing the write lock from thread
to thread; here the requests that arrive while one batch is being decided wait
and go together into the next (group commit, as databases do for their own
log). An idle broker answers a lone launch at once; a busy one answers more per
batch, never fewer per second. On PostgreSQL every replica batches its own
requests, and one advisory lock taken at the start of each batch's transaction
serializes the batches of all replicas, so two replicas cannot overfill a host.

Nothing is answered before its batch has committed (DESIGN.md, principle 5).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from anyplace.broker.launch import LaunchAsk, Outcome, start_launches
from anyplace.clock import Clock
from anyplace.config import BrokerSettings
from anyplace.power.locks import AdvisoryLocks

__all__ = ["LaunchBatcher"]

log = logging.getLogger(__name__)

MAX_BATCH = 256
"""Enough to carry a storm; small enough that one batch stays a short transaction."""

BROKER_LOCK = AdvisoryLocks.lock_id("broker:placement")
"""The PostgreSQL advisory lock that serializes placement across replicas."""


class LaunchBatcher:
    """Takes launch asks from any thread or event loop; one thread decides them in batches."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        settings: BrokerSettings,
        request_capacity: Callable[[str], object] | None = None,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._settings = settings
        self._request_capacity = request_capacity
        self._queue: queue.SimpleQueue[tuple[LaunchAsk, Future[Outcome]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()
        self.batches = 0
        """Batches decided so far (the benchmark reports launches per batch)."""

    def submit(self, ask: LaunchAsk) -> Future[Outcome]:
        self._start()
        answer: Future[Outcome] = Future()
        self._queue.put((ask, answer))
        return answer

    async def launch(self, ask: LaunchAsk) -> Outcome:
        return await asyncio.wrap_future(self.submit(ask))

    def close(self, timeout: float = 10.0) -> None:
        """Answer what is queued, then stop the thread."""
        with self._started:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._started:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="launches", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._decide(batch)
            if stop:
                return

    def _decide(self, batch: list[tuple[LaunchAsk, Future[Outcome]]]) -> None:
        asks = [ask for ask, _ in batch]
        try:
            with self._sessions() as db, db.begin():
                if db.get_bind().dialect.name == "postgresql":
                    db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BROKER_LOCK})
                outcomes = start_launches(db, self._clock, self._settings, asks)
        except Exception as exc:  # the database failed: every launch of the batch failed with it
            log.exception("a batch of %d launches failed", len(batch))
            for _, answer in batch:
                answer.set_exception(exc)
            return
        self.batches += 1
        starting: set[str] = set()
        for (_, answer), outcome in zip(batch, outcomes, strict=True):
            answer.set_result(outcome)
            if not isinstance(outcome, Exception) and outcome.state == "starting" and outcome.pool:
                starting.add(outcome.pool)
        if self._request_capacity is not None:
            for pool in sorted(starting):
                self._request_capacity(pool)
