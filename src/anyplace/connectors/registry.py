"""Building a connector from its definition, secrets resolved."""

from __future__ import annotations

from anyplace.connectors.base import Connector, Permanent, SecretLookup, resolve_all
from anyplace.connectors.files import FileConnector
from anyplace.connectors.rest import RestConnector
from anyplace.connectors.smtp import SmtpConnector
from anyplace.connectors.soap import SoapConnector
from anyplace.connectors.sql import SqlConnector
from anyplace.microapps.definitions import ConnectorSpec

__all__ = ["build_connector"]


def build_connector(spec: ConnectorSpec, secrets: SecretLookup) -> Connector:
    settings = resolve_all(spec.settings, secrets)
    if spec.kind == "rest":
        return RestConnector(settings)
    if spec.kind == "sql":
        return SqlConnector(settings)
    if spec.kind == "soap":
        return SoapConnector(settings)
    if spec.kind == "smtp":
        return SmtpConnector(settings)
    if spec.kind == "file":
        return FileConnector(settings)
    raise Permanent(f"no connector of kind {spec.kind!r}")
