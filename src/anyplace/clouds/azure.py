"""Azure virtual machines through azure-mgmt-compute.

Stop means **deallocate**: a VM that is only powered off is still billed
(Azure bills compute while a VM is allocated). The power state comes from the
instance view, for all VMs of the subscription in one paged call
(`statusOnly=true`), so a tick costs one ARM read however many hosts there are;
ARM allows about 12,000 reads an hour per subscription and principal.

A VM found stopped but still allocated (shut down from inside Windows) is
deallocated on sight, reported as stopping: it serves nobody and costs money.
Machines are named by their ARM resource id, or `resourceGroup/vmName` within
the configured subscription.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)
from azure.mgmt.compute import ComputeManagementClient

from anyplace.domain import PowerState
from anyplace.errors import Permanent, Transient

__all__ = ["AzureCloud", "map_azure_errors"]

log = logging.getLogger(__name__)
T = TypeVar("T")

POWER_STATES = {
    "PowerState/starting": PowerState.STARTING,
    "PowerState/running": PowerState.ON,
    "PowerState/stopping": PowerState.STOPPING,
    "PowerState/deallocating": PowerState.STOPPING,
    "PowerState/deallocated": PowerState.OFF,
}
ALLOCATED_BUT_STOPPED = "PowerState/stopped"
TRANSIENT_STATUS = {408, 409, 429, 500, 502, 503, 504}


def map_azure_errors(call: Callable[[], T], what: str) -> T:
    """Run an SDK call, turning Azure's exceptions into `Transient` or `Permanent`."""
    try:
        return call()
    except ClientAuthenticationError as exc:
        raise Permanent(f"Azure refused the credentials ({what}): {exc.message}") from exc
    except ResourceNotFoundError as exc:
        raise Permanent(f"Azure does not know {what}") from exc
    except (ServiceRequestError, ServiceResponseError) as exc:
        raise Transient(f"cannot reach Azure ({what}): {exc}") from exc
    except HttpResponseError as exc:
        status = exc.status_code or 0
        if status in TRANSIENT_STATUS:
            raise Transient(f"Azure answered {status} ({what}); try again") from exc
        raise Permanent(f"Azure answered {status} ({what}): {exc.message}") from exc


class AzureCloud:
    name = "azure"

    def __init__(self, client: ComputeManagementClient, subscription_id: str) -> None:
        self._client = client
        self._subscription = subscription_id

    @classmethod
    def from_default_credential(cls, subscription_id: str, **client_options: Any) -> AzureCloud:
        """Managed identity, workload identity, environment or CLI login (azure-identity)."""
        from azure.identity import DefaultAzureCredential  # noqa: PLC0415 - only when used

        client = ComputeManagementClient(
            DefaultAzureCredential(), subscription_id, **client_options
        )
        return cls(client, subscription_id)

    def resource_id(self, machine_id: str) -> str:
        if machine_id.startswith("/subscriptions/"):
            return machine_id
        group, _, name = machine_id.partition("/")
        if not group or not name:
            raise Permanent(f"{machine_id!r} is neither an ARM id nor resourceGroup/vmName")
        return (
            f"/subscriptions/{self._subscription}/resourceGroups/{group}"
            f"/providers/Microsoft.Compute/virtualMachines/{name}"
        )

    def _group_and_name(self, machine_id: str) -> tuple[str, str]:
        parts = self.resource_id(machine_id).split("/")
        return parts[4], parts[8]

    def power_states(self, machine_ids: Sequence[str]) -> dict[str, PowerState]:
        wanted: dict[str, str] = {}
        for machine_id in machine_ids:
            try:
                wanted[self.resource_id(machine_id).lower()] = machine_id
            except Permanent as exc:
                log.warning("%s", exc)
        vms = map_azure_errors(
            lambda: list(self._client.virtual_machines.list_all(status_only="true")),
            "the list of virtual machines",
        )
        result: dict[str, PowerState] = {}
        for vm in vms:
            found = wanted.get((vm.id or "").lower())
            if found is None:
                continue
            code = _power_code(vm)
            if code == ALLOCATED_BUT_STOPPED:
                log.info("%s is stopped but still allocated (billed): deallocating", vm.name)
                self.stop(found)
                result[found] = PowerState.STOPPING
            elif code in POWER_STATES:
                result[found] = POWER_STATES[code]
        return result

    def start(self, machine_id: str) -> None:
        group, name = self._group_and_name(machine_id)
        map_azure_errors(
            lambda: self._client.virtual_machines.begin_start(group, name, polling=False),
            f"start {name}",
        )

    def stop(self, machine_id: str) -> None:
        group, name = self._group_and_name(machine_id)
        map_azure_errors(
            lambda: self._client.virtual_machines.begin_deallocate(group, name, polling=False),
            f"deallocate {name}",
        )

    def close(self) -> None:
        self._client.close()


def _power_code(vm: Any) -> str | None:
    view = getattr(vm, "instance_view", None)
    if view is None and getattr(vm, "properties", None) is not None:
        view = vm.properties.instance_view
    for status in getattr(view, "statuses", None) or []:
        code = status.code or ""
        if code.startswith("PowerState/"):
            return str(code)
    return None
