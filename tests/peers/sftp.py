"""A real SFTP server (asyncssh) on a free port, serving a folder, with one password user."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncssh

from tests.peers.processes import free_port

__all__ = ["SFTP_PASSWORD", "SFTP_USER", "run_sftp"]

SFTP_USER = "anyplace"
SFTP_PASSWORD = "test-only-sftp"


class _Server(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == SFTP_USER and password == SFTP_PASSWORD


@contextmanager
def run_sftp(root: Path) -> Iterator[tuple[int, Path]]:
    """The port and the server's host key (for known_hosts) while the block runs."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    known = root.parent / "known_hosts"
    port = free_port()
    known.write_text(f"[127.0.0.1]:{port} {key.export_public_key().decode().strip()}\n")
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, asyncssh.SSHAcceptor] = {}

    async def start() -> None:
        holder["server"] = await asyncssh.listen(
            "127.0.0.1",
            port,
            server_host_keys=[key],
            server_factory=_Server,
            sftp_factory=lambda channel: asyncssh.SFTPServer(channel, chroot=str(root).encode()),
        )
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=20)
    ready.wait(20)
    try:
        yield port, known
    finally:
        holder["server"].close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
