"""An HTML page with PNG charts comparing the strategies (matplotlib, no display needed)."""

from __future__ import annotations

import html
from datetime import datetime, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on servers and in CI

import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from anyplace.sim.run import SimulationResult

__all__ = ["write_report"]

COLOURS = {
    "always-on": "#9e9e9e",
    "schedule": "#8d6e63",
    "avd": "#1e88e5",
    "citrix": "#43a047",
    "anyplace": "#e53935",
}


def write_report(result: SimulationResult, folder: Path, *, days_shown: int = 7) -> Path:
    """Write index.html and its charts into `folder`; returns the page."""
    folder.mkdir(parents=True, exist_ok=True)
    charts = [
        _capacity_chart(result, folder / "capacity.png", days_shown),
        _bar_chart(result, folder / "cost.png", "cost", "Compute cost (EUR)"),
        _bar_chart(result, folder / "waits.png", "waited", "Sessions that waited for a host"),
    ]
    rows = "\n".join(
        "<tr>"
        + f"<th scope='row'>{html.escape(name)}</th>"
        + "".join(f"<td>{value}</td>" for value in figures.as_json().values())
        + "</tr>"
        for name, figures in result.strategies.items()
    )
    first = next(iter(result.strategies.values()), None)
    header = "".join(f"<th scope='col'>{key}</th>" for key in (first.as_json() if first else {}))
    page = folder / "index.html"
    page.write_text(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>anyplace simulation</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}
img{{max-width:100%;margin:1rem 0}}</style></head><body>
<h1>Simulation {result.start:%Y-%m-%d} to {result.end:%Y-%m-%d}</h1>
<p>Oracle (lower bound): cost {float(result.oracle_cost):.2f},
host-hours {result.oracle_host_hours:.1f}.</p>
<table><thead><tr><th scope="col">strategy</th>{header}</tr></thead><tbody>
{rows}
</tbody></table>
{"".join(f'<img src="{chart.name}" alt="{html.escape(alt)}">' for chart, alt in charts)}
</body></html>
""",
        encoding="utf-8",
    )
    return page


def _capacity_chart(result: SimulationResult, path: Path, days: int) -> tuple[Path, str]:
    figure, axes = plt.subplots(figsize=(12, 4.5), dpi=100)
    drawn_sessions = False
    for name, figures in result.strategies.items():
        totals: dict[datetime, list[int]] = {}
        for pool in figures.pools.values():
            for at, sessions, capacity in pool.timeline:
                entry = totals.setdefault(at, [0, 0])
                entry[0] += sessions
                entry[1] += capacity
        if not totals:
            continue
        moments = sorted(totals)
        shown = [m for m in moments if m - moments[0] < timedelta(days=days)]
        xs = mdates.date2num(shown)  # type: ignore[no-untyped-call]
        if not drawn_sessions:
            load = [totals[m][0] for m in shown]
            axes.fill_between(xs, load, color="#cfd8dc", label="sessions")
            drawn_sessions = True
        seats = [totals[m][1] for m in shown]
        axes.step(xs, seats, where="post", label=f"capacity: {name}",
                  color=COLOURS.get(name), linewidth=1.2)  # fmt: skip
    axes.set_ylabel("sessions / seats on serving hosts")
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%a %d %b"))  # type: ignore[no-untyped-call]
    axes.legend(loc="upper right", fontsize="small")
    axes.set_title(f"Sessions and capacity, first {days} days")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path, f"Sessions and capacity over the first {days} days, per strategy"


def _bar_chart(result: SimulationResult, path: Path, key: str, title: str) -> tuple[Path, str]:
    names = list(result.strategies)
    values = [float(result.strategies[n].as_json()[key]) for n in names]
    figure, axes = plt.subplots(figsize=(7, 3.5), dpi=100)
    axes.bar(names, values, color=[COLOURS.get(n, "#607d8b") for n in names])
    if key == "cost":
        axes.axhline(float(result.oracle_cost), color="black", linestyle="--", label="oracle")
        axes.legend()
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path, title
