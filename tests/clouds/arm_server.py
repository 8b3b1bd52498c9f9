"""A small stand-in for the Azure Resource Manager compute API, served over HTTPS.

azure-core refuses bearer tokens over plain HTTP, so the stand-in has its own
self-signed certificate for 127.0.0.1. It answers the three calls the Azure
provider makes (list VMs with status, start, deallocate) the way ARM documents
them, moves VMs through starting/deallocating on the next read, and can be told
to fail the next requests with a given HTTP status.
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.certs import self_signed

VM_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Compute/virtualMachines/(?P<vm>[^/?]+)/(?P<verb>start|deallocate)$"
)
LIST_PATH = re.compile(
    r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Compute/virtualMachines$"
)
NEXT = {"starting": "running", "deallocating": "deallocated", "stopping": "stopped"}


@dataclass
class ArmState:
    subscription: str
    vms: dict[tuple[str, str], str] = field(default_factory=dict)  # (group, name) -> power code
    failures: list[int] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)

    def vm_id(self, group: str, name: str) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{group}"
            f"/providers/Microsoft.Compute/virtualMachines/{name}"
        )


def make_certificate(folder: Path) -> tuple[Path, Path]:
    pem = self_signed("127.0.0.1", ip="127.0.0.1")
    cert_path, key_path = folder / "arm.pem", folder / "arm.key"
    cert_path.write_bytes(pem.certificate)
    key_path.write_bytes(pem.key)
    return cert_path, key_path


class _Handler(BaseHTTPRequestHandler):
    state: ArmState

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: dict[str, Any] | None = None) -> None:
        payload = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _guard(self) -> bool:
        path = self.path.split("?")[0]
        self.state.requests.append(f"{self.command} {path}")
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth.removeprefix("Bearer ") not in self.state.tokens:
            self._reply(401, {"error": {"code": "InvalidAuthenticationToken", "message": "no"}})
            return False
        if self.state.failures:
            status = self.state.failures.pop(0)
            self._reply(status, {"error": {"code": f"Status{status}", "message": "injected"}})
            return False
        return True

    def do_GET(self) -> None:
        if not self._guard():
            return
        path, _, query = self.path.partition("?")
        match = LIST_PATH.match(path)
        if not match or "statusOnly=true" not in query:
            self._reply(404, {"error": {"code": "NotFound", "message": path}})
            return
        value = []
        for (group, name), code in sorted(self.state.vms.items()):
            value.append(
                {
                    "id": self.state.vm_id(group, name),
                    "name": name,
                    "location": "westeurope",
                    "properties": {
                        "instanceView": {
                            "statuses": [
                                {"code": "ProvisioningState/succeeded", "level": "Info"},
                                {"code": f"PowerState/{code}", "level": "Info"},
                            ]
                        }
                    },
                }
            )
            self.state.vms[(group, name)] = NEXT.get(code, code)  # transitions finish by next read
        self._reply(200, {"value": value})

    def do_POST(self) -> None:
        if not self._guard():
            return
        match = VM_PATH.match(self.path.split("?")[0])
        if not match:
            self._reply(404, {"error": {"code": "NotFound", "message": self.path}})
            return
        key = (match["rg"], match["vm"])
        if key not in self.state.vms:
            self._reply(404, {"error": {"code": "ResourceNotFound", "message": "no such VM"}})
            return
        current = self.state.vms[key]
        if match["verb"] == "start" and current not in ("running", "starting"):
            self.state.vms[key] = "starting"
        if match["verb"] == "deallocate" and current not in ("deallocated", "deallocating"):
            self.state.vms[key] = "deallocating"
        self._reply(202)


@contextmanager
def serve_arm(state: ArmState, folder: Path) -> Iterator[tuple[str, Path]]:
    """Serve the stand-in on a free port; yields its base URL and the certificate to trust."""
    cert, key = make_certificate(folder)
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", cert
    finally:
        server.shutdown()
        server.server_close()
