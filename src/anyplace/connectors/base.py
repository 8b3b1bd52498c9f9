"""The one verb every connector has, its errors, and how settings name their secrets.

Like httpx's transports: `deliver(request, idempotency_key=..., timeout=...)` is
all the worker knows. A connector maps its library's failures to ours at the
boundary: `Transient` (try again later) or `Permanent` (a dead letter).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from anyplace.errors import Permanent, Transient

__all__ = ["Connector", "Permanent", "SecretLookup", "Transient", "resolve", "resolve_all"]

SecretLookup = Callable[[str], str]
"""A secret by name, from the encrypted store (raises Permanent if there is none)."""


class Connector(Protocol):
    def deliver(self, request: Mapping[str, Any], *, idempotency_key: str, timeout: float) -> str:
        """Send one delivery; return a short receipt (an id, a status) for the audit trail."""
        ...

    def close(self) -> None: ...


def resolve(value: Any, secrets: SecretLookup) -> Any:
    """`secret:NAME` from the secret store, `env:NAME` from the environment, else as is."""
    if isinstance(value, str):
        if value.startswith("secret:"):
            return secrets(value.removeprefix("secret:"))
        if value.startswith("env:"):
            name = value.removeprefix("env:")
            if name not in os.environ:
                raise Permanent(f"the environment variable {name} is not set")
            return os.environ[name]
    return value


def resolve_all(settings: Mapping[str, Any], secrets: SecretLookup) -> dict[str, Any]:
    def walk(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        return resolve(value, secrets)

    resolved: dict[str, Any] = walk(settings)
    return resolved
