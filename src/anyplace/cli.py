"""The `anyplace` command.

Every error a person can cause ends as one line on stderr and a non-zero exit:
`main()` turns our errors into that, so no command prints a traceback for them.
"""

from __future__ import annotations

import gc
import json
import secrets
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, SecretStr
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from anyplace.catalog.pools import list_pools
from anyplace.catalog.queries import list_apps
from anyplace.clock import SystemClock
from anyplace.config import Settings, load_settings
from anyplace.demo import demo_data_dir, prepare_demo, prepare_microapps_demo
from anyplace.errors import AnyplaceError
from anyplace.identity.local import add_local_user, find_user
from anyplace.identity.tokens import create_token
from anyplace.importer import LoadSummary, apply_dataset, read_dataset
from anyplace.microapps.cli import make_audit_app, make_microapps_app, make_secret_app
from anyplace.microapps.secrets import new_key
from anyplace.power.cli import make_power_app
from anyplace.sim.cli import simulate, trace_app
from anyplace.store.access import Store, open_store
from anyplace.store.migrate import current_revision, head_revision, upgrade
from anyplace.web.api.schemas import AppOut, PoolOut

__all__ = ["app", "main"]

app = typer.Typer(
    help="anyplace: one place to work from.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="The database schema.", no_args_is_help=True)
user_app = typer.Typer(help="Local user accounts.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
apps_app = typer.Typer(help="The app catalog.", no_args_is_help=True)
pools_app = typer.Typer(help="Session-host pools.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(apps_app, name="apps")
app.add_typer(pools_app, name="pools")

out = Console()
err = Console(stderr=True)
GC_YOUNG_THRESHOLD = 10_000
"""Allocations between young collections (CPython's default is 700): fewer, equally short."""
JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


class _State:
    config: Path | None = None

    def settings(self) -> Settings:
        return load_settings(self.config)

    def store(self) -> Store:
        return open_store(self.settings())


state = _State()
app.add_typer(make_power_app(state.settings), name="power")
app.add_typer(trace_app, name="trace")
app.add_typer(make_microapps_app(state.settings), name="microapps")
app.add_typer(make_secret_app(state.settings), name="secret")
app.add_typer(make_audit_app(state.settings), name="audit")
app.command("simulate")(simulate)


@app.callback()
def _root(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Configuration file (else $ANYPLACE_CONFIG)."),
    ] = None,
) -> None:
    state.config = config


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or upgrade the database schema."""
    store = state.store()
    before = current_revision(store.engine)
    upgrade(store.engine, revision)
    after = current_revision(store.engine)
    if before == after:
        out.print(f"{store.url} is already at revision {after}")
    else:
        out.print(f"{store.url} upgraded from {before or 'empty'} to {after}")


@db_app.command("current")
def db_current() -> None:
    """Show the schema revision of the database and of this version."""
    store = state.store()
    out.print(f"database: {current_revision(store.engine) or 'empty'}, code: {head_revision()}")


@app.command("load")
def load(folder: Annotated[Path, typer.Argument(help="A folder of YAML files.")]) -> None:
    """Load (or update) users, groups, apps, pools and servers from a folder of YAML files."""
    store = state.store()
    store.require_current()
    with err.status(f"reading {folder} ..."):
        dataset = read_dataset(folder)
    with err.status("writing to the database ..."), store.transaction() as session:
        summary = apply_dataset(session, dataset, SystemClock())
    _print_summary(summary)


def _print_summary(summary: LoadSummary) -> None:
    table = Table("kind", "created", "updated", "unchanged", title="loaded")
    for kind, counts in summary.counts.items():
        table.add_row(kind, *(str(counts[key]) for key in ("created", "updated", "unchanged")))
    out.print(table)


@user_app.command("add")
def user_add(
    username: str,
    name: Annotated[str, typer.Option(help="Display name.")],
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    group: Annotated[list[str] | None, typer.Option(help="A group to join (repeatable).")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    no_password: Annotated[
        bool, typer.Option("--no-password", help="No local password (sign-in by OIDC or LDAP).")
    ] = False,
) -> None:
    """Add a local user account (asks for a password unless told otherwise)."""
    password: str | None = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif not no_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    store = state.store()
    store.require_current()
    with store.transaction() as session:
        user = add_local_user(
            session,
            SystemClock(),
            username=username,
            display_name=name,
            email=email,
            groups=group or [],
            password=password,
        )
        out.print(f"added user {user.username} ({user.display_name})")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="What the token is for.")],
    admin: Annotated[bool, typer.Option("--admin", help="Allow everything.")] = False,
    user: Annotated[str | None, typer.Option(help="Act as this user.")] = None,
) -> None:
    """Create an API token; the token is printed alone on the last line, and only once."""
    if not admin and user is None:
        raise AnyplaceError("say --admin, or --user USERNAME for a user's token")
    store = state.store()
    store.require_current()
    with store.transaction() as session:
        owner = find_user(session, user) if user else None
        new = create_token(session, SystemClock(), name=name, admin=admin, user=owner)
    err.print(f"token {name!r} created; it is shown only now:")
    print(new.secret)


@apps_app.command("list")
def apps_list(
    as_json: JsonFlag = False,
    user: Annotated[str | None, typer.Option(help="Only apps this user may use.")] = None,
) -> None:
    """List the catalog's apps."""
    store = state.store()
    store.require_current()
    with store.sessions() as session:
        owner = find_user(session, user) if user else None
        apps = [AppOut.from_row(row) for row in list_apps(session, user=owner)]
    if as_json:
        _print_json(apps)
        return
    table = Table("slug", "name", "category", "kind", "pool", title=f"{len(apps)} apps")
    for item in apps:
        table.add_row(item.slug, item.name["da"], item.category, item.kind.value, item.pool or "")
    out.print(table)


@pools_app.command("list")
def pools_list(as_json: JsonFlag = False) -> None:
    """List the session-host pools."""
    store = state.store()
    store.require_current()
    with store.sessions() as session:
        pools = [PoolOut.from_row(row) for row in list_pools(session)]
    if as_json:
        _print_json(pools)
        return
    table = Table("pool", "hosts", "on", "sessions/host", "balancing", "size", "policy")
    for pool in pools:
        table.add_row(
            pool.name,
            str(pool.hosts),
            str(pool.hosts_on),
            str(pool.max_sessions_per_host),
            pool.load_balancing.value,
            pool.vm_size,
            pool.power_policy or "",
        )
    out.print(table)


host_app = typer.Typer(help="Session hosts.", no_args_is_help=True)
app.add_typer(host_app, name="host")


@host_app.command("enrol-token")
def host_enrol_token(name: Annotated[str, typer.Argument(help="The host's name.")]) -> None:
    """Make a one-time token (24 hours) with which the host's agent enrols; printed last."""
    from anyplace.broker.agents import create_enrolment_token  # noqa: PLC0415

    store = state.store()
    store.require_current()
    with store.transaction() as session:
        token = create_enrolment_token(session, SystemClock(), name)
    err.print(f"enrolment token for {name} (valid 24 hours, once):")
    print(token)


@app.command("agent")
def agent(
    broker: Annotated[
        str, typer.Option(help="The broker's address, e.g. https://anyplace.kommune.dk.")
    ],
    source: Annotated[
        str, typer.Option(help="Sessions from: scripted:PATH, loginctl or windows.")
    ] = "loginctl",
    state_dir: Annotated[Path, typer.Option(help="Where the host credential is kept.")] = Path(
        "/var/lib/anyplace-agent"
    ),
    enrol_token: Annotated[
        str | None, typer.Option(help="One-time token from `anyplace host enrol-token`.")
    ] = None,
    interval: Annotated[float | None, typer.Option(help="Seconds between heartbeats.")] = None,
) -> None:
    """Run the host agent: enrol (once), then report sessions and load every heartbeat."""
    import threading  # noqa: PLC0415

    from anyplace.agent.client import Agent  # noqa: PLC0415
    from anyplace.agent.sources import make_source  # noqa: PLC0415

    try:
        session_source = make_source(source)
    except ValueError as exc:
        raise AnyplaceError(str(exc)) from None
    worker = Agent(broker, state_dir, session_source, interval=interval)
    if enrol_token:
        host = worker.enrol(enrol_token)
        err.print(f"enrolled as {host}; credential kept in {worker.credential_path}")
    stop = threading.Event()
    try:
        worker.run(stop)
    except KeyboardInterrupt:
        stop.set()


@app.command("serve")
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Run the portal, the API and the background loops."""
    settings = state.settings()
    store = open_store(settings)
    store.require_current()
    _run(settings, store, host or settings.server.host, port or settings.server.port)


@app.command("demo")
def demo(
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    db: Annotated[Path, typer.Option(help="SQLite file for the demo.")] = Path("anyplace-demo.db"),
) -> None:
    """Serve the demo municipality on SQLite and the simulated cloud (loaded on first start)."""
    base = state.settings()
    url = f"http://{host}:{port}"
    settings = base.model_copy(
        update={
            "database": base.database.model_copy(update={"url": f"sqlite:///{db}"}),
            "broker": base.broker.model_copy(
                update={
                    "simulated_agents_url": url,
                    "heartbeat_seconds": 10,
                    "guacamole_url": base.broker.guacamole_url or f"{url}/demo/guacamole/",
                    "guacamole_key": base.broker.guacamole_key or SecretStr(secrets.token_hex(16)),
                }
            ),
            "power": base.power.model_copy(update={"tick_seconds": 15}),
            "auth": base.auth.model_copy(update={"demo_accounts": True}),
            "microapps": base.microapps.model_copy(
                update={
                    "folder": base.microapps.folder or str(demo_data_dir("microapps")),
                    "secret_key": base.microapps.secret_key or SecretStr(new_key()),
                }
            ),
        }
    )
    store = open_store(settings)
    upgrade(store.engine)
    with err.status("loading the demo municipality ..."):
        summary, access = prepare_demo(store, SystemClock())
        key = settings.microapps.secret_key
        assert key is not None
        payroll = db.with_name(db.stem + "-payroll.db")
        prepare_microapps_demo(store, SystemClock(), key.get_secret_value(), payroll)
    if summary is not None:
        _print_summary(summary)
    out.print(f"\n[bold]anyplace demo[/bold] on {url}  (database: {db})", soft_wrap=True)
    out.print(f"portal: {url}/  (demo accounts are shown on the sign-in page)", soft_wrap=True)
    for username, password, _who in access.accounts:
        out.print(f"  sign in as {username} / {password}", soft_wrap=True)
    out.print(f"admin API token: {access.admin.secret}", soft_wrap=True)
    for username, token in access.users.items():
        out.print(f"token of demo user {username}: {token.secret}", soft_wrap=True)
    out.print(
        f'try: curl -H "Authorization: Bearer {access.admin.secret}" {url}/api/v1/apps\n',
        soft_wrap=True,
    )
    _run(settings, store, host, port, demo_accounts=access.accounts)


def _run(
    settings: Settings,
    store: Store,
    host: str,
    port: int,
    demo_accounts: list[tuple[str, str, str]] | None = None,
) -> None:
    # Imported here: the web stack takes a while to load and only these commands need it.
    import uvicorn  # noqa: PLC0415

    from anyplace.web.app import create_app  # noqa: PLC0415

    web = create_app(settings, engine=store.engine, background=True, demo_accounts=demo_accounts)
    _settle_garbage_collector()
    uvicorn.run(web, host=host, port=port, log_level=settings.server.log_level)


def _settle_garbage_collector() -> None:
    """Keep the cyclic garbage collector's pauses out of the server's answers.

    A full collection walks every tracked object; the app has a few hundred
    thousand after start (SQLAlchemy's and pydantic's models, the routes), and a
    launch storm triggers full collections every few seconds: a 100 ms pause
    shows as the p99 of every request in flight (docs/performance.md). Frozen at
    start, those objects are never walked again; young collections run less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def _print_json(items: list[Any]) -> None:
    data = [item.model_dump(mode="json") if isinstance(item, BaseModel) else item for item in items]
    print(json.dumps(data, ensure_ascii=False, indent=2))


def main() -> None:
    try:
        app()
    except AnyplaceError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        err.print(f"[red]error:[/red] database: {reason}", highlight=False, soft_wrap=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
