"""`anyplace serve` as deployed: a real server process answering over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import httpx
import pytest

from anyplace.clock import SystemClock
from anyplace.identity.tokens import create_token
from anyplace.store.access import Store


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(demo_store: Store) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANYPLACE_")}
    env["ANYPLACE_DATABASE_URL"] = demo_store.engine.url.render_as_string(hide_password=False)
    process = subprocess.Popen(
        [sys.executable, "-m", "anyplace", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # Uvicorn says it is listening only once it is: wait for that line, not for a time.
        assert process.stdout is not None
        for line in process.stdout:
            if "Uvicorn running on" in line:
                break
        else:
            pytest.fail(f"the server exited with {process.wait()} before listening")
        # Keep reading its log so a full pipe never blocks the server.
        threading.Thread(target=process.stdout.read, daemon=True).start()
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_a_served_api_lists_the_demo_apps(server: str, demo_store: Store) -> None:
    with demo_store.transaction() as session:
        secret = create_token(session, SystemClock(), name="e2e", admin=True).secret
    apps = httpx.get(f"{server}/api/v1/apps", headers={"Authorization": f"Bearer {secret}"})
    assert apps.status_code == 200
    assert len(apps.json()) == 250
    assert httpx.get(f"{server}/readyz").json()["status"] == "ready"
    metrics = httpx.get(f"{server}/metrics")
    assert "anyplace_apps 250.0" in metrics.text
