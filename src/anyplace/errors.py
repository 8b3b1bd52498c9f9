"""The errors anyplace raises on purpose.

Every error a user can cause (bad config, bad data file, unknown name) is an
`AnyplaceError` whose message is complete on one line, so the CLI and the API can
show it as it is, without a traceback.
"""

from __future__ import annotations

__all__ = [
    "AnyplaceError",
    "ConfigError",
    "DataFileError",
    "NotFound",
    "Permanent",
    "Transient",
]


class AnyplaceError(Exception):
    """An error whose message is meant for the person who caused it."""


class ConfigError(AnyplaceError):
    """The configuration file or an ANYPLACE_* variable is invalid."""


class DataFileError(AnyplaceError):
    """A data file (demo municipality, microapp definition) is invalid.

    The message starts with ``file:line:`` so editors and terminals can jump to it.
    """

    def __init__(self, path: str, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.detail = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


class NotFound(AnyplaceError):
    """A named object does not exist."""


class Transient(AnyplaceError):
    """A failure of a peer that may pass: try again later (timeouts, throttling, 5xx)."""


class Permanent(AnyplaceError):
    """A failure of a peer that will not pass by retrying (bad credentials, 4xx, missing object)."""
