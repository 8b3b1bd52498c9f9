"""One controller per pool across replicas.

On PostgreSQL every replica runs the loop and a session-level advisory lock
per pool decides which one drives it this tick; the others skip it. On SQLite
there is one process, and an in-process lock keeps two threads (the loop and
a start-on-demand request) from planning the same pool at once.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

from sqlalchemy import Engine, text

__all__ = ["AdvisoryLocks", "LocalLocks", "PoolLocks", "locks_for"]


class PoolLocks(Protocol):
    def hold(self, key: str) -> AbstractContextManager[bool]:
        """Try to take the lock for `key`; yields whether it was taken (never waits)."""
        ...


class LocalLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[bool]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        taken = lock.acquire(blocking=False)
        try:
            yield taken
        finally:
            if taken:
                lock.release()


class AdvisoryLocks:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @staticmethod
    def lock_id(key: str) -> int:
        digest = hashlib.sha256(f"anyplace:{key}".encode()).digest()
        return int.from_bytes(digest[:8], "big", signed=True)

    @contextmanager
    def hold(self, key: str) -> Iterator[bool]:
        lock_id = self.lock_id(key)
        with self._engine.connect() as connection:
            taken = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:id)"), {"id": lock_id}
                ).scalar()
            )
            connection.commit()
            try:
                yield taken
            finally:
                if taken:
                    connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                    connection.commit()


def locks_for(engine: Engine) -> PoolLocks:
    if engine.dialect.name == "postgresql":
        return AdvisoryLocks(engine)
    return LocalLocks()
