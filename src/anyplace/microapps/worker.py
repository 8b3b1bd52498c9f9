"""Delivery workers: claim due deliveries, call their connector, record what happened.

A claim is a short transaction (on PostgreSQL `FOR UPDATE SKIP LOCKED`, so
workers in every replica share the queue without waiting for each other; on
SQLite the single writer serialises them). The connector is called with no
transaction open, and the outcome recorded in another, only if the claim is
still ours. A worker that dies mid-call leaves its claim to lapse; the delivery
is then claimed again and sent again with the same idempotency key, which the
target uses to do it once: at least once, exactly once in effect.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, or_, select, update

from anyplace.audit import record
from anyplace.clock import Clock
from anyplace.connectors.base import Connector
from anyplace.errors import Permanent, Transient
from anyplace.microapps.retry import Breaker, DeadLetter, Limits, Outcome, after_failure
from anyplace.store.access import Store
from anyplace.store.models import Delivery

__all__ = ["DeliveryWorker", "Tally", "replay"]

log = logging.getLogger(__name__)
CLAIM_MARGIN = timedelta(seconds=5)
"""A claim lasts the call's timeout (httpx enforces it) and this much more; then another
worker may take the delivery."""


_TABLE = cast(Table, Delivery.__table__)
_RECORD = (
    update(_TABLE)
    .where(
        _TABLE.c.id == bindparam("b_id"),
        _TABLE.c.claim == bindparam("b_claim"),
        _TABLE.c.state == "running",
    )
    .values(
        state=bindparam("b_state"),
        attempts=bindparam("b_attempts"),
        receipt=bindparam("b_receipt"),
        last_error=bindparam("b_error"),
        finished_at=bindparam("b_finished"),
        next_attempt_at=bindparam("b_next"),
        claim=None,
        claimed_until=None,
    )
)


@dataclass
class Tally:
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    held_back: int = 0
    """Not attempted: the target's circuit breaker is open."""


@dataclass
class _Claimed:
    id: int
    connector: str
    key: str
    request: dict[str, Any]
    attempts: int
    limits: Limits
    timeout: float


@dataclass
class DeliveryWorker:
    store: Store
    clock: Clock
    connectors: Mapping[str, Connector] | Callable[[str], Connector]
    rng: random.Random = field(default_factory=random.Random)
    batch: int = 20
    breakers: dict[str, Breaker] = field(default_factory=dict)
    worker_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def _connector(self, name: str) -> Connector:
        if callable(self.connectors):
            return self.connectors(name)
        found = self.connectors.get(name)
        if found is None:
            raise Permanent(f"no connector {name!r}")
        return found

    def claim(self) -> list[_Claimed]:
        now = self.clock.now()
        open_targets = [n for n, b in self.breakers.items() if not b.allows(now)]
        with self.store.transaction() as session:
            query = (
                select(Delivery)
                .where(
                    or_(
                        (Delivery.state == "pending") & (Delivery.next_attempt_at <= now),
                        (Delivery.state == "running") & (Delivery.claimed_until <= now),
                    )
                )
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(self.batch)
            )
            if open_targets:
                query = query.where(Delivery.connector.not_in(open_targets))
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = session.scalars(query).all()
            claimed = []
            for row in rows:
                limits = row.limits or {}
                timeout = float(limits.get("timeout_seconds", 30))
                row.state = "running"
                row.claim = self.worker_id
                row.claimed_until = now + timedelta(seconds=timeout) + CLAIM_MARGIN
                row.attempts += 1
                claimed.append(
                    _Claimed(
                        id=row.id,
                        connector=row.connector,
                        key=row.idempotency_key,
                        request=dict(row.request or {}),
                        attempts=row.attempts,
                        limits=Limits(
                            max_attempts=int(limits.get("max_attempts", 8)),
                            base=timedelta(seconds=float(limits.get("base_seconds", 5))),
                            cap=timedelta(seconds=float(limits.get("cap_seconds", 1800))),
                        ),
                        timeout=timeout,
                    )
                )
        return claimed

    def run_once(self) -> Tally:
        """Claim one batch and deliver it; the outcomes are recorded in one transaction."""
        tally = Tally()
        outcomes: list[tuple[_Claimed, dict[str, Any]]] = []
        for item in self.claim():
            now = self.clock.now()
            breaker = self.breakers.get(item.connector, Breaker())
            if not breaker.allows(now):
                outcomes.append((item, {"state": "pending", "attempts": item.attempts - 1}))
                tally.held_back += 1
                continue
            self.breakers[item.connector] = breaker.trying(now)
            try:
                receipt = self._connector(item.connector).deliver(
                    item.request, idempotency_key=item.key, timeout=item.timeout
                )
            except Transient as exc:
                self.breakers[item.connector] = self.breakers[item.connector].failed(
                    self.clock.now()
                )
                outcomes.append((item, self._failed(item, Outcome.TRANSIENT, str(exc), tally)))
            except Permanent as exc:
                self.breakers[item.connector] = self.breakers[item.connector].succeeded()
                outcomes.append((item, self._failed(item, Outcome.PERMANENT, str(exc), tally)))
            except Exception as exc:  # a connector's bug must not stop the others
                log.exception("connector %s failed unexpectedly", item.connector)
                error = f"unexpected: {type(exc).__name__}"
                outcomes.append((item, self._failed(item, Outcome.TRANSIENT, error, tally)))
            else:
                self.breakers[item.connector] = self.breakers[item.connector].succeeded()
                outcomes.append((item, self._finished("delivered", receipt=receipt)))
                tally.delivered += 1
        self._record(outcomes)
        return tally

    def _finished(
        self, state: str, *, receipt: str | None = None, error: str | None = None
    ) -> dict[str, Any]:
        return {
            "state": state,
            "receipt": receipt,
            "last_error": error,
            "finished_at": self.clock.now(),
            "next_attempt_at": None,
        }

    def _failed(self, item: _Claimed, outcome: Outcome, error: str, tally: Tally) -> dict[str, Any]:
        step = after_failure(item.attempts, outcome, self.clock.now(), item.limits, self.rng)
        if isinstance(step, DeadLetter):
            tally.dead += 1
            return self._finished("dead", error=f"{error} ({step.reason})"[:2000])
        tally.retrying += 1
        return {"state": "pending", "next_attempt_at": step.at, "last_error": error[:2000]}

    def _record(self, outcomes: list[tuple[_Claimed, dict[str, Any]]]) -> None:
        """Write every outcome in one statement (executemany), each only where the claim is
        still ours: a lapsed claim may have passed to another worker, whose outcome counts."""
        if not outcomes:
            return
        rows = [
            {
                "b_id": item.id,
                "b_claim": self.worker_id,
                "b_state": values["state"],
                "b_attempts": values.get("attempts", item.attempts),
                "b_receipt": values.get("receipt"),
                "b_error": values.get("last_error"),
                "b_finished": values.get("finished_at"),
                "b_next": values.get("next_attempt_at"),
            }
            for item, values in outcomes
        ]
        with self.store.transaction() as session:
            session.execute(_RECORD, rows)

    def run(self, stop: threading.Event, poll_seconds: float = 1.0) -> None:
        """Deliver until `stop` is set; between empty batches wait `poll_seconds`."""
        while not stop.is_set():
            try:
                tally = self.run_once()
            except Exception:
                log.exception("delivery worker: a batch failed; trying again")
                tally = Tally()
            if tally.delivered + tally.retrying + tally.dead == 0:
                stop.wait(poll_seconds)


def replay(store: Store, clock: Clock, delivery_ids: list[int], *, by: str) -> int:
    """Send dead deliveries again (an admin's decision): attempts start over, same key."""
    now: datetime = clock.now()
    with store.transaction() as session:
        rows = session.scalars(
            select(Delivery).where(Delivery.id.in_(delivery_ids), Delivery.state == "dead")
        ).all()
        for row in rows:
            row.state, row.attempts, row.next_attempt_at = "pending", 0, now
            row.finished_at, row.claim, row.claimed_until = None, None, None
            record(
                session,
                clock,
                actor=by,
                action="delivery-replay",
                object_type="delivery",
                object_id=row.id,
                details={"target": row.target},
                subject=row.submission.person,
            )
        return len(rows)
