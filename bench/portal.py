"""Benchmark: how long the server takes to render a person's app grid (target < 100 ms).

Run with `make bench` or `python bench/portal.py [--requests 300]`.

A user entitled to all 250 demo apps (the worst case) is signed in to the
portal on SQLite; the app grid, a search and the launch page's status are
requested in-process (no network, so the time is the server's own: the session
check, the queries and the template), and p50/p95/p99 are printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from anyplace.clock import SystemClock
from anyplace.config import DatabaseSettings, Settings
from anyplace.demo import demo_data_dir
from anyplace.identity.local import add_local_user
from anyplace.importer import apply_dataset, read_dataset
from anyplace.store.access import open_store
from anyplace.store.migrate import upgrade
from anyplace.store.models import Group
from anyplace.web.app import create_app

PASSWORD = "bench-password"  # noqa: S105


def measure(client: TestClient, path: str, count: int, headers: dict[str, str]) -> list[float]:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text[:300]
    return timings


def report(name: str, timings: list[float], apps: int) -> None:
    ordered = sorted(timings)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    p99 = ordered[int(len(ordered) * 0.99) - 1]
    print(
        f"{name:<28} {apps:>4} apps  p50 {statistics.median(ordered):6.1f} ms  "
        f"p95 {p95:6.1f} ms  p99 {p99:6.1f} ms  ({len(ordered)} requests)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(database=DatabaseSettings(url=f"sqlite:///{Path(folder) / 'b.db'}"))
        store = open_store(settings)
        upgrade(store.engine)
        clock = SystemClock()
        with store.transaction() as session:
            apply_dataset(session, read_dataset(demo_data_dir()), clock)
            groups = list(session.scalars(select(Group.name)))
            add_local_user(
                session,
                clock,
                username="bench",
                display_name="Bench",
                groups=groups,
                password=PASSWORD,
            )
        app = create_app(settings, engine=store.engine, clock=clock)
        with TestClient(app, base_url="http://localhost") as client:
            page = client.get("/login")
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            client.post(
                "/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token}
            )
            apps = client.get("/").text.count('class="app"')
            measure(client, "/", 20, {})  # warm up: templates compiled, caches filled
            report("app grid (full page)", measure(client, "/", args.requests, {}), apps)
            htmx = {"HX-Request": "true"}
            report("search 'sag' (htmx)", measure(client, "/?q=sag", args.requests, htmx), apps)
            report("my sessions", measure(client, "/sessions", args.requests, {}), apps)


if __name__ == "__main__":
    main()
