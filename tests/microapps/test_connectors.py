"""SMTP, file (local and SFTP) and SOAP connectors, each against a real server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from anyplace.connectors.base import Permanent, Transient
from anyplace.connectors.files import FileConnector
from anyplace.connectors.smtp import SmtpConnector
from anyplace.connectors.soap import SoapConnector
from tests.peers.sftp import SFTP_PASSWORD, SFTP_USER, run_sftp
from tests.peers.smtp import Mailbox, run_smtp
from tests.peers.soap import Register, run_soap


def test_a_welcome_mail_is_sent_with_its_idempotency_key_as_message_id() -> None:
    mailbox = Mailbox(refuse="nobody@kommune.dk")
    with run_smtp(mailbox) as port:
        mail = SmtpConnector(
            {"host": "127.0.0.1", "port": port, "security": "none", "sender": "it@kommune.dk"}
        )
        request = {
            "to": "sofie@kommune.dk",
            "subject": "Velkommen",
            "body": "Din første dag er mandag.",
        }
        assert mail.deliver(request, idempotency_key="s1:velkomst", timeout=5).startswith("sent")
        with pytest.raises(Permanent, match="refused"):
            mail.deliver(
                {**request, "to": "nobody@kommune.dk"}, idempotency_key="s2:velkomst", timeout=5
            )
    [message] = mailbox.messages
    assert message["Subject"] == "Velkommen"
    assert message["Message-ID"] == "<s1.velkomst@anyplace>"
    assert "første dag" in message.get_payload(decode=True).decode()  # type: ignore[union-attr]
    with pytest.raises(Transient):
        mail.deliver(request, idempotency_key="s3", timeout=2)  # the server is gone


def test_files_land_whole_once_in_a_folder(tmp_path: Path) -> None:
    drop = FileConnector({"folder": str(tmp_path), "format": "csv"})
    record = {"cpr": "010170-1235", "navn": "Søren Ærø"}
    drop.deliver({"record": record}, idempotency_key="s1:fil", timeout=5)
    assert drop.deliver(
        {"record": {**record, "navn": "other"}}, idempotency_key="s1:fil", timeout=5
    ).endswith("(already there)")
    [written] = tmp_path.iterdir()
    assert written.name == "s1_fil.csv"
    assert written.read_bytes().decode() == "cpr,navn\r\n010170-1235,Søren Ærø\r\n"
    with pytest.raises(Permanent, match="no folder"):
        FileConnector({"folder": str(tmp_path / "missing")}).deliver(
            {"record": record}, idempotency_key="k", timeout=5
        )


def test_files_are_delivered_over_sftp(tmp_path: Path) -> None:
    root = tmp_path / "sftp-root"
    (root / "indbakke").mkdir(parents=True)
    with run_sftp(root) as (port, known_hosts):
        settings = {
            "folder": "/indbakke",
            "sftp": {
                "host": "127.0.0.1",
                "port": port,
                "username": SFTP_USER,
                "password": SFTP_PASSWORD,
                "known_hosts": str(known_hosts),
            },
        }
        drop = FileConnector(settings)
        assert (
            drop.deliver({"record": {"cpr": "010170-1235"}}, idempotency_key="s1:sftp", timeout=10)
            == "sftp:/indbakke/s1_sftp.json"
        )
        again = drop.deliver({"record": {"cpr": "x"}}, idempotency_key="s1:sftp", timeout=10)
        assert again.endswith("(already there)")
        wrong = FileConnector({**settings, "sftp": {**settings["sftp"], "password": "wrong"}})  # type: ignore[dict-item]
        with pytest.raises(Permanent, match="refused the login"):
            wrong.deliver({"record": {"cpr": "1"}}, idempotency_key="k", timeout=10)
    assert json.loads((root / "indbakke" / "s1_sftp.json").read_text()) == {"cpr": "010170-1235"}
    assert [p.name for p in (root / "indbakke").iterdir()] == ["s1_sftp.json"], "no part file left"


def test_a_soap_operation_is_called_from_the_wsdl() -> None:
    register = Register()
    with run_soap(register) as wsdl:
        soap = SoapConnector({"wsdl": wsdl, "operation": "RegisterMove"})
        args = {"cpr": "010170-1235", "address": "Torvet 1", "postal_code": "8600"}
        assert (
            soap.deliver({"args": args}, idempotency_key="s1:cpr", timeout=5)
            == "registered 010170-1235"
        )
        soap.deliver({"args": args}, idempotency_key="s1:cpr", timeout=5)
        with pytest.raises(Permanent, match="Client"):
            soap.deliver({"args": {**args, "cpr": ""}}, idempotency_key="s2:cpr", timeout=5)
        with pytest.raises(Permanent, match="no operation"):
            soap.deliver({"args": args, "operation": "Nothing"}, idempotency_key="s3", timeout=5)
    assert register.calls == 3
    assert register.applied == {
        "s1:cpr": {"cpr": "010170-1235", "address": "Torvet 1", "postal_code": "8600"}
    }
