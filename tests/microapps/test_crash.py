"""A delivery worker killed with SIGKILL in the middle of 1,000 submissions loses nothing.

The worker runs as its own process (`anyplace microapps worker`) on PostgreSQL
against a REST target in this process. It is killed while deliveries are in
flight, started again, and then every delivery must have reached the target,
and none twice: the target honours idempotency keys, so a delivery sent again
after the crash is recognised and not applied again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from anyplace.clock import SystemClock
from anyplace.microapps.definitions import read_library
from anyplace.microapps.outbox import submit
from anyplace.store.access import Store
from anyplace.store.models import Delivery
from tests.peers.asgi import serve_asgi
from tests.peers.http_target import Target

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

SUBMISSIONS = 1000
MICROAPP = """
id: besked
title: {da: Besked}
groups: [alle]
person_field: cpr
fields:
  - {name: cpr, type: cpr, label: {da: CPR}, required: true}
  - {name: tekst, label: {da: Tekst}, required: true}
targets:
  - name: sag
    connector: target
    mapping: {path: "/sager", body: {cpr: "{{ cpr }}", text: "{{ tekst }}"}}
    limits: {timeout_seconds: 2, base_seconds: 0.1, cap_seconds: 1}
  - name: journal
    connector: target
    mapping: {path: "/journal", body: {cpr: "{{ cpr }}"}}
    limits: {timeout_seconds: 2, base_seconds: 0.1, cap_seconds: 1}
"""


def start_worker(config: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "anyplace", "--config", str(config), "microapps", "worker"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_until(
    condition: Callable[[], bool], what: str, worker: subprocess.Popen[bytes], limit: float = 120
) -> None:
    """Wait for a condition to hold, checking it every 50 ms (not a timing assertion)."""
    done = threading.Event()
    waited = 0.0
    while not condition():
        if worker.poll() is not None:
            errors = worker.stderr.read().decode() if worker.stderr else ""
            raise AssertionError(f"the worker exited ({worker.returncode}): {errors[-2000:]}")
        if waited > limit:
            raise AssertionError(f"gave up waiting for {what}")
        done.wait(0.05)
        waited += 0.05


def test_killing_the_worker_mid_batch_loses_nothing_and_repeats_nothing(
    store: Store, tmp_path: Path
) -> None:
    target = Target()
    folder = tmp_path / "microapps"
    folder.mkdir()
    (folder / "besked.yaml").write_text(MICROAPP)
    with serve_asgi(target.app()) as url:
        (folder / "connectors.yaml").write_text(
            f"connectors:\n  - {{name: target, kind: rest, settings: {{url: '{url}'}}}}\n"
        )
        config = tmp_path / "anyplace.toml"
        config.write_text(
            f'[database]\nurl = "{store.url}"\n\n[microapps]\nfolder = "{folder}"\nworkers = 4\n'
            "poll_seconds = 0.1\nbatch = 10\n"
        )
        library = read_library(folder)
        clock = SystemClock()
        for start in range(0, SUBMISSIONS, 100):
            with store.transaction() as session:
                for n in range(start, start + 100):
                    values = {"cpr": "010170-1235", "tekst": f"besked {n}"}
                    submit(session, clock, library, "besked", by="test", values=values)
        total = SUBMISSIONS * 2

        worker = start_worker(config)
        wait_until(lambda: len(target.applied) >= total // 4, "a quarter delivered", worker)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        at_kill = len(target.applied)
        with store.sessions() as session:
            in_flight = session.scalar(select(func.count()).where(Delivery.state == "running"))
        assert at_kill < total, "killed in the middle"

        worker = start_worker(config)
        try:
            wait_until(lambda: len(target.applied) == total, "every delivery", worker)

            def settled() -> bool:
                with store.sessions() as session:
                    open_ = session.scalar(
                        select(func.count()).where(Delivery.state.in_(("pending", "running")))
                    )
                return open_ == 0

            wait_until(settled, "the store to record every delivery", worker)
        finally:
            worker.send_signal(signal.SIGTERM)
            _, errors = worker.communicate(timeout=60)
    assert worker.returncode == 0, errors.decode()[-2000:]
    with store.sessions() as session:
        states = dict(
            session.execute(select(Delivery.state, func.count()).group_by(Delivery.state)).all()
        )
        keys = set(session.scalars(select(Delivery.idempotency_key)))
    assert states == {"delivered": total}
    assert set(target.applied) == keys, "every delivery reached the target"
    assert all(count >= 1 for count in target.requests.values())
    resent = sum(count - 1 for count in target.requests.values())
    print(
        f"killed with {in_flight} claimed, {at_kill}/{total} applied;"
        f" {resent} sent again after the crash"
    )
