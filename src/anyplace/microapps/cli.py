"""`anyplace microapps ...`, `anyplace secret ...` and `anyplace audit person`."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from anyplace.clock import SystemClock
from anyplace.config import Settings
from anyplace.errors import AnyplaceError
from anyplace.microapps.definitions import read_library
from anyplace.microapps.secrets import SecretStore, new_key
from anyplace.microapps.service import Microapps
from anyplace.microapps.worker import replay
from anyplace.store.access import open_store
from anyplace.store.models import AuditEvent, Delivery, Submission

__all__ = ["make_audit_app", "make_microapps_app", "make_secret_app"]

out = Console()
err = Console(stderr=True)


def make_microapps_app(settings_of: Callable[[], Settings]) -> typer.Typer:
    app = typer.Typer(help="Microapps: forms delivered to every system.", no_args_is_help=True)

    @app.command("check")
    def check(
        folder: Annotated[Path, typer.Argument(help="A folder of microapp YAML files.")],
    ) -> None:
        """Check every definition; each problem is printed with its file, line and field."""
        library = read_library(folder)
        for spec in library.microapps.values():
            targets = ", ".join(t.name for t in spec.targets)
            out.print(
                f"[green]ok[/green] {spec.id}: {len(spec.fields)} fields -> {targets}",
                highlight=False,
            )

    @app.command("worker")
    def worker(
        once: Annotated[
            bool, typer.Option("--once", help="Deliver what is due, then stop.")
        ] = False,
    ) -> None:
        """Deliver submissions to their targets until stopped (SIGTERM or Ctrl-C)."""
        settings = settings_of()
        store = open_store(settings)
        service = Microapps.load(store, SystemClock(), settings.microapps)
        if once:
            tally = service.worker().run_once()
            out.print(f"delivered {tally.delivered}, retrying {tally.retrying}, dead {tally.dead}")
            return
        stop = threading.Event()

        def finish(_signal: int, _frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, finish)
        signal.signal(signal.SIGINT, finish)
        threads = service.run_workers(stop)
        err.print(f"{len(threads)} delivery workers running", highlight=False)
        stop.wait()
        for thread in threads:
            thread.join(timeout=60)
        service.close()

    @app.command("dead")
    def dead() -> None:
        """The dead letters: deliveries that failed for good, with their last error."""
        store = open_store(settings_of())
        table = Table("id", "submission", "target", "attempts", "last error")
        with store.sessions() as session:
            for row in session.scalars(
                select(Delivery).where(Delivery.state == "dead").order_by(Delivery.id)
            ):
                table.add_row(
                    str(row.id),
                    row.submission_id,
                    row.target,
                    str(row.attempts),
                    row.last_error or "",
                )
        out.print(table)

    @app.command("replay")
    def replay_command(
        ids: Annotated[list[int] | None, typer.Argument(help="Delivery ids (see `dead`).")] = None,
        all_dead: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
    ) -> None:
        """Send dead deliveries again, with the same idempotency keys."""
        store = open_store(settings_of())
        if all_dead:
            with store.sessions() as session:
                ids = list(session.scalars(select(Delivery.id).where(Delivery.state == "dead")))
        if not ids:
            raise AnyplaceError("name the deliveries to replay, or --all")
        count = replay(store, SystemClock(), ids, by="cli")
        out.print(f"{count} deliveries queued again")

    return app


def make_secret_app(settings_of: Callable[[], Settings]) -> typer.Typer:
    app = typer.Typer(help="Connector secrets, encrypted in the store.", no_args_is_help=True)

    @app.command("key")
    def key() -> None:
        """Print a new key for [microapps] secret_key (keep it outside the database)."""
        print(new_key())

    @app.command("set")
    def set_secret(
        name: Annotated[str, typer.Argument(help="The name connectors use (secret:NAME).")],
    ) -> None:
        """Store a secret read from standard input (it is never printed)."""
        settings = settings_of()
        value = sys.stdin.readline().rstrip("\n")
        if not value:
            raise AnyplaceError("no value on standard input")
        store = open_store(settings)
        key_value = settings.microapps.secret_key
        secrets = SecretStore(store, key_value.get_secret_value() if key_value else None)
        with store.transaction() as session:
            secrets.set(session, SystemClock(), name, value)
        out.print(f"secret {name} stored")

    return app


def make_audit_app(settings_of: Callable[[], Settings]) -> typer.Typer:
    app = typer.Typer(help="The audit log.", no_args_is_help=True)

    @app.command("person")
    def person(cpr: Annotated[str, typer.Argument(help="The person's CPR number.")]) -> None:
        """Everything the log holds about one person: a GDPR access report (itself audited)."""
        from anyplace.audit import record  # noqa: PLC0415 - the CLI loads it only here
        from anyplace.microapps.validators import validate_cpr  # noqa: PLC0415

        number = validate_cpr(cpr)
        store = open_store(settings_of())
        clock = SystemClock()
        table = Table("when (UTC)", "who", "what", "microapp / object")
        with store.transaction() as session:
            events = session.scalars(
                select(AuditEvent).where(AuditEvent.subject == number).order_by(AuditEvent.at)
            ).all()
            for event in events:
                what = str(
                    event.details.get("microapp") or f"{event.object_type} {event.object_id}"
                )
                table.add_row(
                    event.at.strftime("%Y-%m-%d %H:%M:%S"), event.actor, event.action, what
                )
            submissions = session.scalars(
                select(Submission)
                .where(Submission.person == number)
                .options(selectinload(Submission.deliveries))
                .order_by(Submission.submitted_at)
            ).all()
            lines = [
                f"{s.submitted_at:%Y-%m-%d %H:%M} {s.microapp} by {s.submitted_by}"
                f" ({'values kept' if s.payload is not None else 'values deleted (retention)'})"
                f" -> {', '.join(f'{d.target}: {d.state}' for d in s.deliveries)}"
                for s in submissions
            ]
            record(
                session,
                clock,
                actor="cli",
                action="person-report",
                subject=number,
                details={"events": len(events), "submissions": len(submissions)},
            )
        out.print(
            f"[bold]{number}[/bold]: {len(events)} events, {len(submissions)} submissions",
            highlight=False,
        )
        out.print(table)
        for line in lines:
            out.print(line, highlight=False)

    return app
