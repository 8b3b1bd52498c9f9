"""The vocabulary shared by the pure policies, the store and the API.

These enums carry no behaviour and import nothing, so a pure policy can use them
without pulling in the database layer.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "AppKind",
    "IdentitySource",
    "LoadBalancing",
    "Phase",
    "PowerActionKind",
    "PowerActionState",
    "PowerState",
    "SessionState",
    "Weekday",
]


class AppKind(StrEnum):
    HOSTED = "hosted"  # a RemoteApp published from a pool
    DESKTOP = "desktop"  # a full desktop on a pool
    WEB = "web"  # a URL, opened with single sign-on


class IdentitySource(StrEnum):
    LOCAL = "local"
    OIDC = "oidc"
    LDAP = "ldap"


class LoadBalancing(StrEnum):
    BREADTH_FIRST = "breadth_first"
    DEPTH_FIRST = "depth_first"
    LOAD_INDEX = "load_index"


class PowerState(StrEnum):
    OFF = "off"
    STARTING = "starting"
    ON = "on"
    STOPPING = "stopping"


class SessionState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DISCONNECTED = "disconnected"
    ENDED = "ended"


class Phase(StrEnum):
    RAMP_UP = "ramp_up"
    PEAK = "peak"
    RAMP_DOWN = "ramp_down"
    OFF_PEAK = "off_peak"


class PowerActionKind(StrEnum):
    START = "start"
    STOP = "stop"
    DRAIN = "drain"
    UNDRAIN = "undrain"
    LOGOFF = "logoff"
    NOTIFY = "notify"
    DISCONNECT = "disconnect"


class PowerActionState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Weekday(StrEnum):
    """ISO weekday names as used in configuration files; bit = 1 << (isoweekday - 1)."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def bit(self) -> int:
        return 1 << list(Weekday).index(self)
