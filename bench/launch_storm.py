"""Benchmark: the morning launch storm against a running server (SQLite), then the maximum.

Run with `make bench` or `python bench/launch_storm.py [--storm-seconds 600]`.

1. The demo municipality's 1,600 users each launch 2-3 of their apps at random
   moments within the storm window (default 10 minutes), with every pool host on
   and its scripted agent heartbeating (each host every 30 s, spread out).
2. Then the sustained maximum: wrk (a load generator in C, so that the client
   takes little of the two cores) keeps N launches in flight for
   `--max-seconds`, for each N in `--connections`, each user launching random
   apps of theirs with their own API token.

Prints launches/s and p50/p99 latency, the server's CPU time per launch and the
broker's launches per batch. Client and server share this machine's two cores.
Needs wrk (Debian: apt-get install wrk).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
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


WRK_SCRIPT = """
math.randomseed(%(seed)d)
request = function()
  local p = launches[math.random(#launches)]
  return wrk.format("POST", "/api/v1/launches",
    {["Authorization"] = "Bearer " .. p[1], ["Content-Type"] = "application/json"},
    '{"app":"' .. p[2] .. '"}')
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%f %%f %%f %%d %%d\\n", summary.requests,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status, summary.errors.connect + summary.errors.read
      + summary.errors.write + summary.errors.timeout))
end
"""


def wrk_script(users: dict[str, tuple[str, list[str]]], folder: Path, seed: int) -> Path:
    """A Lua script for wrk: every (token, app) a user may launch, picked at random."""
    rows = ",\n".join(f'{{"{token}","{app}"}}' for token, apps in users.values() for app in apps)
    script = folder / "launch.lua"
    script.write_text(f"launches = {{\n{rows}\n}}\n" + WRK_SCRIPT % {"seed": seed})
    return script


def server_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def batch_totals(base: str) -> tuple[float, float]:
    """(batches, launches) decided so far, from the server's Prometheus metrics."""
    count = total = 0.0
    for line in httpx.get(f"{base}/metrics", timeout=10).text.splitlines():
        if line.startswith("anyplace_launch_batch_size_count"):
            count = float(line.split()[-1])
        elif line.startswith("anyplace_launch_batch_size_sum"):
            total = float(line.split()[-1])
    return count, total


def sustained(
    users: dict[str, tuple[str, list[str]]],
    base: str,
    args: argparse.Namespace,
    server: subprocess.Popen[bytes],
    folder: Path,
) -> None:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("the sustained maximum needs wrk: apt-get install wrk")
    script = wrk_script(users, folder, args.seed)
    for connections in args.connections:
        cpu_before = server_cpu_seconds(server.pid)
        batches_before, launches_before = batch_totals(base)
        command = [wrk, "-t2", f"-c{connections}", f"-d{args.max_seconds}s", "-s", str(script)]
        output = subprocess.run(  # noqa: S603 - our own command line
            [*command, base], capture_output=True, text=True, check=True
        ).stdout
        cpu = server_cpu_seconds(server.pid) - cpu_before
        batches, launches = batch_totals(base)
        result = next(line for line in output.splitlines() if line.startswith("RESULT"))
        done, seconds, p50, p99, non_2xx, failed = result.split()[1:]
        per_batch = (launches - launches_before) / max(1.0, batches - batches_before)
        print(
            f"sustained, {connections} in flight: {int(done)} launches in {float(seconds):.1f} s"
            f" = {int(done) / float(seconds):.0f}/s, p50 {float(p50):.1f} ms,"
            f" p99 {float(p99):.1f} ms, errors {int(non_2xx) + int(failed)};"
            f" server CPU {cpu * 1000 / max(1, int(done)):.2f} ms per launch,"
            f" {per_batch:.1f} launches per batch"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--storm-seconds", type=float, default=600)
    parser.add_argument("--max-seconds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=8, help="client threads of the storm")
    parser.add_argument(
        "--connections",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[8, 16, 24, 32],
        help="launches kept in flight for the sustained maximum, comma-separated",
    )
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
        agents.beat_all()  # registered before the first launch; then paced by run()
        stop = threading.Event()
        beating = threading.Thread(target=agents.run, args=(stop,), daemon=True)
        beating.start()
        rng = random.Random(args.seed)  # noqa: S311 - load generation
        storm(users, base, args, rng)
        sustained(users, base, args, server, folder)
        stop.set()
        beating.join(timeout=60)  # let a heartbeat round finish before the server goes
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
