"""Fixtures shared by the whole suite.

Store tests run once per backend: SQLite always, PostgreSQL when
ANYPLACE_TEST_POSTGRES_URL names a server. Each test gets a database of its
own, copied from a template that was migrated (and, for `demo_store`, loaded
with the demo municipality) once per run, so tests are isolated and fast.
Under CI=true a skipped test is a failed test: nothing may be skipped there.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from anyplace.clock import VirtualClock
from anyplace.config import DatabaseSettings, Settings
from anyplace.demo import demo_data_dir
from anyplace.importer import apply_dataset, read_dataset
from anyplace.store.access import Store, open_store
from anyplace.store.engine import normalise_url
from anyplace.store.migrate import upgrade

POSTGRES_ENV = "ANYPLACE_TEST_POSTGRES_URL"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BACKENDS = ["sqlite", "postgresql"]
START = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # a Monday morning


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which is a failure: {report.longrepr}"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


def settings_for(url: str) -> Settings:
    return Settings(database=DatabaseSettings(url=url))


class Backend:
    """Makes and drops databases on one backend."""

    name: str

    def create(self, template: str | None = None) -> str:
        raise NotImplementedError

    def drop(self, url: str) -> None:
        raise NotImplementedError


class SqliteBackend(Backend):
    name = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def create(self, template: str | None = None) -> str:
        path = self.folder / f"{uuid.uuid4().hex}.db"
        if template is not None:
            shutil.copyfile(make_url(template).database or "", path)
        return f"sqlite:///{path}"

    def drop(self, url: str) -> None:
        database = make_url(url).database or ""
        for suffix in ("", "-wal", "-shm"):
            Path(database + suffix).unlink(missing_ok=True)


class PostgresBackend(Backend):
    name = "postgresql"

    def __init__(self, server_url: str) -> None:
        self.server_url = make_url(normalise_url(server_url))
        self.admin = create_engine(self.server_url, isolation_level="AUTOCOMMIT")

    def create(self, template: str | None = None) -> str:
        name = f"anyplace_test_{uuid.uuid4().hex[:16]}"
        clause = f' TEMPLATE "{make_url(template).database}"' if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
        return self.server_url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(
                text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
            )


@dataclass
class Templates:
    backend: Backend
    migrated: str
    demo: str


def _build_templates(backend: Backend) -> Templates:
    migrated = backend.create()
    store = open_store(settings_for(migrated))
    upgrade(store.engine)
    store.engine.dispose()
    demo = backend.create(template=migrated)
    store = open_store(settings_for(demo))
    with store.transaction() as session:
        apply_dataset(session, read_dataset(demo_data_dir()), VirtualClock(START))
    store.engine.dispose()
    return Templates(backend, migrated, demo)


@pytest.fixture(scope="session")
def _templates() -> Iterator[dict[str, Templates]]:
    built: dict[str, Templates] = {}
    yield built
    for templates in built.values():
        templates.backend.drop(templates.demo)
        templates.backend.drop(templates.migrated)


@pytest.fixture(params=BACKENDS)
def backend(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    _templates: dict[str, Templates],
) -> Templates:
    name = request.param
    if name not in _templates:
        if name == "sqlite":
            _templates[name] = _build_templates(SqliteBackend(tmp_path_factory.mktemp("sqlite")))
        else:
            server = os.environ.get(POSTGRES_ENV)
            if not server:
                pytest.skip(f"{POSTGRES_ENV} is not set")
            _templates[name] = _build_templates(PostgresBackend(server))
    return _templates[name]


def _store_from(templates: Templates, template: str | None) -> Iterator[Store]:
    url = templates.backend.create(template=template)
    store = open_store(settings_for(url))
    try:
        yield store
    finally:
        store.engine.dispose()
        templates.backend.drop(url)


@pytest.fixture
def empty_store(backend: Templates) -> Iterator[Store]:
    """A database with no schema at all."""
    yield from _store_from(backend, None)


@pytest.fixture
def store(backend: Templates) -> Iterator[Store]:
    """A migrated, empty database."""
    yield from _store_from(backend, backend.migrated)


@pytest.fixture
def demo_store(backend: Templates) -> Iterator[Store]:
    """A migrated database holding the demo municipality."""
    yield from _store_from(backend, backend.demo)
