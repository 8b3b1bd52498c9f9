"""The FastAPI application: built from settings, an engine and a clock, never from globals."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine

import anyplace
from anyplace.clock import Clock, SystemClock
from anyplace.config import Settings
from anyplace.store.engine import make_engine, make_session_factory
from anyplace.web import health, pages
from anyplace.web.api import catalog as catalog_api
from anyplace.web.api import pools as pools_api
from anyplace.web.api import sessions as sessions_api
from anyplace.web.metrics import HttpMetricsMiddleware, Metrics, metrics_endpoint

__all__ = ["create_app"]


def create_app(
    settings: Settings, *, engine: Engine | None = None, clock: Clock | None = None
) -> FastAPI:
    engine = engine or make_engine(settings.database.url, echo=settings.database.echo)
    sessions = make_session_factory(engine)
    app = FastAPI(
        title="anyplace",
        version=anyplace.__version__,
        description="One place to work from: apps, session hosts, power and microapps.",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.clock = clock or SystemClock()
    app.state.metrics = Metrics(sessions)
    app.add_middleware(HttpMetricsMiddleware, metrics=app.state.metrics)
    app.include_router(health.router)
    for api in (catalog_api, pools_api, sessions_api):
        app.include_router(api.router)
    app.include_router(pages.router)
    app.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    return app
