"""Building a connector from its definition, secrets resolved."""

from __future__ import annotations

from anyplace.connectors.base import Connector, Permanent, SecretLookup, resolve_all
from anyplace.connectors.rest import RestConnector
from anyplace.connectors.sql import SqlConnector
from anyplace.microapps.definitions import ConnectorSpec

__all__ = ["build_connector"]


def build_connector(spec: ConnectorSpec, secrets: SecretLookup) -> Connector:
    settings = resolve_all(spec.settings, secrets)
    if spec.kind == "rest":
        return RestConnector(settings)
    if spec.kind == "sql":
        return SqlConnector(settings)
    raise Permanent(f"the {spec.kind} connector is not available in this version")
