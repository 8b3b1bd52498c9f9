"""Benchmark: microapp submissions fanned out to five targets each, end to end, on PostgreSQL.

Run with `make bench` or `python bench/microapps.py [--submissions 2000] [--workers 8]`.

1. The raw rate: the REST connector posting straight to the targets from the
   same number of threads, no queue.
2. Submissions with five targets each committed to the outbox, then delivered
   by the delivery workers (claims with SKIP LOCKED, outcomes recorded).

The targets are a separate uvicorn process. Prints submissions/s and
deliveries/s beside the raw rate, all measured in this run, on this machine.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from anyplace.clock import SystemClock
from anyplace.config import DatabaseSettings, Settings
from anyplace.connectors.rest import RestConnector
from anyplace.microapps.definitions import Library, read_library
from anyplace.microapps.outbox import submit
from anyplace.microapps.worker import DeliveryWorker
from anyplace.store.access import Store, open_store
from anyplace.store.migrate import upgrade
from anyplace.store.models import Delivery

SERVER = os.environ.get("ANYPLACE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TARGETS = ("directory", "payroll", "tickets", "mail", "archive")
MICROAPP = """
id: bench
title: {da: Bench}
groups: [alle]
person_field: cpr
fields:
  - {name: cpr, type: cpr, label: {da: CPR}, required: true}
  - {name: navn, label: {da: Navn}, required: true}
targets:
""" + "".join(
    f"""  - name: {name}
    connector: target
    mapping: {{path: "/{name}", body: {{cpr: "{{{{ cpr }}}}", name: "{{{{ navn }}}}"}}}}
"""
    for name in TARGETS
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_target() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.target_app:app",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    process = subprocess.Popen(command, cwd=Path(__file__).resolve().parents[1])  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(f"{url}/count", timeout=0.5)
            return process, url
        except httpx.HTTPError:
            threading.Event().wait(0.05)
    raise RuntimeError("the target did not start")


def raw_rate(url: str, total: int, threads: int) -> float:
    connector = RestConnector({"url": url})
    per_thread = total // threads

    def run(number: int) -> None:
        for i in range(per_thread):
            connector.deliver(
                {"path": "/raw", "body": {"n": i}}, idempotency_key=f"raw-{number}-{i}", timeout=10
            )

    started = time.perf_counter()
    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return per_thread * threads / (time.perf_counter() - started)


CONNECTORS = "connectors:\n  - {{name: target, kind: rest, settings: {{url: '{url}'}}}}\n"


def make_library(target_url: str) -> Library:
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "bench.yaml").write_text(MICROAPP)
        (Path(folder) / "connectors.yaml").write_text(CONNECTORS.format(url=target_url))
        return read_library(Path(folder))


def run_queue(
    store: Store, library: Library, target_url: str, args: argparse.Namespace
) -> tuple[float, float, float]:
    """Submit, then deliver everything; the times when it began, submitted and finished."""
    clock = SystemClock()
    connector = RestConnector({"url": target_url})
    deliveries = args.submissions * len(TARGETS)
    started = time.perf_counter()
    for start in range(0, args.submissions, 100):
        with store.transaction() as session:
            for n in range(start, min(start + 100, args.submissions)):
                values = {"cpr": "010170-1235", "navn": f"n{n}"}
                submit(session, clock, library, "bench", by="bench", values=values)
    submitted = time.perf_counter()
    stop = threading.Event()
    workers = [
        DeliveryWorker(store, clock, {"target": connector}, batch=args.batch)
        for _ in range(args.workers)
    ]
    pool = [threading.Thread(target=w.run, args=(stop, 0.01)) for w in workers]
    for thread in pool:
        thread.start()
    while True:
        with store.sessions() as session:
            done = session.scalar(select(func.count()).where(Delivery.state == "delivered")) or 0
        if done >= deliveries:
            break
        stop.wait(0.05)
    finished = time.perf_counter()
    stop.set()
    for thread in pool:
        thread.join()
    return started, submitted, finished


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args()

    admin = create_engine(SERVER, isolation_level="AUTOCOMMIT")
    name = f"anyplace_bench_{secrets.token_hex(4)}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(SERVER).set(database=name).render_as_string(hide_password=False)
    target, target_url = start_target()
    try:
        store = open_store(Settings(database=DatabaseSettings(url=url)))
        upgrade(store.engine)
        library = make_library(target_url)
        deliveries = args.submissions * len(TARGETS)
        raw = raw_rate(target_url, min(deliveries, 5000), args.workers)
        started, submitted, finished = run_queue(store, library, target_url, args)
        store.engine.dispose()
    finally:
        target.terminate()
        target.wait()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    submit_rate = args.submissions / (submitted - started)
    delivery_rate = deliveries / (finished - submitted)
    print(f"raw REST client, {args.workers} threads: {raw:,.0f} requests/s")
    print(f"submit {args.submissions:,} submissions (5 targets each): {submit_rate:,.0f}/s")
    print(
        f"deliver {deliveries:,} deliveries, {args.workers} workers: {delivery_rate:,.0f}/s"
        f" ({delivery_rate / raw:.0%} of the raw rate)"
    )
    total = finished - started
    print(
        f"end to end: {args.submissions / total:,.0f} submissions/s,"
        f" {deliveries / total:,.0f} deliveries/s"
    )


if __name__ == "__main__":
    main()
