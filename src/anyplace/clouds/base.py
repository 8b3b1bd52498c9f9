"""The one thing anyplace asks of a cloud: tell me the power state, start, stop.

Like httpx's transports, a provider is a small class with a few verbs, a
vendor's SDK inside, and the vendor's errors mapped at the boundary to ours:
`Transient` (try again later: throttling, timeouts, a VM busy changing state)
or `Permanent` (will not pass by retrying: unknown VM, no permission). Every
verb is idempotent: starting a running machine or stopping a stopped one is
not an error. `FakeCloud` is the ready test double.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from anyplace.domain import PowerState
from anyplace.errors import Permanent, Transient

__all__ = ["CloudProvider", "FakeCloud", "Permanent", "Transient"]


class CloudProvider(Protocol):
    name: str

    def power_states(self, machine_ids: Sequence[str]) -> dict[str, PowerState]:
        """The state of each machine; a machine the cloud does not know is left out."""
        ...

    def start(self, machine_id: str) -> None:
        """Ask the cloud to start the machine (returns once the request is accepted)."""
        ...

    def stop(self, machine_id: str) -> None:
        """Ask the cloud to stop the machine so it is no longer billed (deallocate)."""
        ...

    def close(self) -> None: ...


class FakeCloud:
    """Machines that change state at once, with failures scripted per call."""

    name = "fake"

    def __init__(self, states: dict[str, PowerState] | None = None) -> None:
        self.states: dict[str, PowerState] = dict(states or {})
        self.calls: list[tuple[str, str]] = []
        self._failures: dict[str, list[Exception]] = {}

    def fail_next(self, verb: str, *errors: Exception) -> None:
        """The next calls of `verb` ("power_states", "start", "stop") raise these, in order."""
        self._failures.setdefault(verb, []).extend(errors)

    def _maybe_fail(self, verb: str) -> None:
        if self._failures.get(verb):
            raise self._failures[verb].pop(0)

    def power_states(self, machine_ids: Sequence[str]) -> dict[str, PowerState]:
        self._maybe_fail("power_states")
        return {mid: self.states[mid] for mid in machine_ids if mid in self.states}

    def start(self, machine_id: str) -> None:
        self.calls.append(("start", machine_id))
        self._maybe_fail("start")
        self._known(machine_id)
        self.states[machine_id] = PowerState.ON

    def stop(self, machine_id: str) -> None:
        self.calls.append(("stop", machine_id))
        self._maybe_fail("stop")
        self._known(machine_id)
        self.states[machine_id] = PowerState.OFF

    def close(self) -> None:
        pass

    def _known(self, machine_id: str) -> None:
        if machine_id not in self.states:
            raise Permanent(f"no machine {machine_id!r}")
