"""The small part of JSONPath a lookup needs: `$`, `.name`, `['name']` and `[index]`.

Enough to pick one value out of a system's answer (`$.adresse.postnummer`,
`$.items[0].navn`); filters and wildcards are left out on purpose, so a
definition cannot ask for more than one value.
"""

from __future__ import annotations

import re
from typing import Any

from anyplace.errors import AnyplaceError

__all__ = ["JsonPathError", "pick"]

_STEP = re.compile(r"""\.([A-Za-z_][\w-]*)|\[(\d+)\]|\[['"]([^'"]+)['"]\]""")


class JsonPathError(AnyplaceError):
    pass


def _steps(path: str) -> list[str | int]:
    if not path.startswith("$"):
        raise JsonPathError(f"a path starts with $: {path!r}")
    steps: list[str | int] = []
    position = 1
    while position < len(path):
        found = _STEP.match(path, position)
        if found is None:
            raise JsonPathError(f"cannot read {path!r} at {path[position:]!r}")
        name, index, quoted = found.groups()
        steps.append(int(index) if index is not None else (name or quoted))
        position = found.end()
    return steps


def pick(document: Any, path: str) -> Any:
    """The value at `path`, or None when the document has nothing there."""
    current = document
    for step in _steps(path):
        if isinstance(step, int):
            if not (isinstance(current, list) and step < len(current)):
                return None
        elif not (isinstance(current, dict) and step in current):
            return None
        current = current[step]
    return current
