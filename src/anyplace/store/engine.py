"""Engines for the two supported stores: SQLite (embedded) and PostgreSQL (scale-out)."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["is_sqlite", "make_engine", "make_session_factory", "normalise_url", "redact_url"]


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs (SQLAlchemy would pick psycopg2)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def redact_url(url: str) -> str:
    """The URL without its password, for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        event.listen(engine, "connect", _configure_sqlite)
        writer = _WriterQueue()
        event.listen(engine, "begin", writer.begin)
        event.listen(engine, "commit", writer.commit)
        event.listen(engine, "rollback", writer.rollback)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """WAL for concurrent readers, enforced foreign keys, and real transactions.

    pysqlite's own transaction handling delays BEGIN and breaks SAVEPOINT; taking
    it over (isolation_level None plus an explicit BEGIN) is SQLAlchemy's
    documented recipe.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class _WriterQueue:
    """SQLite has one writer. Transactions of this process queue for it on a lock.

    Every transaction takes the write lock at its start (BEGIN IMMEDIATE): with a
    deferred BEGIN, a transaction that read first and writes later fails at once
    with "database is locked" when another wrote in between (the launch-storm
    benchmark, with agents heartbeating while users launch, showed exactly that).
    Waiting for SQLite's lock means its busy handler, which sleeps and polls with
    growing pauses; the queue in front of it wakes the next transaction the
    moment the last one ends, so the waits are as long as the work and no
    longer. Another process (a CLI command) still meets the busy handler.
    """

    HELD = "anyplace_writer"

    def __init__(self, timeout: float = 30.0) -> None:
        self._lock = threading.Lock()
        self._timeout = timeout

    def begin(self, connection: Any) -> None:
        if not self._lock.acquire(timeout=self._timeout):
            raise TimeoutError("waited 30 s for the SQLite writer; a transaction is stuck")
        connection.info[self.HELD] = True
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.end(connection)
            raise

    def commit(self, connection: Any) -> None:
        """SQLAlchemy announces a commit before it makes it; make it here, then let the next
        writer in (pysqlite's own commit that follows finds nothing left to do)."""
        self._finish(connection, "COMMIT")

    def rollback(self, connection: Any) -> None:
        self._finish(connection, "ROLLBACK")

    def _finish(self, connection: Any, statement: str) -> None:
        try:
            raw = connection.connection.dbapi_connection
            if raw is not None and raw.in_transaction:
                raw.execute(statement)
        finally:
            self.end(connection)

    def end(self, connection: Any) -> None:
        if connection.info.pop(self.HELD, False):
            self._lock.release()
