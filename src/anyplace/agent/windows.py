"""Sessions on a Windows session host through the Remote Desktop Services (WTS) API.

Uses pywin32's `win32ts`; imported only on Windows (`--source windows`). Not
exercised by the test suite, which runs on Linux: the scripted and loginctl
sources share its contract.
"""

from __future__ import annotations

from typing import Any

import win32ts

from anyplace.broker.heartbeat import ReportedSession
from anyplace.domain import SessionState

__all__ = ["WindowsSource"]

SERVER = win32ts.WTS_CURRENT_SERVER_HANDLE
STATES = {
    win32ts.WTSActive: SessionState.ACTIVE,
    win32ts.WTSDisconnected: SessionState.DISCONNECTED,
}


class WindowsSource:
    def sessions(self) -> list[ReportedSession]:
        found = []
        for entry in win32ts.WTSEnumerateSessions(SERVER):
            state = STATES.get(entry["State"])
            if state is None:
                continue
            session_id = entry["SessionId"]
            user = self._query(session_id, win32ts.WTSUserName)
            if not user:
                continue
            found.append(ReportedSession(str(session_id), user.lower(), state))
        return found

    def _query(self, session_id: int, what: Any) -> str:
        return str(win32ts.WTSQuerySessionInformation(SERVER, session_id, what) or "")

    def log_off(self, session_id: str) -> None:
        win32ts.WTSLogoffSession(SERVER, int(session_id), False)

    def disconnect(self, session_id: str) -> None:
        win32ts.WTSDisconnectSession(SERVER, int(session_id), False)

    def message(self, session_id: str | None, text: str) -> None:
        targets = [int(session_id)] if session_id else [
            int(s.external_id) for s in self.sessions()
        ]  # fmt: skip
        for target in targets:
            win32ts.WTSSendMessage(SERVER, target, "anyplace", text, 0x40, 60, False)
