"""A private OpenLDAP server (Debian's slapd) on a free port, with a small directory in it."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.peers.processes import free_port, require_tool

__all__ = ["ADMIN_DN", "ADMIN_PASSWORD", "BASE", "Directory", "run_slapd"]

BASE = "dc=kommune,dc=test"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = "test-only-admin"
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")


@dataclass(frozen=True)
class Directory:
    url: str
    base: str


def _config(folder: Path) -> Path:
    lines = [f"include /etc/ldap/schema/{name}.schema" for name in SCHEMAS]
    lines += [
        "modulepath /usr/lib/ldap",
        "moduleload back_mdb",
        f"pidfile {folder}/slapd.pid",
        "database mdb",
        f'suffix "{BASE}"',
        f'rootdn "{ADMIN_DN}"',
        f"rootpw {ADMIN_PASSWORD}",
        f"directory {folder}/data",
        "access to attrs=userPassword by self =xw by anonymous auth by * none",
        "access to * by * read",
    ]
    path = folder / "slapd.conf"
    path.write_text("\n".join(lines) + "\n")
    (folder / "data").mkdir()
    return path


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("slapd exited at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)  # polling a port that is about to open, not timing a test
    raise RuntimeError("slapd did not start listening")


@contextmanager
def run_slapd(folder: Path, ldif: str) -> Iterator[Directory]:
    slapd = require_tool("/usr/sbin/slapd", "apt-get install slapd ldap-utils")
    slapadd = require_tool("/usr/sbin/slapadd", "apt-get install slapd")
    config = _config(folder)
    (folder / "data.ldif").write_text(ldif)
    subprocess.run(
        [slapadd, "-f", str(config), "-l", str(folder / "data.ldif")],
        check=True,
        capture_output=True,
    )
    port = free_port()
    url = f"ldap://127.0.0.1:{port}"
    process = subprocess.Popen(
        [slapd, "-f", str(config), "-h", f"{url}/", "-d", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield Directory(url, BASE)
    finally:
        process.terminate()
        process.wait(timeout=10)
