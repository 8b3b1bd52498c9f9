"""Submissions and their delivery: the outbox, retries, dead letters, replay and the breaker."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import select

from anyplace.clock import VirtualClock
from anyplace.connectors.base import Connector
from anyplace.connectors.rest import RestConnector
from anyplace.microapps.definitions import Library
from anyplace.microapps.forms import FormErrors
from anyplace.microapps.outbox import submit
from anyplace.microapps.retention import apply_retention
from anyplace.microapps.worker import DeliveryWorker, replay
from anyplace.store.access import Store
from anyplace.store.models import AuditEvent, Delivery, Submission
from tests.peers.http_target import Target

MOVE = {
    "cpr": "0101701235",
    "adresse": "Torvet 1, 2. th.",
    "postnummer": "8600",
    "by": "Silkeborg",
    "flyttedato": "2026-12-15",
    "telefon": "12 34 56 78",
    "har_boern": "on",
    "skole": "Balleskolen",
}


def worker(store: Store, clock: VirtualClock, url: str) -> DeliveryWorker:
    connectors: dict[str, Connector] = {"folkeregister": RestConnector({"url": url})}
    return DeliveryWorker(store, clock, connectors, rng=random.Random(3))


def test_a_submission_and_its_deliveries_are_stored_together_and_normalised(
    store: Store, clock: VirtualClock, library: Library
) -> None:
    with store.transaction() as session:
        made = submit(session, clock, library, "flytning", by="mette", values=MOVE)
        submission_id = made.id
    with store.sessions() as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        assert row.person == "010170-1235"
        assert row.payload is not None
        assert row.payload["telefon"] == "+4512345678"
        assert [(d.target, d.state) for d in row.deliveries] == [
            ("folkeregister", "pending"),
            ("skole", "pending"),
        ]
        assert row.deliveries[1].request == {
            "path": "/skoleflytning",
            "body": {"cpr": "010170-1235", "school": "Balleskolen", "from": "2026-12-15"},
        }
        event = session.scalars(select(AuditEvent)).one()
        assert (event.action, event.subject) == ("microapp-submit", "010170-1235")


def test_a_false_condition_skips_the_target_and_hidden_fields_are_dropped(
    store: Store, clock: VirtualClock, library: Library
) -> None:
    values = {**MOVE, "har_boern": ""}
    with store.transaction() as session:
        made = submit(session, clock, library, "flytning", by="mette", values=values)
        assert "skole" not in (made.payload or {})
        states = {d.target: d.state for d in session.scalars(select(Delivery))}
    assert states == {"folkeregister": "pending", "skole": "skipped"}


def test_bad_input_is_refused_field_by_field_and_nothing_is_stored(
    store: Store, clock: VirtualClock, library: Library
) -> None:
    values = {**MOVE, "cpr": "320170-1234", "postnummer": "12", "by": ""}
    with pytest.raises(FormErrors) as caught, store.transaction() as session:
        submit(session, clock, library, "flytning", by="mette", values=values)
    assert set(caught.value.errors) == {"cpr", "postnummer", "by"}
    with store.sessions() as session:
        assert session.scalar(select(Submission.id)) is None


def test_deliveries_reach_the_target_with_their_idempotency_key(
    store: Store, clock: VirtualClock, library: Library, target: tuple[Target, str]
) -> None:
    served, url = target
    with store.transaction() as session:
        made = submit(session, clock, library, "flytning", by="mette", values=MOVE)
        submission_id = made.id
    tally = worker(store, clock, url).run_once()
    assert tally.delivered == 2
    assert set(served.applied) == {f"{submission_id}:folkeregister", f"{submission_id}:skole"}
    assert served.applied[f"{submission_id}:skole"]["path"] == "/skoleflytning"
    with store.sessions() as session:
        assert {d.state for d in session.scalars(select(Delivery))} == {"delivered"}


def test_a_target_that_is_down_is_retried_with_backoff_then_reached(
    store: Store, clock: VirtualClock, library: Library, target: tuple[Target, str]
) -> None:
    served, url = target
    served.fail_next = 2
    with store.transaction() as session:
        submit(session, clock, library, "flytning", by="mette", values={**MOVE, "har_boern": ""})
    work = worker(store, clock, url)
    assert work.run_once().retrying == 1
    assert work.run_once().delivered == 0, "not due yet: the backoff holds it back"
    with store.sessions() as session:
        row = session.scalars(select(Delivery).where(Delivery.state == "pending")).one()
        assert row.last_error is not None
        assert "503" in row.last_error
        wait = row.next_attempt_at - clock.now()  # type: ignore[operator]
    assert timedelta(0) <= wait <= timedelta(seconds=5)
    clock.advance(timedelta(seconds=10))
    assert work.run_once().retrying == 1
    clock.advance(timedelta(seconds=20))
    assert work.run_once().delivered == 1
    assert sum(served.requests.values()) == 3
    assert len(served.applied) == 1


def test_a_permanent_error_goes_to_the_dead_letters_and_a_replay_delivers_it(
    store: Store, clock: VirtualClock, library: Library, target: tuple[Target, str]
) -> None:
    served, url = target
    served.fail_next, served.fail_status = 1, 422
    with store.transaction() as session:
        submit(session, clock, library, "flytning", by="mette", values={**MOVE, "har_boern": ""})
    work = worker(store, clock, url)
    assert work.run_once().dead == 1
    with store.sessions() as session:
        dead = session.scalars(select(Delivery).where(Delivery.state == "dead")).one()
        assert dead.last_error is not None
        assert "422" in dead.last_error
    assert replay(store, clock, [dead.id], by="admin") == 1
    assert work.run_once().delivered == 1
    with store.sessions() as session:
        assert session.get(Delivery, dead.id).state == "delivered"  # type: ignore[union-attr]
        assert session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "delivery-replay")
        ).one()


def test_retries_stop_at_the_targets_limit(
    store: Store, clock: VirtualClock, library: Library, target: tuple[Target, str]
) -> None:
    served, url = target
    served.fail_next = 100
    with store.transaction() as session:
        submit(session, clock, library, "flytning", by="mette", values={**MOVE, "har_boern": ""})
    work = worker(store, clock, url)
    work.breakers.clear()
    outcomes = []
    for _ in range(8):
        tally = work.run_once()
        outcomes.append((tally.retrying, tally.dead))
        work.breakers.clear()  # this test is about the attempts, not the breaker
        clock.advance(timedelta(hours=1))
    assert outcomes == [(1, 0)] * 7 + [(0, 1)], "eight attempts (the default), then a dead letter"
    assert sum(served.requests.values()) == 8


def test_the_breaker_holds_deliveries_back_from_a_target_that_keeps_failing(
    store: Store, clock: VirtualClock, library: Library, target: tuple[Target, str]
) -> None:
    served, url = target
    served.fail_next = 5
    with store.transaction() as session:
        for _ in range(6):
            submit(
                session, clock, library, "flytning", by="mette", values={**MOVE, "har_boern": ""}
            )
    work = worker(store, clock, url)
    work.batch = 10
    assert work.run_once().retrying == 5, "five failures in a row open the breaker"
    assert work.run_once().delivered == 0
    requests_when_open = sum(served.requests.values())
    clock.advance(timedelta(minutes=30))
    work.run_once()
    assert sum(served.requests.values()) >= requests_when_open + 1


def test_retention_deletes_the_values_and_keeps_who_when_and_where(
    store: Store, clock: VirtualClock, library: Library, target: tuple[Target, str]
) -> None:
    _, url = target
    with store.transaction() as session:
        old = submit(session, clock, library, "flytning", by="mette", values=MOVE).id
    worker(store, clock, url).run_once()
    clock.advance(timedelta(days=29))
    with store.transaction() as session:
        recent = submit(session, clock, library, "flytning", by="mette", values=MOVE).id
    clock.advance(timedelta(days=2))
    assert apply_retention(store, clock, days=30) == 1, "only the delivered one older than 30 days"
    with store.sessions() as session:
        gone = session.get(Submission, old)
        assert gone is not None
        assert gone.payload is None
        assert (gone.submitted_by, gone.person) == ("mette", "010170-1235")
        assert all(d.request is None and d.state == "delivered" for d in gone.deliveries)
        kept = session.get(Submission, recent)
        assert kept is not None
        assert kept.payload is not None
