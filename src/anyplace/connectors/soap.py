"""SOAP: one operation call per delivery, with zeep, from the service's WSDL.

Settings: `wsdl` (a URL or file), `operation`, optionally `service` and `port`.
A request carries `args` (the operation's parameters) and optionally
`operation`. The idempotency key goes in an `Idempotency-Key` HTTP header;
a SOAP fault from the client side is permanent, from the server side transient.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import requests
from zeep import Client, Settings
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault, TransportError
from zeep.transports import Transport

from anyplace.connectors.base import Permanent, Transient

__all__ = ["SoapConnector"]


class SoapConnector:
    def __init__(self, settings: Mapping[str, Any]) -> None:
        if not settings.get("wsdl") or not settings.get("operation"):
            raise Permanent("a soap connector needs wsdl and operation")
        self.wsdl = str(settings["wsdl"])
        self.operation = str(settings["operation"])
        self.service = settings.get("service")
        self.port = settings.get("port")
        self._session = requests.Session()
        self._client: Client | None = None
        self._lock = threading.Lock()

    def _service(self, timeout: float) -> Any:
        with self._lock:
            if self._client is None:
                transport = Transport(  # type: ignore[no-untyped-call]
                    session=self._session, timeout=timeout, operation_timeout=timeout
                )
                try:
                    self._client = Client(  # type: ignore[no-untyped-call]
                        self.wsdl, transport=transport, settings=Settings(strict=False)
                    )
                except (requests.RequestException, TransportError) as exc:
                    raise Transient(f"cannot read the WSDL: {type(exc).__name__}") from None
                except (ZeepError, ValueError) as exc:
                    raise Permanent(f"the WSDL is not usable: {exc}") from None
            if self.service and self.port:
                return self._client.bind(str(self.service), str(self.port))
            return self._client.service

    def deliver(self, request: Mapping[str, Any], *, idempotency_key: str, timeout: float) -> str:
        service = self._service(timeout)
        name = str(request.get("operation") or self.operation)
        arguments = dict(request.get("args") or {})
        try:
            operation = getattr(service, name)
        except (AttributeError, ZeepError):
            raise Permanent(f"the service has no operation {name!r}") from None
        try:
            with self._lock:
                self._session.headers["Idempotency-Key"] = idempotency_key
                result = operation(**arguments)
        except Fault as exc:
            code = str(exc.code or "")
            message = f"SOAP fault {code}: {exc.message}"
            raise (Transient(message) if code.endswith("Server") else Permanent(message)) from None
        except TransportError as exc:
            message = f"the service answered {exc.status_code}"
            raise (Transient(message) if exc.status_code >= 500 else Permanent(message)) from None
        except requests.RequestException as exc:
            raise Transient(f"cannot reach the service: {type(exc).__name__}") from None
        except (TypeError, ZeepError) as exc:
            raise Permanent(f"the call does not fit the WSDL: {exc}") from None
        return str(result)[:400]

    def close(self) -> None:
        self._session.close()
