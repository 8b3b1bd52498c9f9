"""Benchmark: the morning launch storm against a running server (SQLite), then the maximum.

Run with `make bench` or `python bench/launch_storm.py [--storm-seconds 600]`.

1. The demo municipality's 1,600 users each launch 2-3 of their apps at random
   moments within the storm window (default 10 minutes), with every general-pool
   host on and its (scripted) agent heartbeating.
2. Then as many launches as a few client threads can push for `--max-seconds`.

Prints launches/s and p50/p99 latency for both. Client and server share this
machine's two cores, so the figures are a floor for a server of its own.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import select

from anyplace.agent.simulated import SimulatedHosts
from anyplace.clock import SystemClock
from anyplace.config import DatabaseSettings, Settings
from anyplace.demo import demo_data_dir
from anyplace.domain import AppKind, PowerState
from anyplace.identity.tokens import create_token
from anyplace.importer import apply_dataset, read_dataset
from anyplace.store.access import open_store
from anyplace.store.migrate import upgrade
from anyplace.store.models import Machine, User


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare(url: str) -> dict[str, tuple[str, list[str]]]:
    """A demo database with every host on; a token and the hosted apps of every user."""
    store = open_store(Settings(database=DatabaseSettings(url=url)))
    upgrade(store.engine)
    clock = SystemClock()
    users: dict[str, tuple[str, list[str]]] = {}
    with store.transaction() as session:
        apply_dataset(session, read_dataset(demo_data_dir()), clock)
        for machine in session.scalars(select(Machine).where(Machine.pool_id.is_not(None))):
            machine.power_state = PowerState.ON
        session.flush()
        for user in session.scalars(select(User)):
            apps = sorted(
                {
                    app.slug
                    for group in user.groups
                    for app in group.apps
                    if app.kind is AppKind.HOSTED and app.enabled
                }
            )
            secret = create_token(session, clock, name="bench", admin=False, user=user).secret
            users[user.username] = (secret, apps)
    store.engine.dispose()
    return users


class Launcher:
    """Sends launches and keeps their latencies."""

    def __init__(self, base: str, threads: int) -> None:
        self.base = base
        self.client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=threads))
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def launch(self, token: str, app: str) -> None:
        began = time.perf_counter()
        try:
            self.client.post(
                f"{self.base}/api/v1/launches",
                json={"app": app},
                headers={"Authorization": f"Bearer {token}"},
            ).raise_for_status()
        except httpx.HTTPError as exc:
            self.errors.append(type(exc).__name__)
        self.latencies.append(time.perf_counter() - began)

    def run(self, workers: list[Callable[[], None]]) -> float:
        threads = [threading.Thread(target=worker) for worker in workers]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.perf_counter() - began


def report(name: str, latencies: list[float], seconds: float, errors: list[str]) -> None:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000
    print(
        f"{name}: {len(ordered)} launches in {seconds:.1f} s = {len(ordered) / seconds:.1f}/s, "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, errors {len(errors)}"
    )


def storm(
    users: dict[str, tuple[str, list[str]]], base: str, args: argparse.Namespace, rng: random.Random
) -> None:
    plan = sorted(
        (rng.uniform(0, args.storm_seconds), name, app)
        for name, (_, apps) in users.items()
        for app in rng.sample(apps, min(len(apps), rng.choice((2, 3))))
    )
    launcher = Launcher(base, args.threads)
    lock = threading.Lock()
    position = [0]
    began = time.perf_counter()

    def worker() -> None:
        while True:
            with lock:
                index = position[0]
                position[0] += 1
            if index >= len(plan):
                return
            at, name, app = plan[index]
            delay = at - (time.perf_counter() - began)
            if delay > 0:
                time.sleep(delay)
            launcher.launch(users[name][0], app)

    seconds = launcher.run([worker] * args.threads)
    report("storm", launcher.latencies, seconds, launcher.errors)


def sustained(users: dict[str, tuple[str, list[str]]], base: str, args: argparse.Namespace) -> None:
    launcher = Launcher(base, args.threads)
    names = [name for name, (_, apps) in users.items() if apps]
    deadline = time.perf_counter() + args.max_seconds

    def worker(seed: int) -> Callable[[], None]:
        local = random.Random(seed)  # noqa: S311 - load generation

        def loop() -> None:
            while time.perf_counter() < deadline:
                token, apps = users[local.choice(names)]
                launcher.launch(token, local.choice(apps))

        return loop

    seconds = launcher.run([worker(i) for i in range(args.threads)])
    report("sustained maximum", launcher.latencies, seconds, launcher.errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--storm-seconds", type=float, default=600)
    parser.add_argument("--max-seconds", type=float, default=20)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="anyplace-bench-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    users = prepare(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = os.environ | {
        "ANYPLACE_DATABASE_URL": url,
        "ANYPLACE_POWER_ENABLED": "false",
        "ANYPLACE_SERVER_LOG_LEVEL": "warning",
    }
    command = [sys.executable, "-m", "anyplace", "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env)  # noqa: S603 - our own command
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        store = open_store(Settings(database=DatabaseSettings(url=url)))
        agents = SimulatedHosts(store, SystemClock(), base, interval=30)
        agents.beat_all()
        stop = threading.Event()
        beating = threading.Thread(target=agents.run, args=(stop,), daemon=True)
        beating.start()
        rng = random.Random(args.seed)  # noqa: S311 - load generation
        storm(users, base, args, rng)
        sustained(users, base, args)
        stop.set()
        beating.join(timeout=60)  # let a heartbeat round finish before the server goes
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
