"""Virtual machines on a libvirt host (KVM, or the test driver) through libvirt-python.

Stop is a graceful ACPI shutdown, as a person pressing the power button: the
guest's OS logs off and closes down. Machines are named by their domain name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import libvirt

from anyplace.domain import PowerState
from anyplace.errors import Permanent, Transient

__all__ = ["LibvirtCloud", "map_libvirt_errors"]

T = TypeVar("T")
STATES = {
    libvirt.VIR_DOMAIN_RUNNING: PowerState.ON,
    libvirt.VIR_DOMAIN_BLOCKED: PowerState.ON,
    libvirt.VIR_DOMAIN_PAUSED: PowerState.ON,
    libvirt.VIR_DOMAIN_SHUTDOWN: PowerState.STOPPING,
    libvirt.VIR_DOMAIN_SHUTOFF: PowerState.OFF,
    libvirt.VIR_DOMAIN_CRASHED: PowerState.OFF,
    libvirt.VIR_DOMAIN_PMSUSPENDED: PowerState.OFF,
}
PERMANENT_CODES = {
    libvirt.VIR_ERR_NO_DOMAIN,
    libvirt.VIR_ERR_AUTH_FAILED,
    libvirt.VIR_ERR_ACCESS_DENIED,
    libvirt.VIR_ERR_INVALID_ARG,
    libvirt.VIR_ERR_NO_SUPPORT,
}


def map_libvirt_errors(call: Callable[[], T], what: str) -> T:
    try:
        return call()
    except libvirt.libvirtError as exc:
        message = exc.get_error_message() or str(exc)
        if exc.get_error_code() in PERMANENT_CODES:
            raise Permanent(f"libvirt: {message} ({what})") from exc
        raise Transient(f"libvirt: {message} ({what}); try again") from exc


class LibvirtCloud:
    name = "libvirt"

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    @classmethod
    def open(cls, uri: str) -> LibvirtCloud:
        return cls(map_libvirt_errors(lambda: libvirt.open(uri), f"connect to {uri}"))

    def power_states(self, machine_ids: Sequence[str]) -> dict[str, PowerState]:
        result: dict[str, PowerState] = {}
        for machine_id in machine_ids:
            domain = self._find(machine_id)
            if domain is None:
                continue
            state = map_libvirt_errors(domain.state, f"state of {machine_id}")[0]
            if state in STATES:
                result[machine_id] = STATES[state]
        return result

    def start(self, machine_id: str) -> None:
        domain = self._get(machine_id)
        if not domain.isActive():
            map_libvirt_errors(domain.create, f"start {machine_id}")

    def stop(self, machine_id: str) -> None:
        domain = self._get(machine_id)
        if domain.isActive():
            map_libvirt_errors(domain.shutdown, f"shut down {machine_id}")

    def _find(self, machine_id: str) -> Any | None:
        def lookup() -> Any | None:
            try:
                return self._connection.lookupByName(machine_id)
            except libvirt.libvirtError as exc:
                if exc.get_error_code() == libvirt.VIR_ERR_NO_DOMAIN:
                    return None
                raise

        return map_libvirt_errors(lookup, f"look up {machine_id}")

    def _get(self, machine_id: str) -> Any:
        domain = self._find(machine_id)
        if domain is None:
            raise Permanent(f"libvirt has no domain {machine_id!r}")
        return domain

    def close(self) -> None:
        self._connection.close()
