"""Files: one CSV or JSON file per delivery, into a folder or over SFTP.

Settings: `folder`, `format` (`json` or `csv`), and for SFTP `sftp: {host,
port, username, password or key, known_hosts}`. A request carries `record`
(the fields) and optionally `filename`. The file is written under a temporary
name and renamed, so a reader never sees half a file; its default name is the
idempotency key, and an existing file means the delivery happened already.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncssh

from anyplace.connectors.base import Permanent, Transient

__all__ = ["FileConnector"]


def _render(record: Mapping[str, Any], fmt: str) -> bytes:
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(record), lineterminator="\r\n")
        writer.writeheader()
        writer.writerow(dict(record))
        return buffer.getvalue().encode("utf-8")
    return json.dumps(record, ensure_ascii=False, indent=2).encode("utf-8")


def _run(coroutine: Coroutine[Any, Any, str]) -> str:
    """Run asyncssh's coroutine to its end from sync code, even where a loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(max_workers=1) as helper:
        return helper.submit(asyncio.run, coroutine).result()


class FileConnector:
    def __init__(self, settings: Mapping[str, Any]) -> None:
        if not settings.get("folder"):
            raise Permanent("a file connector needs a folder")
        self.folder = str(settings["folder"])
        self.format = str(settings.get("format", "json"))
        if self.format not in ("json", "csv"):
            raise Permanent("format is json or csv")
        self.sftp = dict(settings.get("sftp") or {})

    def _name(self, request: Mapping[str, Any], idempotency_key: str) -> str:
        name = str(request.get("filename") or f"{idempotency_key}.{self.format}")
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        if safe.startswith("."):
            raise Permanent("a file name may not start with a dot")
        return safe

    def deliver(self, request: Mapping[str, Any], *, idempotency_key: str, timeout: float) -> str:
        record = request.get("record")
        if not isinstance(record, Mapping) or not record:
            raise Permanent("the request has no record")
        name = self._name(request, idempotency_key)
        data = _render(record, self.format)
        if self.sftp:
            return _run(asyncio.wait_for(self._sftp_put(name, data), timeout))
        return self._local_put(name, data)

    def _local_put(self, name: str, data: bytes) -> str:
        folder = Path(self.folder)
        final = folder / name
        try:
            if final.exists():
                return f"{final} (already there)"
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".", suffix=".part")
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, final)
        except FileNotFoundError:
            raise Permanent(f"no folder {folder}") from None
        except OSError as exc:
            raise Transient(f"cannot write {final}: {exc.strerror}") from None
        return str(final)

    async def _sftp_put(self, name: str, data: bytes) -> str:
        options = self.sftp
        known_hosts = options.get("known_hosts")
        try:
            async with (
                asyncssh.connect(
                    str(options["host"]),
                    port=int(options.get("port", 22)),
                    username=str(options["username"]),
                    password=options.get("password"),
                    client_keys=[options["key"]] if options.get("key") else None,
                    known_hosts=known_hosts,
                ) as connection,
                connection.start_sftp_client() as sftp,
            ):
                final = f"{self.folder.rstrip('/')}/{name}"
                if await sftp.exists(final):
                    return f"sftp:{final} (already there)"
                temporary = f"{self.folder.rstrip('/')}/.{name}.part"
                async with sftp.open(temporary, "wb") as remote:
                    await remote.write(data)
                await sftp.rename(temporary, final)
        except asyncssh.PermissionDenied:
            raise Permanent("the SFTP server refused the login") from None
        except asyncssh.SFTPNoSuchFile:
            raise Permanent(f"no folder {self.folder} on the SFTP server") from None
        except (OSError, asyncssh.Error, TimeoutError) as exc:
            raise Transient(f"SFTP failed: {type(exc).__name__}") from None
        return f"sftp:{final}"

    def close(self) -> None:
        pass
