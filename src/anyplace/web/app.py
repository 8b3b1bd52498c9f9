"""The FastAPI application: built from settings, an engine and a clock, never from globals."""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta

from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

import anyplace
from anyplace.agent.simulated import SimulatedHosts
from anyplace.broker.batcher import LaunchBatcher
from anyplace.clock import Clock, SystemClock
from anyplace.clouds.registry import build_providers
from anyplace.config import Settings
from anyplace.identity.ldap import LdapDirectory
from anyplace.identity.oidc import OidcClient
from anyplace.microapps.service import Microapps
from anyplace.power.controller import PowerController
from anyplace.store.access import Store
from anyplace.store.engine import make_engine, make_session_factory, redact_url
from anyplace.web import health, pages
from anyplace.web.api import agent as agent_api
from anyplace.web.api import catalog as catalog_api
from anyplace.web.api import launches as launches_api
from anyplace.web.api import pools as pools_api
from anyplace.web.api import power as power_api
from anyplace.web.api import sessions as sessions_api
from anyplace.web.deps import capacity_request
from anyplace.web.launch_fastpath import LaunchFastPath
from anyplace.web.metrics import HttpMetricsMiddleware, Metrics, metrics_endpoint
from anyplace.web.pages import demo as demo_pages
from anyplace.web.pages import demo_targets
from anyplace.web.pages.auth import SignInRequired
from anyplace.web.pages.demo_targets import DemoTargets, MailSink
from anyplace.web.pages.rendering import render
from anyplace.web.security import SecurityMiddleware

__all__ = ["create_app"]

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    background: bool = False,
    demo_accounts: list[tuple[str, str, str]] | None = None,
) -> FastAPI:
    """The app; with `background`, it also runs the power controller while it serves."""
    engine = engine or make_engine(settings.database.url, echo=settings.database.echo)
    sessions = make_session_factory(engine)
    store = Store(engine, sessions, redact_url(settings.database.url))
    clock = clock or SystemClock()

    microapps = (
        Microapps.load(store, clock, settings.microapps) if settings.microapps.folder else None
    )

    lifespan = _lifespan(settings, store, clock, microapps, background=background)

    app = FastAPI(
        title="anyplace",
        version=anyplace.__version__,
        description="One place to work from: apps, session hosts, power and microapps.",
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.store = store
    app.state.clock = clock
    app.state.controller = None
    app.state.microapps = microapps
    app.state.metrics = Metrics(sessions, clock, settings.broker.heartbeat_seconds)
    app.state.launches = LaunchBatcher(
        engine,
        clock,
        settings.broker,
        request_capacity=capacity_request(app),
        on_batch=app.state.metrics.record_launch_batch,
    )
    _add_sign_in(app, settings, demo_accounts or [])
    app.add_middleware(LaunchFastPath, batcher=app.state.launches)
    app.add_middleware(HttpMetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(SecurityMiddleware)
    _add_error_pages(app)
    # Routes are matched in order: the busiest (launches, agents' heartbeats) go first.
    for api in (launches_api, agent_api, catalog_api, pools_api, sessions_api, power_api):
        app.include_router(api.router)
    app.include_router(health.router)
    app.include_router(pages.router)
    if settings.auth.demo_accounts:
        app.state.demo_targets = DemoTargets()
        app.include_router(demo_pages.router)
        app.include_router(demo_targets.router)
    app.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    return app


def _lifespan(
    settings: Settings,
    store: Store,
    clock: Clock,
    microapps: Microapps | None,
    *,
    background: bool,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The loops that run beside the web app: the power controller, the simulated agents
    (demo), and the microapps' delivery workers, folder watcher and retention."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        threads: list[threading.Thread] = []
        providers = {}
        if background and settings.power.enabled:
            providers = build_providers(settings.cloud, store, clock)
            lost_after = timedelta(minutes=settings.broker.lost_after_minutes)
            controller = PowerController(
                store, providers, clock, settings.power, lost_after=lost_after
            )
            threads.append(_start(controller.run, stop, "power"))
            app.state.controller = controller
            if settings.broker.simulated_agents_url:
                hosts = SimulatedHosts(
                    store,
                    clock,
                    settings.broker.simulated_agents_url,
                    settings.broker.heartbeat_seconds,
                )
                _start(hosts.run, stop, "agents")
        sink = _mail_sink(app) if background and microapps and settings.auth.demo_accounts else None
        if background and microapps is not None:
            threads += microapps.run_workers(stop)
            _start(microapps.watch, stop, "microapps-watch")
            _start(microapps.keep_retention, stop, "microapps-retention")
        try:
            yield
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            for provider in providers.values():
                provider.close()
            app.state.launches.close()
            if microapps is not None:
                microapps.close()
            if sink is not None:
                sink.stop()

    return lifespan


DEMO_SMTP_PORT = 8025


def _mail_sink(app: FastAPI) -> Controller | None:
    """Demo only: receive the example microapp's welcome e-mails (examples/microapps)."""
    controller = Controller(
        MailSink(app.state.demo_targets), hostname="127.0.0.1", port=DEMO_SMTP_PORT
    )
    try:
        controller.start()
    except (OSError, RuntimeError) as exc:
        log.warning("demo mail sink not started on port %s: %s", DEMO_SMTP_PORT, exc)
        return None
    return controller


def _start(
    target: Callable[[threading.Event], object], stop: threading.Event, name: str
) -> threading.Thread:
    thread = threading.Thread(target=target, args=(stop,), name=name, daemon=True)
    thread.start()
    return thread


def _add_sign_in(
    app: FastAPI, settings: Settings, demo_accounts: list[tuple[str, str, str]]
) -> None:
    key = settings.auth.secret_key
    secret = key.get_secret_value() if key is not None else secrets.token_urlsafe(32)
    app.state.signin_signer = URLSafeTimedSerializer(secret, salt="anyplace-signin")
    app.state.oidc = OidcClient(settings.oidc) if settings.oidc.enabled else None
    app.state.ldap = LdapDirectory(settings.ldap) if settings.ldap.enabled else None
    # (username, password, who they are): shown on the sign-in page in demo mode only.
    app.state.demo_accounts = demo_accounts


def _add_error_pages(app: FastAPI) -> None:
    """Pages get a page (or a sign-in redirect); the API keeps its JSON errors."""

    async def sign_in_first(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        target = f"/login?next={exc.next_url}"
        if request.headers.get("hx-request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def error_page(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if request.url.path.startswith(("/api/", "/healthz", "/readyz", "/metrics")):
            return await http_exception_handler(request, exc)
        return render(
            request,
            "error.html",
            {"status": exc.status_code, "message": exc.detail},
            status_code=exc.status_code,
        )

    app.add_exception_handler(SignInRequired, sign_in_first)
    app.add_exception_handler(StarletteHTTPException, error_page)
