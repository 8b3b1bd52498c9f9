"""REST: a JSON request per delivery, with the idempotency key in `Idempotency-Key`.

Settings: `url`, `method` (POST), `headers`, `auth` (`{type: bearer, token}`,
`{type: basic, username, password}`, or `{type: oauth2, token_url, client_id,
client_secret, scope}` for the client-credentials grant), `tls` (`{cert, key,
ca}`: a client certificate, as the Danish Serviceplatformen requires). A
request (the rendered mapping) may carry `path` (appended to the URL), `query`,
`headers` and `body`.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Mapping
from typing import Any

import httpx

from anyplace.connectors.base import Permanent, Transient

__all__ = ["RestConnector"]

RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})


def _tls_context(tls: Mapping[str, Any]) -> ssl.SSLContext:
    """The system's trust store (or `ca`), and the client certificate if there is one."""
    try:
        context = ssl.create_default_context(cafile=tls.get("ca") or None)
        if tls.get("cert"):
            context.load_cert_chain(str(tls["cert"]), str(tls.get("key") or tls["cert"]))
    except (OSError, ssl.SSLError) as exc:
        raise Permanent(f"the TLS files cannot be used: {exc}") from None
    return context


class RestConnector:
    def __init__(
        self, settings: Mapping[str, Any], *, transport: httpx.BaseTransport | None = None
    ) -> None:
        if not settings.get("url"):
            raise Permanent("a rest connector needs a url")
        self.url = str(settings["url"]).rstrip("/")
        self.method = str(settings.get("method", "POST")).upper()
        self.headers = {str(k): str(v) for k, v in (settings.get("headers") or {}).items()}
        self.auth = dict(settings.get("auth") or {})
        self._client = httpx.Client(
            verify=_tls_context(dict(settings.get("tls") or {})), transport=transport
        )
        self._token: tuple[str, float] | None = None
        self._lock = threading.Lock()

    def _oauth_token(self, timeout: float, *, renew: bool = False) -> str:
        with self._lock:
            if self._token is not None and not renew and time.monotonic() < self._token[1]:
                return self._token[0]
            data = {"grant_type": "client_credentials"}
            if self.auth.get("scope"):
                data["scope"] = str(self.auth["scope"])
            try:
                answer = self._client.post(
                    str(self.auth["token_url"]),
                    data=data,
                    auth=(str(self.auth["client_id"]), str(self.auth["client_secret"])),
                    timeout=timeout,
                )
            except httpx.HTTPError as exc:
                raise Transient(f"token endpoint: {type(exc).__name__}") from None
            if answer.status_code in RETRYABLE:
                raise Transient(f"token endpoint answered {answer.status_code}")
            if answer.status_code != httpx.codes.OK:
                raise Permanent(f"token endpoint refused the client ({answer.status_code})")
            body = answer.json()
            lifetime = float(body.get("expires_in", 300))
            self._token = (str(body["access_token"]), time.monotonic() + max(lifetime - 30, 1))
            return self._token[0]

    def _auth_headers(
        self, timeout: float, *, renew: bool = False
    ) -> tuple[dict[str, str], httpx.BasicAuth | None]:
        kind = self.auth.get("type")
        if kind == "bearer":
            return {"Authorization": f"Bearer {self.auth['token']}"}, None
        if kind == "basic":
            return {}, httpx.BasicAuth(str(self.auth["username"]), str(self.auth["password"]))
        if kind == "oauth2":
            return {"Authorization": f"Bearer {self._oauth_token(timeout, renew=renew)}"}, None
        return {}, None

    def deliver(self, request: Mapping[str, Any], *, idempotency_key: str, timeout: float) -> str:
        url = self.url + str(request.get("path", ""))
        for renew in (False, True):
            extra, basic = self._auth_headers(timeout, renew=renew)
            headers = {
                **self.headers,
                **{str(k): str(v) for k, v in (request.get("headers") or {}).items()},
                **extra,
                "Idempotency-Key": idempotency_key,
            }
            try:
                answer = self._client.request(
                    self.method,
                    url,
                    json=request.get("body"),
                    params=request.get("query"),
                    headers=headers,
                    auth=basic or httpx.USE_CLIENT_DEFAULT,
                    timeout=timeout,
                )
            except httpx.HTTPError as exc:
                raise Transient(f"{self.method} {url}: {type(exc).__name__}") from None
            if (
                answer.status_code == httpx.codes.UNAUTHORIZED
                and self.auth.get("type") == "oauth2"
                and not renew
            ):
                continue  # the token may have been revoked early: fetch a new one, once
            break
        if answer.is_success:
            return f"{answer.status_code} {answer.headers.get('location', '')}".strip()[:400]
        message = f"{self.method} {url} answered {answer.status_code}"
        if answer.status_code in RETRYABLE:
            raise Transient(message)
        raise Permanent(message)

    def fetch(self, path: str, *, timeout: float) -> Any:
        """GET `path` (below the URL) as JSON: what a form's lookup reads to prefill a field."""
        extra, basic = self._auth_headers(timeout)
        try:
            answer = self._client.get(
                self.url + path,
                headers={**self.headers, **extra},
                auth=basic or httpx.USE_CLIENT_DEFAULT,
                timeout=timeout,
            )
        except httpx.HTTPError as exc:
            raise Transient(f"GET {self.url + path}: {type(exc).__name__}") from None
        if answer.status_code == httpx.codes.NOT_FOUND:
            return None
        if not answer.is_success:
            raise Transient(f"GET {self.url + path} answered {answer.status_code}")
        try:
            return answer.json()
        except ValueError:
            raise Permanent(f"GET {self.url + path} did not answer JSON") from None

    def close(self) -> None:
        self._client.close()
