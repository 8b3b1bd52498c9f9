"""YAML that remembers where each mapping and key came from.

Errors in data files must point at a line (`apps.yaml:212: ...`), so the
composed node tree is turned into plain Python values whose mappings carry
their file and the line of each key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from anyplace.errors import DataFileError

__all__ = ["LineDict", "line_of", "read_yaml"]


class LineDict(dict[str, Any]):
    """A mapping from a YAML file that knows its own line and each key's line (1-based)."""

    file: str
    line: int
    key_lines: dict[str, int]


def read_yaml(path: Path) -> Any:
    """Parse one YAML document; syntax errors become `DataFileError` with the line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFileError(str(path), None, f"cannot read: {exc}") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise DataFileError(str(path), line, f"invalid YAML: {exc.problem}") from None
    if node is None:
        return None
    return _convert(node, str(path))


def line_of(value: Any, loc: tuple[int | str, ...]) -> int | None:
    """The line of the deepest element of `loc` that can be found inside `value`."""
    line: int | None = value.line if isinstance(value, LineDict) else None
    current = value
    for part in loc:
        if isinstance(current, LineDict) and isinstance(part, str) and part in current:
            line = current.key_lines.get(part, line)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            if isinstance(current, LineDict):
                line = current.line
        else:
            break
    return line


def _convert(node: yaml.Node, file: str) -> Any:
    if isinstance(node, yaml.MappingNode):
        result = LineDict()
        result.file = file
        result.line = node.start_mark.line + 1
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, file)
            if not isinstance(key, str):
                raise DataFileError(file, key_node.start_mark.line + 1, "keys must be text")
            if key in result:
                raise DataFileError(file, key_node.start_mark.line + 1, f"duplicate key {key!r}")
            result[key] = _convert(value_node, file)
            result.key_lines[key] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_convert(child, file) for child in node.value]
    if isinstance(node, yaml.ScalarNode) and node.tag.endswith(":int") and ":" in node.value:
        # YAML 1.1 reads 18:30 as the base-60 number 1110; in our files it is a time.
        return node.value
    # Other scalars: PyYAML's safe constructor resolves ints, floats, bools, dates.
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    except yaml.MarkedYAMLError as exc:
        raise DataFileError(
            file, node.start_mark.line + 1, f"invalid value: {exc.problem}"
        ) from None
    finally:
        loader.dispose()
