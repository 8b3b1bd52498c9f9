"""Benchmark: a simulated year of the demo municipality under every strategy.

Run with `make bench` (or `python bench/simulate.py [--days N]`). Prints the wall
time per strategy and the figures, and writes JSON and an HTML report with
charts to build/simulation/. The first 56 days only teach the forecast.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from anyplace.demo import demo_data_dir
from anyplace.importer import read_dataset
from anyplace.sim.generate import generate_trace
from anyplace.sim.report import write_report
from anyplace.sim.run import SimulationResult, run_simulation, trace_period
from anyplace.sim.setups import setups_from_dataset
from anyplace.sim.strategies import STRATEGIES

WARMUP_DAYS = 56
ZONE = ZoneInfo("Europe/Copenhagen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--days", type=int, default=364, help="measured days (after warm-up)")
    parser.add_argument("--start", default="2026-11-09", help="first day of the warm-up")
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--out", type=Path, default=Path("build/simulation"))
    args = parser.parse_args()

    data = read_dataset(demo_data_dir())
    setups = setups_from_dataset(data)
    began = time.perf_counter()
    sessions = generate_trace(
        data, start=date.fromisoformat(args.start), days=args.days + WARMUP_DAYS, seed=args.seed
    )
    print(f"trace: {len(sessions)} sessions in {time.perf_counter() - began:.1f} s")
    start, end = trace_period(sessions, ZONE)
    results: dict[str, object] = {}
    combined: SimulationResult | None = None
    for name in STRATEGIES:
        began = time.perf_counter()
        result = run_simulation(
            setups, sessions, [name], start=start, end=end, seed=args.seed,
            warmup=timedelta(days=WARMUP_DAYS),
        )  # fmt: skip
        seconds = time.perf_counter() - began
        figures = result.strategies[name]
        results[name] = figures.as_json() | {"wall_time_s": round(seconds, 1)}
        print(
            f"{name:10} {seconds:6.1f} s  "
            + "  ".join(f"{k}={v}" for k, v in figures.as_json().items())
        )
        if combined is None:
            combined = result
        else:
            combined.strategies.update(result.strategies)
    assert combined is not None
    oracle = f"cost {float(combined.oracle_cost):.2f}, host-hours {combined.oracle_host_hours:.1f}"
    print(f"oracle: {oracle}")
    args.out.mkdir(parents=True, exist_ok=True)
    summary = combined.as_json()
    summary["strategies"] = results
    (args.out / "figures.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    page = write_report(combined, args.out)
    print(f"report: {page}")


if __name__ == "__main__":
    main()
