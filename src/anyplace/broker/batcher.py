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

Agents' heartbeats are applied by the same thread, in the next batch's
transaction (`apply_report`): they write hosts and sessions only, so the batcher
then re-reads its pools but keeps the tokens, apps and entitlements it knows.

On SQLite the batcher keeps what its batches read (tokens, apps, entitlements,
the pools' hosts and sessions: `broker.launch.Known`) on a connection of its
own, for as long as SQLite's `PRAGMA data_version` says that no other
connection has committed since; a heartbeat, an admin's change or a CLI command
anywhere makes the next batch read afresh. Its own commits it knows already.

Nothing is answered before its batch has committed (DESIGN.md, principle 5).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar, cast

from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from anyplace.broker.launch import Known, LaunchAsk, Outcome, start_launches
from anyplace.broker.placing import Placing
from anyplace.clock import Clock
from anyplace.config import BrokerSettings
from anyplace.power.locks import AdvisoryLocks

__all__ = ["LaunchBatcher"]

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_BATCH = 256
"""Enough to carry a storm; small enough that one batch stays a short transaction."""

BROKER_LOCK = AdvisoryLocks.lock_id("broker:placement")
"""The PostgreSQL advisory lock that serializes placement across replicas."""


@dataclass(frozen=True)
class _Waiting:
    """An ask and where its answer goes: a thread's future, or a future of an event loop."""

    ask: LaunchAsk
    future: Future[Outcome] | asyncio.Future[Outcome]
    loop: asyncio.AbstractEventLoop | None = None


@dataclass(frozen=True)
class _Report:
    """Work that changes hosts and sessions only (an agent's heartbeat), and its answer."""

    work: Callable[[Session], object]
    future: Future[object]


_Settled = tuple[asyncio.Future[Outcome], Outcome | None, BaseException | None]


class LaunchBatcher:
    """Takes launch asks from any thread or event loop; one thread decides them in batches."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        settings: BrokerSettings,
        request_capacity: Callable[[str], object] | None = None,
        on_batch: Callable[[int], object] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._settings = settings
        self._request_capacity = request_capacity
        self._on_batch = on_batch
        self._queue: queue.SimpleQueue[_Waiting | _Report | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._started = threading.Lock()
        self._connection: Connection | None = None
        """SQLite: the batcher's own connection, whose change counter keeps `_known` valid."""
        self._known: Known | None = None
        self._version: object = None
        self.batches = 0
        """Batches decided so far."""

    def submit(self, ask: LaunchAsk) -> Future[Outcome]:
        """From a thread: a future that holds the outcome once its batch has committed."""
        answer: Future[Outcome] = Future()
        self._put(_Waiting(ask, answer))
        return answer

    async def launch(self, ask: LaunchAsk) -> Outcome:
        """From an event loop. A batch settles all its loop's answers in one callback, so a
        storm wakes the loop once per batch, not once per launch."""
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[Outcome] = loop.create_future()
        self._put(_Waiting(ask, answer, loop))
        return await answer

    def apply_report(self, work: Callable[[Session], T]) -> T:
        """Run `work` (which may change hosts and sessions, nothing else) in the next batch's
        transaction and return its result once that has committed; its exception is raised
        here, and undoes only its own changes."""
        answer: Future[object] = Future()
        self._put(_Report(work, answer))
        return cast(T, answer.result())

    def close(self, timeout: float = 10.0) -> None:
        """Answer what is queued, then stop the thread."""
        with self._started:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _put(self, waiting: _Waiting | _Report) -> None:
        if self._thread is None:
            with self._started:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="launches", daemon=True)
                    self._thread.start()
        self._queue.put(waiting)

    def _run(self) -> None:
        try:
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
        finally:
            self._forget()

    def _decide(self, batch: list[_Waiting | _Report]) -> None:
        launches = [item for item in batch if isinstance(item, _Waiting)]
        reports = [item for item in batch if isinstance(item, _Report)]
        results: list[tuple[_Report, object, BaseException | None]] = []
        try:
            with self._session() as db, db.begin():
                known = self._begin_batch(db)
                for report in reports:
                    results.append(_run_report(db, report))
                if reports and known is not None:
                    known.placing = Placing()  # the reports changed hosts and sessions
                outcomes = start_launches(
                    db, self._clock, self._settings, [waiting.ask for waiting in launches], known
                )
        except Exception as exc:  # the database failed: everything in the batch failed with it
            log.exception(
                "a batch of %d launches and %d reports failed", len(launches), len(reports)
            )
            self._forget()
            _settle(launches, [None] * len(launches), exc)
            for report in reports:
                report.future.set_exception(exc)
            return
        self.batches += 1
        for report, result, error in results:
            if error is not None:
                report.future.set_exception(error)
            else:
                report.future.set_result(result)
        _settle(launches, list(outcomes), None)
        if self._on_batch is not None and launches:
            self._on_batch(len(launches))
        starting = {
            outcome.pool
            for outcome in outcomes
            if not isinstance(outcome, Exception) and outcome.state == "starting" and outcome.pool
        }
        if self._request_capacity is not None:
            for pool in sorted(starting):
                self._request_capacity(pool)

    def _session(self) -> Session:
        if self._engine.dialect.name != "sqlite":
            return Session(self._engine, expire_on_commit=False)
        if self._connection is None:
            self._connection = self._engine.connect()
        return Session(bind=self._connection, expire_on_commit=False)

    def _begin_batch(self, db: Session) -> Known | None:
        """PostgreSQL: take the replicas' placement lock; read everything afresh (None).
        SQLite: what earlier batches read, if nothing else has written since, else a fresh
        start. Asked inside the batch's transaction, which on SQLite holds the write lock:
        nobody can commit between this check and the batch's own commit.
        """
        if self._connection is None:
            db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BROKER_LOCK})
            return None
        version = db.connection().exec_driver_sql("PRAGMA data_version").scalar()
        if self._known is None or version != self._version:
            self._known, self._version = Known(), version
        return self._known

    def _forget(self) -> None:
        self._known = None
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()


def _run_report(db: Session, report: _Report) -> tuple[_Report, object, BaseException | None]:
    """One report in a savepoint of its own: a refused heartbeat undoes only itself."""
    try:
        with db.begin_nested():
            return report, report.work(db), None
    except Exception as exc:  # handed to the caller, who knows what it means
        return report, None, exc


def _settle(
    batch: list[_Waiting], outcomes: list[Outcome | None], error: BaseException | None
) -> None:
    by_loop: dict[asyncio.AbstractEventLoop, list[_Settled]] = defaultdict(list)
    for waiting, outcome in zip(batch, outcomes, strict=True):
        if waiting.loop is not None and isinstance(waiting.future, asyncio.Future):
            by_loop[waiting.loop].append((waiting.future, outcome, error))
        elif isinstance(waiting.future, Future):
            if error is not None:
                waiting.future.set_exception(error)
            else:
                waiting.future.set_result(outcome)  # type: ignore[arg-type]
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_in_loop, settled)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            log.warning("%d launch answers had no event loop to go to", len(settled))


def _settle_in_loop(settled: list[_Settled]) -> None:
    for future, outcome, error in settled:
        if future.done():  # the client went away and its request was cancelled
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(outcome)  # type: ignore[arg-type]
