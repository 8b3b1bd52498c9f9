"""Putting the microapps together from the configuration: the library, connectors, workers."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from anyplace.clock import Clock
from anyplace.config import MicroappSettings
from anyplace.connectors.base import Connector
from anyplace.connectors.registry import build_connector
from anyplace.errors import ConfigError, DataFileError, Permanent
from anyplace.microapps.definitions import Library, MicroappSpec, read_library
from anyplace.microapps.jsonpath import pick
from anyplace.microapps.outbox import render_request_path
from anyplace.microapps.retention import apply_retention
from anyplace.microapps.secrets import SecretStore
from anyplace.microapps.worker import DeliveryWorker
from anyplace.store.access import Store

__all__ = ["Microapps"]

log = logging.getLogger(__name__)


def _stamp(folder: Path) -> tuple[tuple[str, float], ...]:
    return tuple(sorted((p.name, p.stat().st_mtime) for p in folder.glob("*.yaml")))


@dataclass
class Microapps:
    """The loaded library and the connectors built from it (lazily, once each)."""

    store: Store
    clock: Clock
    settings: MicroappSettings
    library: Library
    secrets: SecretStore
    _connectors: dict[str, Connector] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, store: Store, clock: Clock, settings: MicroappSettings) -> Microapps:
        if not settings.folder:
            raise ConfigError("[microapps] folder is not set")
        key = settings.secret_key.get_secret_value() if settings.secret_key else None
        return cls(
            store, clock, settings, read_library(Path(settings.folder)), SecretStore(store, key)
        )

    def reload(self) -> list[str]:
        """Read the folder again; an invalid folder is refused and the last valid one kept.

        Returns the problems (empty when the new version was taken). Connectors
        are rebuilt lazily, since their settings may have changed.
        """
        try:
            library = read_library(Path(self.settings.folder or ""))
        except DataFileError as exc:
            problems = [str(p) for p in getattr(exc, "problems", [exc])]
            for problem in problems:
                log.error("microapps: keeping the last valid version: %s", problem)
            return problems
        with self._lock:
            self.library = library
            old, self._connectors = self._connectors, {}
        for connector in old.values():
            connector.close()
        return []

    def watch(self, stop: threading.Event, every: float = 10.0) -> None:
        """Reload when a file in the folder changes (the IT department deploys from git)."""
        folder = Path(self.settings.folder or "")
        seen = _stamp(folder)
        while not stop.wait(every):
            stamp = _stamp(folder)
            if stamp != seen:
                seen = stamp
                self.reload()

    def keep_retention(self, stop: threading.Event, every: float = 3600.0) -> None:
        """Delete submitted values past the retention period, hourly."""
        while True:
            try:
                apply_retention(self.store, self.clock, self.settings.retention_days)
            except Exception:
                log.exception("microapps: retention failed; trying again later")
            if stop.wait(every):
                return

    def connector(self, name: str) -> Connector:
        with self._lock:
            if name not in self._connectors:
                spec = self.library.connectors.get(name)
                if spec is None:
                    raise Permanent(f"no connector {name!r}")
                self._connectors[name] = build_connector(spec, self.secrets.get)
            return self._connectors[name]

    def lookup(self, spec: MicroappSpec, field_name: str, by_value: str) -> str | None:
        """Prefill a field from a system: the value its lookup finds for `by_value`, if any."""
        rule = spec.field(field_name).lookup
        if rule is None:
            raise Permanent(f"{field_name} has no lookup")
        connector = self.connector(rule.connector)
        fetch = getattr(connector, "fetch", None)
        if fetch is None:
            raise Permanent(f"the connector {rule.connector!r} cannot look things up")
        path = render_request_path(rule.request, {rule.by: by_value})
        found = pick(fetch(path, timeout=5.0), rule.path)
        return None if found is None else str(found)

    def worker(self) -> DeliveryWorker:
        return DeliveryWorker(self.store, self.clock, self.connector, batch=self.settings.batch)

    def run_workers(self, stop: threading.Event) -> list[threading.Thread]:
        threads = []
        for number in range(self.settings.workers):
            thread = threading.Thread(
                target=self.worker().run,
                args=(stop, self.settings.poll_seconds),
                name=f"delivery-{number}",
                daemon=True,
            )
            thread.start()
            threads.append(thread)
        return threads

    def close(self) -> None:
        for connector in self._connectors.values():
            connector.close()
