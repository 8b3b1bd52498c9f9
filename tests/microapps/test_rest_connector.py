"""The REST connector against a real HTTP server: each kind of authentication, and mutual TLS."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest

from anyplace.connectors.base import Permanent, Transient
from anyplace.connectors.rest import RestConnector
from tests.certs import self_signed
from tests.peers.asgi import serve_asgi
from tests.peers.http_target import Target

REQUEST = {"path": "/sager", "body": {"cpr": "010170-1235"}}


def test_bearer_and_basic_credentials_are_sent() -> None:
    target = Target(token="t0ken")
    with serve_asgi(target.app()) as url:
        good = RestConnector({"url": url, "auth": {"type": "bearer", "token": "t0ken"}})
        assert good.deliver(REQUEST, idempotency_key="a", timeout=5).startswith("201")
        bad = RestConnector({"url": url, "auth": {"type": "bearer", "token": "wrong"}})
        with pytest.raises(Permanent, match="401"):
            bad.deliver(REQUEST, idempotency_key="b", timeout=5)
    target = Target(basic=("svc", "pw"))
    with serve_asgi(target.app()) as url:
        basic = RestConnector(
            {"url": url, "auth": {"type": "basic", "username": "svc", "password": "pw"}}
        )
        assert basic.deliver(REQUEST, idempotency_key="c", timeout=5).startswith("201")
    assert list(target.applied) == ["c"]


def test_oauth2_client_credentials_fetches_a_token_once_and_uses_it() -> None:
    target = Target(clients={"anyplace": "s3cret"})
    with serve_asgi(target.app()) as url:
        auth = {
            "type": "oauth2",
            "token_url": f"{url}/oauth/token",
            "client_id": "anyplace",
            "client_secret": "s3cret",
        }
        connector = RestConnector({"url": url, "auth": auth})
        for key in ("a", "b", "c"):
            connector.deliver(REQUEST, idempotency_key=key, timeout=5)
        assert len(target.issued) == 1, "the token is cached until it expires"
        target.issued.clear()  # the server revokes it: the connector fetches a new one, once
        connector.deliver(REQUEST, idempotency_key="d", timeout=5)
        assert len(target.issued) == 1
        wrong = RestConnector({"url": url, "auth": {**auth, "client_secret": "nope"}})
        with pytest.raises(Permanent, match="refused the client"):
            wrong.deliver(REQUEST, idempotency_key="e", timeout=5)
    assert sorted(target.applied) == ["a", "b", "c", "d"]


def test_mutual_tls_with_a_client_certificate(tmp_path: Path) -> None:
    server = self_signed("127.0.0.1", ip="127.0.0.1", server_auth=True)
    client = self_signed("anyplace-kommune")
    for name, pem in (("server", server), ("client", client)):
        (tmp_path / f"{name}.pem").write_bytes(pem.certificate)
        (tmp_path / f"{name}.key").write_bytes(pem.key)
    target = Target()
    tls_server: dict[str, Any] = {
        "ssl_certfile": str(tmp_path / "server.pem"),
        "ssl_keyfile": str(tmp_path / "server.key"),
        "ssl_ca_certs": str(tmp_path / "client.pem"),
        "ssl_cert_reqs": ssl.CERT_REQUIRED,
    }
    with serve_asgi(target.app(), **tls_server) as url:
        https = url.replace("http://", "https://")
        tls = {
            "cert": str(tmp_path / "client.pem"),
            "key": str(tmp_path / "client.key"),
            "ca": str(tmp_path / "server.pem"),
        }
        connector = RestConnector({"url": https, "tls": tls})
        assert connector.deliver(REQUEST, idempotency_key="m", timeout=5).startswith("201")
        without = RestConnector({"url": https, "tls": {"ca": str(tmp_path / "server.pem")}})
        with pytest.raises(Transient):
            without.deliver(REQUEST, idempotency_key="n", timeout=5)
    assert list(target.applied) == ["m"]


def test_server_errors_are_transient_and_client_errors_permanent() -> None:
    target = Target(fail_next=1, fail_status=503)
    with serve_asgi(target.app()) as url:
        connector = RestConnector({"url": url})
        with pytest.raises(Transient, match="503"):
            connector.deliver(REQUEST, idempotency_key="x", timeout=5)
        target.fail_next, target.fail_status = 1, 400
        with pytest.raises(Permanent, match="400"):
            connector.deliver(REQUEST, idempotency_key="x", timeout=5)
    with pytest.raises(Transient):
        RestConnector({"url": url}).deliver(REQUEST, idempotency_key="x", timeout=1)  # server gone
