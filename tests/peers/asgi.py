"""Serving an ASGI app with uvicorn in a thread, on a free port, for as long as a block runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.peers.processes import free_port

__all__ = ["serve_asgi"]


@contextmanager
def serve_asgi(app: Any, port: int | None = None, **config: Any) -> Iterator[str]:
    """The base URL while the block runs. Waits on uvicorn's own `started` flag, not a sleep."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    waiter = threading.Event()
    while not server.started and thread.is_alive():
        waiter.wait(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
