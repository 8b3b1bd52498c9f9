"""`anyplace trace generate` and `anyplace simulate`."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from anyplace.demo import demo_data_dir
from anyplace.errors import AnyplaceError
from anyplace.importer import read_dataset
from anyplace.sim.generate import generate_trace
from anyplace.sim.run import SimulationResult, run_simulation, trace_period
from anyplace.sim.setups import setups_from_dataset
from anyplace.sim.strategies import STRATEGIES
from anyplace.sim.traces import read_trace, write_trace

__all__ = ["simulate", "trace_app"]

ZONE = ZoneInfo("Europe/Copenhagen")
out = Console()
err = Console(stderr=True)
trace_app = typer.Typer(help="Session traces for the simulator.", no_args_is_help=True)
StrategyOption = Annotated[
    list[str] | None,
    typer.Option("--strategy", help=f"Strategies to compare (all: {', '.join(STRATEGIES)})."),
]
DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="The organisation's YAML folder (default: the demo municipality)."),
]


@trace_app.command("generate")
def generate(
    out_file: Annotated[Path, typer.Option("--out", help="CSV file to write.")],
    days: Annotated[int, typer.Option(min=1, max=3660, help="How many days.")] = 7,
    start: Annotated[
        str | None, typer.Option(help="First day, YYYY-MM-DD (default: next Monday).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same trace.")] = 1,
    data: DataOption = None,
) -> None:
    """Generate a realistic session trace for the organisation (default: the demo municipality)."""
    first = _day(start) if start else _next_monday()
    dataset = read_dataset(data or demo_data_dir())
    with err.status(f"generating {days} days of sessions ..."):
        sessions = generate_trace(dataset, start=first, days=days, seed=seed)
        count = write_trace(out_file, sessions, ZONE)
    err.print(f"wrote {count} sessions ({first} + {days} days) to {out_file}")


def simulate(
    trace: Annotated[
        Path, typer.Option("--trace", help="Session trace CSV (user,pool,start,end).")
    ],
    strategy: Annotated[
        list[str] | None,
        typer.Option(
            "--strategy", help=f"Strategies to compare (default all: {', '.join(STRATEGIES)})."
        ),
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the figures as JSON here.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write an HTML report with charts here.")
    ] = None,
    warmup_days: Annotated[
        int, typer.Option(min=0, help="Days that only teach the forecast, not counted.")
    ] = 0,
    seed: Annotated[int, typer.Option(help="Seed for boot times.")] = 0,
    data: DataOption = None,
) -> None:
    """Replay a trace through each strategy and compare cost, energy, CO2 and waits."""
    names = strategy or list(STRATEGIES)
    unknown = [name for name in names if name not in STRATEGIES]
    if unknown:
        raise AnyplaceError(f"unknown strategy {unknown[0]!r}; one of {', '.join(STRATEGIES)}")
    setups = setups_from_dataset(read_dataset(data or demo_data_dir()))
    with err.status(f"reading {trace} ..."):
        sessions = read_trace(trace, {setup.name for setup in setups})
    if not sessions:
        raise AnyplaceError(f"{trace}: the trace has no sessions")
    start, end = trace_period(sessions, ZONE)
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f} %"),
        TimeRemainingColumn(), console=err,
    ) as progress:  # fmt: skip
        tasks = {name: progress.add_task(f"{name:<10}", total=1.0) for name in names}
        result = run_simulation(
            setups,
            sessions,
            names,
            start=start,
            end=end,
            seed=seed,
            warmup=timedelta(days=warmup_days),
            progress=lambda name, done: progress.advance(tasks[name], done),
        )
    _print(result)
    if json_out is not None:
        json_out.write_text(json.dumps(result.as_json(), indent=2) + "\n", encoding="utf-8")
        err.print(f"figures written to {json_out}")
    if report is not None:
        from anyplace.sim.report import write_report  # noqa: PLC0415 - matplotlib is slow to load

        page = write_report(result, report)
        err.print(f"report written to {page}")


def _print(result: SimulationResult) -> None:
    table = Table(
        "strategy", "cost", "host-h", "kWh", "CO2 kg", "sessions", "waited", "p95 wait s",
        "max wait s", "logoffs", "x oracle",
        title=f"{result.start:%Y-%m-%d} to {result.end:%Y-%m-%d}",
    )  # fmt: skip
    for name, figures in result.strategies.items():
        row = figures.as_json()
        table.add_row(name, *(str(value) for value in row.values()))
    out.print(table)
    out.print(
        f"oracle: cost {float(result.oracle_cost):.2f}, host-hours {result.oracle_host_hours:.1f}"
    )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise AnyplaceError(f"{text!r} is not a day like 2027-01-04") from None


def _next_monday() -> date:
    today = date.today()
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)
