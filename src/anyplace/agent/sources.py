"""Where an agent learns who is logged on, and how it logs them off.

- `ScriptedSource`: a JSON file of sessions, for tests and the demo.
- `LoginctlSource`: a Linux host with xrdp, through systemd-logind's `loginctl`.
- `WindowsSource`: the Remote Desktop Services (WTS) API through pywin32,
  imported only on Windows.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Protocol

from anyplace.broker.heartbeat import ReportedSession
from anyplace.domain import SessionState

__all__ = ["LoginctlSource", "ScriptedSource", "SessionSource", "make_source"]


class SessionSource(Protocol):
    def sessions(self) -> list[ReportedSession]: ...

    def log_off(self, session_id: str) -> None: ...

    def disconnect(self, session_id: str) -> None: ...

    def message(self, session_id: str | None, text: str) -> None: ...


class ScriptedSource:
    """Sessions kept in a JSON file: `[{"id", "user", "state", "apps", "idle_seconds"}]`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.messages: list[tuple[str | None, str]] = []

    def _read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        data: list[dict[str, Any]] = json.loads(self.path.read_text(encoding="utf-8") or "[]")
        return data

    def sessions(self) -> list[ReportedSession]:
        return [
            ReportedSession(
                external_id=str(item["id"]),
                username=item["user"],
                state=SessionState(item.get("state", "active")),
                apps=tuple(item.get("apps", ())),
                idle_seconds=float(item.get("idle_seconds", 0)),
            )
            for item in self._read()
        ]

    def log_off(self, session_id: str) -> None:
        remaining = [item for item in self._read() if str(item["id"]) != session_id]
        self.path.write_text(json.dumps(remaining), encoding="utf-8")

    def disconnect(self, session_id: str) -> None:
        items = self._read()
        for item in items:
            if str(item["id"]) == session_id:
                item["state"] = "disconnected"
        self.path.write_text(json.dumps(items), encoding="utf-8")

    def message(self, session_id: str | None, text: str) -> None:
        self.messages.append((session_id, text))


class LoginctlSource:
    """xrdp sessions as systemd-logind sees them (`loginctl`); remote ones only."""

    def _run(self, *args: str) -> str:
        result = subprocess.run(  # noqa: S603 - fixed program, arguments from logind
            ["loginctl", *args],  # noqa: S607 - found on PATH like any system tool
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        return result.stdout

    def sessions(self) -> list[ReportedSession]:
        found = []
        for item in json.loads(self._run("list-sessions", "--output=json") or "[]"):
            details = dict(
                line.split("=", 1)
                for line in self._run("show-session", str(item["session"])).splitlines()
                if "=" in line
            )
            if details.get("Remote") != "yes":
                continue
            state = (
                SessionState.ACTIVE if details.get("Active") == "yes" else SessionState.DISCONNECTED
            )
            found.append(ReportedSession(str(item["session"]), str(item["user"]), state))
        return found

    def log_off(self, session_id: str) -> None:
        self._run("terminate-session", session_id)

    def disconnect(self, session_id: str) -> None:
        """logind cannot detach a remote session; lock it, and xrdp keeps it for reconnection."""
        self._run("lock-session", session_id)

    def message(self, session_id: str | None, text: str) -> None:
        subprocess.run(["wall", text], check=False, timeout=10)  # noqa: S603, S607


def make_source(spec: str) -> SessionSource:
    """`scripted:PATH`, `loginctl` or `windows`."""
    kind, _, argument = spec.partition(":")
    if kind == "scripted" and argument:
        return ScriptedSource(Path(argument))
    if kind == "loginctl":
        return LoginctlSource()
    if kind == "windows":
        if sys.platform != "win32":
            raise ValueError("the windows session source runs only on Windows")
        from anyplace.agent.windows import WindowsSource  # noqa: PLC0415 - Windows only

        source: SessionSource = WindowsSource()
        return source
    raise ValueError(f"unknown session source {spec!r}: scripted:PATH, loginctl or windows")
