"""`anyplace power plan` and `anyplace power report`."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.table import Table

from anyplace.clock import SystemClock
from anyplace.config import Settings
from anyplace.errors import AnyplaceError
from anyplace.power.preview import PlanPreview, preview
from anyplace.power.report import PowerReport, power_report
from anyplace.store.access import open_store

__all__ = ["make_power_app", "parse_local_time"]

out = Console()


def parse_local_time(text: str, zone: ZoneInfo) -> datetime:
    """An ISO time; without an offset it is a wall-clock time in `zone`."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise AnyplaceError(f"{text!r} is not a time like 2026-12-01T07:00") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise AnyplaceError(f"unknown time zone {name!r}") from None


TimeZoneOption = Annotated[str, typer.Option("--tz", help="Time zone for times without an offset.")]


def make_power_app(settings_of: Callable[[], Settings]) -> typer.Typer:
    app = typer.Typer(help="Power: schedules, autoscale, cost and CO2.", no_args_is_help=True)

    @app.command("plan")
    def plan_command(
        at: Annotated[
            str | None, typer.Option(help="When (default: now), e.g. 2026-12-01T07:00.")
        ] = None,
        tz: TimeZoneOption = "Europe/Copenhagen",
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Show what the controller would do now or at a time, and why, without doing it."""
        settings = settings_of()
        store = open_store(settings)
        store.require_current()
        when = parse_local_time(at, _zone(tz)) if at else SystemClock().now()
        with store.sessions() as session:
            result = preview(session, settings.power, when)
        if as_json:
            print(result.model_dump_json(indent=2))
        else:
            _print_plan(result, _zone(tz))

    @app.command("report")
    def report_command(
        start: Annotated[
            str | None, typer.Option("--from", help="First day (default: today).")
        ] = None,
        end: Annotated[
            str | None, typer.Option("--to", help="Last day, included (default: now).")
        ] = None,
        tz: TimeZoneOption = "Europe/Copenhagen",
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Hours, cost, kWh, CO2 and savings against always-on, per pool and server group."""
        settings = settings_of()
        store = open_store(settings)
        store.require_current()
        zone = _zone(tz)
        now = SystemClock().now()
        first = (
            _day_start(start, zone)
            if start
            else _day_start(now.astimezone(zone).date().isoformat(), zone)
        )
        last = _day_start(end, zone) + timedelta(days=1) if end else now
        if last <= first:
            raise AnyplaceError("--to must not be before --from")
        with store.sessions() as session:
            report = power_report(session, start=first, end=last, now=now, settings=settings.power)
        if as_json:
            print(json.dumps(_report_json(report), indent=2))
        else:
            _print_report(report, zone)

    return app


def _day_start(text: str, zone: ZoneInfo) -> datetime:
    day = parse_local_time(text, zone)
    return datetime.combine(day.date(), time(0), tzinfo=zone)


def _print_plan(result: PlanPreview, zone: ZoneInfo) -> None:
    out.print(f"[bold]Power plan at {result.at.astimezone(zone):%A %Y-%m-%d %H:%M %Z}[/bold]")
    table = Table(
        "pool", "phase", "sessions", "demand", "buffer", "minimum", "on", "target", "actions"
    )
    for pool in result.pools:
        phase = pool.phase.value + (f" ({pool.holiday})" if pool.holiday else "")
        table.add_row(
            pool.pool, phase, str(pool.sessions), str(pool.demand), f"{pool.buffer_percent} %",
            str(pool.minimum), f"{pool.hosts_on}/{pool.hosts}", str(pool.target_hosts),
            _summary([a.action for a in pool.actions]),
        )  # fmt: skip
    out.print(table)
    groups = Table("server group", "phase", "on", "target", "actions")
    for group in result.server_groups:
        phase = group.phase.value + (f" ({group.holiday})" if group.holiday else "")
        groups.add_row(
            group.server_group, phase, f"{group.servers_on}/{group.servers}",
            str(group.target_hosts), _summary([a.action for a in group.actions]),
        )  # fmt: skip
    out.print(groups)
    for name, actions in [(p.pool, p.actions) for p in result.pools] + [
        (g.server_group, g.actions) for g in result.server_groups
    ]:
        for action in actions:
            out.print(f"  {name}: {action.action} {action.host}: {action.reason}")


def _summary(actions: list[str]) -> str:
    counts: dict[str, int] = {}
    for action in actions:
        counts[action] = counts.get(action, 0) + 1
    return ", ".join(f"{count} {action}" for action, count in counts.items()) or "-"


def _report_json(report: PowerReport) -> dict[str, object]:
    return {
        "from": report.start.isoformat(),
        "to": report.end.isoformat(),
        "lines": [
            line.model_dump(mode="json") | {"savings_percent": round(line.savings_percent, 1)}
            for line in report.lines
        ],
        "total_cost": str(report.total_cost),
        "total_savings": str(report.total_savings),
    }


def _print_report(report: PowerReport, zone: ZoneInfo) -> None:
    shown = "%Y-%m-%d %H:%M"
    span = f"{report.start.astimezone(zone):{shown}} to {report.end.astimezone(zone):{shown}}"
    currencies = {line.currency for line in report.lines}
    money = currencies.pop() if len(currencies) == 1 else "mixed currencies"
    table = Table(
        "name", "machines", "hours", "cost", "always on", "saved", "kWh", "CO2 kg",
        title=f"Power use {span} ({money})",
    )  # fmt: skip
    for line in report.lines:
        label = line.name if line.kind == "pool" else f"{line.name} (servers)"
        table.add_row(
            label, str(line.machines), f"{line.hours:.1f}", f"{line.cost:.2f}",
            f"{line.always_on_cost:.2f}", f"{line.savings_percent:.0f} %",
            f"{line.energy_kwh:.1f}", f"{line.co2_kg:.2f}",
        )  # fmt: skip
    out.print(table)
    out.print(
        f"total cost {report.total_cost:.2f}, saved {report.total_savings:.2f} against always-on"
    )
