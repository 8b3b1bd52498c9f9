"""Prometheus metrics: HTTP traffic, and the estate read from the store at scrape time.

Each app gets its own registry, so several apps in one process (tests, the
simulator) never collide; the estate gauges are computed when scraped rather
than kept up to date in memory, so every replica reports the same truth.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import timedelta

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from anyplace.clock import Clock
from anyplace.store.models import App, Machine, Pool
from anyplace.store.models import Session as UserSession

__all__ = ["HttpMetricsMiddleware", "Metrics", "metrics_endpoint"]


class Metrics:
    """The registry of one app and the HTTP instruments in it."""

    def __init__(
        self, sessions: sessionmaker[Session], clock: Clock, heartbeat_seconds: float = 30
    ) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "anyplace_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "anyplace_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.launch_batches = Histogram(
            "anyplace_launch_batch_size",
            "Launches decided together in one transaction (broker.batcher).",
            registry=self.registry,
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
        )
        self.registry.register(EstateCollector(sessions, clock, heartbeat_seconds))

    def record_launch_batch(self, size: int) -> None:
        self.launch_batches.observe(size)


class EstateCollector(Collector):
    def __init__(
        self, sessions: sessionmaker[Session], clock: Clock, heartbeat_seconds: float
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._heartbeat = heartbeat_seconds

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("anyplace_store_up", "1 if the store answered this scrape.")
        hosts = GaugeMetricFamily(
            "anyplace_hosts", "Session hosts by pool and power state.", labels=["pool", "state"]
        )
        sessions = GaugeMetricFamily(
            "anyplace_sessions", "User sessions by pool and state.", labels=["pool", "state"]
        )
        apps = GaugeMetricFamily("anyplace_apps", "Enabled apps in the catalog.")
        registered = GaugeMetricFamily(
            "anyplace_hosts_registered",
            "Session hosts whose agent reported within two heartbeats, by pool.",
            labels=["pool"],
        )
        try:
            with self._sessions() as db:
                for pool, state, count in db.execute(
                    select(Pool.name, Machine.power_state, func.count(Machine.id))
                    .join(Machine, Machine.pool_id == Pool.id)
                    .group_by(Pool.name, Machine.power_state)
                ):
                    hosts.add_metric([pool, state.value], count)
                for pool, session_state, count in db.execute(
                    select(Pool.name, UserSession.state, func.count(UserSession.id))
                    .join(UserSession, UserSession.pool_id == Pool.id)
                    .group_by(Pool.name, UserSession.state)
                ):
                    sessions.add_metric([pool, session_state.value], count)
                apps.add_metric([], db.scalar(select(func.count(App.id)).where(App.enabled)) or 0)
                cutoff = self._clock.now() - timedelta(seconds=2 * self._heartbeat)
                for pool, count in db.execute(
                    select(Pool.name, func.count(Machine.id))
                    .outerjoin(
                        Machine,
                        (Machine.pool_id == Pool.id) & (Machine.last_heartbeat_at >= cutoff),
                    )
                    .group_by(Pool.name)
                ):
                    registered.add_metric([pool], count)
        except SQLAlchemyError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield from (up, hosts, sessions, apps, registered)


class HttpMetricsMiddleware:
    """Counts and times requests by route template (never raw paths: no label explosion)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    """The matched route's template; the router records the route in the scope it shares."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def metrics_endpoint(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
