"""A real SOAP service, built with spyne and served over HTTP: a citizen register that
records address changes and honours the Idempotency-Key header."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from spyne import Application, Fault, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

from tests.peers.processes import free_port

__all__ = ["Register", "run_soap"]


class Register:
    def __init__(self) -> None:
        self.applied: dict[str, dict[str, str]] = {}
        self.calls = 0


def _service(register: Register) -> type[ServiceBase]:
    class AddressService(ServiceBase):  # type: ignore[misc]
        @rpc(Unicode, Unicode, Unicode, _returns=Unicode)  # type: ignore[untyped-decorator]
        def RegisterMove(ctx: Any, cpr: str, address: str, postal_code: str) -> str:  # noqa: N805
            register.calls += 1
            if not cpr:
                raise Fault("Client", "cpr is required")
            key = ctx.transport.req_env.get("HTTP_IDEMPOTENCY_KEY", "")
            if key not in register.applied:
                register.applied[key] = {"cpr": cpr, "address": address, "postal_code": postal_code}
            return f"registered {cpr}"

    return AddressService


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def run_soap(register: Register) -> Iterator[str]:
    application = Application(
        [_service(register)],
        tns="urn:kommune:cpr",
        in_protocol=Soap11(validator="lxml"),
        out_protocol=Soap11(),
    )
    port = free_port()
    server = make_server("127.0.0.1", port, WsgiApplication(application), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/?wsdl"
    finally:
        server.shutdown()
        thread.join(timeout=10)
