"""Session traces: a CSV with one row per user session, `user,pool,start,end`.

Times are ISO 8601 with a UTC offset. Reading checks every row and reports
the first bad one with its line number; nothing is simulated from a trace that
is partly wrong.
"""

from __future__ import annotations

import csv
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from anyplace.errors import DataFileError

__all__ = ["HEADER", "TraceSession", "read_trace", "write_trace"]

HEADER = ("user", "pool", "start", "end")


@dataclass(frozen=True, order=True)
class TraceSession:
    start: datetime
    end: datetime
    user: str
    pool: str

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def read_trace(path: Path, pools: Collection[str] | None = None) -> list[TraceSession]:
    """All sessions in the file, sorted by start; `pools`, if given, are the only valid ones."""
    try:
        handle = path.open(encoding="utf-8", newline="")
    except OSError as exc:
        raise DataFileError(str(path), None, f"cannot read: {exc.strerror}") from None
    sessions: list[TraceSession] = []
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(h.strip() for h in header) != HEADER:
            raise DataFileError(str(path), 1, f"expected the header {','.join(HEADER)}")
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            sessions.append(_row(path, line, row, pools))
    sessions.sort()
    return sessions


def _row(path: Path, line: int, row: list[str], pools: Collection[str] | None) -> TraceSession:
    if len(row) != len(HEADER):
        raise DataFileError(str(path), line, f"expected 4 fields, found {len(row)}")
    user, pool, start_text, end_text = (field.strip() for field in row)
    if not user:
        raise DataFileError(str(path), line, "the user is empty")
    if pools is not None and pool not in pools:
        raise DataFileError(str(path), line, f"unknown pool {pool!r}")
    start, end = _time(path, line, start_text, "start"), _time(path, line, end_text, "end")
    if end <= start:
        raise DataFileError(str(path), line, f"the session ends ({end_text}) before it starts")
    return TraceSession(start, end, user, pool)


def _time(path: Path, line: int, text: str, what: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise DataFileError(str(path), line, f"{what} {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise DataFileError(str(path), line, f"{what} {text!r} needs a UTC offset")
    return value.astimezone(UTC)


def write_trace(path: Path, sessions: Iterable[TraceSession], zone: ZoneInfo | None = None) -> int:
    """Write sessions (in the given zone's local time, with offset); returns how many."""
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for session in sessions:
            start, end = session.start, session.end
            if zone is not None:
                start, end = start.astimezone(zone), end.astimezone(zone)
            writer.writerow(
                (
                    session.user,
                    session.pool,
                    start.isoformat(timespec="seconds"),
                    end.isoformat(timespec="seconds"),
                )
            )
            count += 1
    return count
