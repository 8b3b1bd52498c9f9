"""The agent's loop: enrol once, then heartbeat, carrying out what the broker answers."""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from pathlib import Path
from typing import Any

import httpx

from anyplace.agent.sources import SessionSource
from anyplace.errors import AnyplaceError

__all__ = ["Agent"]

log = logging.getLogger(__name__)
CREDENTIAL_FILE = "credential.json"


class Agent:
    def __init__(
        self,
        broker_url: str,
        state_dir: Path,
        source: SessionSource,
        *,
        client: httpx.Client | None = None,
        interval: float | None = None,
    ) -> None:
        self.broker = broker_url.rstrip("/")
        self.state_dir = state_dir
        self.source = source
        self.http = client or httpx.Client(timeout=10)
        self.boot = uuid.uuid4().hex
        self.seq = 0
        self.interval = interval
        self.acks: list[int] = []
        self.drain = False

    @property
    def credential_path(self) -> Path:
        return self.state_dir / CREDENTIAL_FILE

    def enrol(self, token: str) -> str:
        """Trade the one-time token for this host's credential, kept readable by root only."""
        answer = self.http.post(f"{self.broker}/api/v1/agent/enrol", json={"token": token})
        if answer.status_code != 200:
            raise AnyplaceError(f"enrolment refused: {answer.json().get('detail', answer.text)}")
        data = answer.json()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.credential_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump({"host": data["host"], "credential": data["credential"]}, handle)
        self.interval = self.interval or float(data["heartbeat_seconds"])
        return str(data["host"])

    def _credential(self) -> str:
        if not self.credential_path.exists():
            raise AnyplaceError("this host has not enrolled: run the agent with --enrol-token")
        return str(json.loads(self.credential_path.read_text(encoding="utf-8"))["credential"])

    def heartbeat(self) -> dict[str, Any]:
        self.seq += 1
        body = {
            "boot": self.boot,
            "seq": self.seq,
            "sessions": [
                {
                    "id": s.external_id,
                    "user": s.username,
                    "state": s.state.value,
                    "apps": list(s.apps),
                    "idle_seconds": s.idle_seconds,
                }
                for s in self.source.sessions()
            ],
            "cpu_percent": _cpu_percent(),
            "memory_percent": _memory_percent(),
            "acks": self.acks,
        }
        answer = self.http.post(
            f"{self.broker}/api/v1/agent/heartbeat",
            json=body,
            headers={"Authorization": f"Bearer {self._credential()}"},
        )
        if answer.status_code != 200:
            raise AnyplaceError(f"heartbeat refused: {answer.json().get('detail', answer.text)}")
        data: dict[str, Any] = answer.json()
        self.acks = []
        self.drain = bool(data["drain"])
        self.interval = self.interval or float(data["heartbeat_seconds"])
        for command in data["commands"]:
            self._carry_out(command)
        return data

    def _carry_out(self, command: dict[str, Any]) -> None:
        if command["kind"] == "notify":
            self.source.message(command["session"], command["message"])
        elif command["kind"] == "disconnect" and command["session"]:
            self.source.disconnect(command["session"])
        elif command["kind"] == "logoff":
            targets = [command["session"]] if command["session"] else [
                s.external_id for s in self.source.sessions()
            ]  # fmt: skip
            for session_id in targets:
                self.source.log_off(session_id)
        self.acks.append(int(command["id"]))

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.heartbeat()
            except (httpx.HTTPError, AnyplaceError) as exc:
                log.warning("heartbeat failed, trying again: %s", exc)
            stop.wait(self.interval or 30)


def _cpu_percent() -> float | None:
    """Load average over one minute as a share of the CPUs (Linux); None elsewhere."""
    try:
        load = os.getloadavg()[0]
    except (OSError, AttributeError):
        return None
    return min(100.0, 100.0 * load / (os.cpu_count() or 1))


def _memory_percent() -> float | None:
    try:
        fields = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        total = float(fields["MemTotal"].split()[0])
        available = float(fields["MemAvailable"].split()[0])
    except (OSError, KeyError, ValueError):
        return None
    return 100.0 * (1 - available / total)
