"""Trace files: reading, writing, validation with line numbers, and generation."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from anyplace.demo import demo_data_dir
from anyplace.errors import DataFileError
from anyplace.importer import read_dataset
from anyplace.sim.generate import generate_trace
from anyplace.sim.traces import read_trace, write_trace
from tests.sim.conftest import session

CPH = ZoneInfo("Europe/Copenhagen")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trace.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_trace_round_trips_in_local_time(tmp_path: Path) -> None:
    sessions = [session("anni", 60, 120), session("bo", 0, 30)]
    path = tmp_path / "t.csv"
    assert write_trace(path, sessions, CPH) == 2
    assert "2026-11-30T01:00:00+01:00" in path.read_text(encoding="utf-8")
    assert read_trace(path, {"p"}) == sorted(sessions)


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("anni,p,2026-11-30T08:00:00+01:00,2026-11-30T07:00:00+01:00\n", 2, "ends"),
        ("anni,q,2026-11-30T08:00:00+01:00,2026-11-30T09:00:00+01:00\n", 2, "unknown pool 'q'"),
        ("anni,p,2026-11-30T08:00:00,2026-11-30T09:00:00+01:00\n", 2, "needs a UTC offset"),
        (
            "anni,p,2026-11-30T08:00:00+01:00,2026-11-30T09:00:00+01:00\nbo,p,tomorrow,later\n",
            3,
            "not an ISO 8601 time",
        ),
        ("anni,p,2026-11-30T08:00:00+01:00\n", 2, "expected 4 fields"),
    ],
)
def test_bad_rows_are_reported_with_their_line(
    tmp_path: Path, body: str, line: int, message: str
) -> None:
    path = write(tmp_path, "user,pool,start,end\n" + body)
    with pytest.raises(DataFileError) as caught:
        read_trace(path, {"p"})
    assert caught.value.line == line
    assert message in str(caught.value)


def test_a_bad_header_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="user,pool,start,end"):
        read_trace(write(tmp_path, "who,where,from,to\n"))


def test_generation_is_deterministic_and_shaped_like_a_working_week() -> None:
    data = read_dataset(demo_data_dir())
    monday = date(2026, 11, 30)
    first = generate_trace(data, start=monday, days=7, seed=5)
    assert first == generate_trace(data, start=monday, days=7, seed=5)
    assert first != generate_trace(data, start=monday, days=7, seed=6)
    office = [s for s in first if s.pool == "generel"]
    weekdays = Counter(s.start.astimezone(CPH).weekday() for s in office)
    assert weekdays[5] == weekdays[6] == 0, "offices are closed at weekends"
    care = Counter(s.start.astimezone(CPH).weekday() for s in first if s.pool == "hjemmepleje")
    assert care[5] > 0, "home care works at weekends"
    mornings = [s.start.astimezone(CPH) for s in office if s.start.astimezone(CPH).hour < 10]
    arrivals = [t.hour * 60 + t.minute for t in mornings]
    # The arrival window is 07:00-09:00: about 40 % in its middle sixth (07:50-08:10).
    middle = sum(1 for m in arrivals if 470 <= m < 490) / len(arrivals)
    assert 0.30 < middle < 0.50
    assert {"gis", "legacy32"} <= {s.pool for s in first}


def test_public_holidays_and_july_are_quiet() -> None:
    data = read_dataset(demo_data_dir())
    christmas = generate_trace(data, start=date(2026, 12, 25), days=1, seed=1)
    assert not [s for s in christmas if s.pool == "generel"]
    assert [s for s in christmas if s.pool == "hjemmepleje"]
    june = generate_trace(data, start=date(2027, 6, 21), days=1, seed=1)
    july = generate_trace(data, start=date(2027, 7, 19), days=1, seed=1)  # week 29
    assert len(july) < 0.5 * len(june)
