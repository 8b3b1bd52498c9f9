"""Starting a real server the tests talk to, as a child process, and waiting until it listens."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["free_port", "require_tool", "serve"]

NODE_DIR = Path(__file__).resolve().parents[1] / "node"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_tool(path_or_name: str, hint: str) -> str:
    """The tool's path; without it the test is skipped locally and fails in CI (conftest)."""
    found = shutil.which(path_or_name) or (path_or_name if Path(path_or_name).exists() else None)
    if found is None:
        pytest.skip(f"{path_or_name} is not installed: {hint}")
    return found


@contextmanager
def serve(
    command: Sequence[str],
    *,
    ready: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Iterator[subprocess.Popen[str]]:
    """Run `command` until the block ends; wait for a line containing `ready` on its output."""
    process = subprocess.Popen(
        list(command),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )
    seen: list[str] = []
    try:
        assert process.stdout is not None
        for line in process.stdout:
            seen.append(line)
            if ready in line:
                break
        else:
            raise RuntimeError(f"{command[0]} exited before it was ready:\n{''.join(seen)}")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
