"""RDP files and Guacamole tokens, checked against independent implementations (OpenSSL)."""

from __future__ import annotations

import base64
import json
import struct
import subprocess
from pathlib import Path

import pytest

from anyplace.broker.guacamole import (
    InvalidToken,
    decrypt_token,
    encrypt_token,
    guacamole_url,
    rdp_connection,
)
from anyplace.broker.rdp import RdpSigner, remoteapp_settings, render_rdp
from tests.certs import self_signed

KEY = "4c0b569e4c96df157eee1b65dd0e4d41"


def parse(text: str) -> dict[str, str]:
    assert text.endswith("\r\n")
    settings = {}
    for line in filter(None, text.split("\r\n")):
        name, kind, value = line.split(":", 2)
        settings[f"{name}:{kind}"] = value
    return settings


def test_a_remoteapp_file_uses_microsofts_documented_settings() -> None:
    text = render_rdp(
        remoteapp_settings(
            host="gen-07.kommune.local",
            program="||esdh",
            name="Sag og dokument",
            arguments="/sag 2024-123",
            gateway="rdgw.kommune.dk",
            load_balance_info="tsv://MS Terminal Services Plugin.1.Generel",
        )
    )
    settings = parse(text)
    assert settings["full address:s"] == "gen-07.kommune.local"
    assert settings["remoteapplicationmode:i"] == "1"
    assert settings["remoteapplicationprogram:s"] == "||esdh"
    assert settings["remoteapplicationname:s"] == "Sag og dokument"
    assert settings["remoteapplicationcmdline:s"] == "/sag 2024-123"
    assert settings["gatewayhostname:s"] == "rdgw.kommune.dk"
    assert settings["gatewayusagemethod:i"] == "1"
    assert settings["loadbalanceinfo:s"] == "tsv://MS Terminal Services Plugin.1.Generel"
    desktop = parse(render_rdp(remoteapp_settings(host="h", program=None, name="Skrivebord")))
    assert "remoteapplicationmode:i" not in desktop
    with pytest.raises(ValueError, match="span lines"):
        render_rdp({"full address:s": "h\r\nalternate shell:s:cmd.exe"})


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> tuple[RdpSigner, Path]:
    pem = self_signed("Eksempel Kommune IT", rsa_key=True, server_auth=True)
    path = tmp_path_factory.mktemp("rdp") / "signer.pem"
    path.write_bytes(pem.certificate)
    return RdpSigner.from_pem(pem.certificate, pem.key), path


def test_a_signed_file_verifies_with_openssl(
    signer: tuple[RdpSigner, Path], tmp_path: Path
) -> None:
    rdp_signer, certificate = signer
    settings = remoteapp_settings(host="gen-07.kommune.local", program="||word", name="Word")
    text = render_rdp(settings, rdp_signer)
    parsed = parse(text)
    assert parsed["alternate full address:s"] == "gen-07.kommune.local"
    scope = parsed["signscope:s"].split(",")
    assert scope[:2] == ["Full Address", "Alternate Full Address"]
    assert "RemoteApplicationProgram" in scope
    blob = base64.b64decode(parsed["signature:s"])
    first, second, length = struct.unpack("<III", blob[:12])
    assert (first, second, length) == (0x00010001, 1, len(blob) - 12)
    # Rebuild the signed message independently, in the order the scope names.
    prefixes = {
        "Full Address": "full address:s:",
        "Alternate Full Address": "alternate full address:s:",
    }
    lines = text.split("\r\n")
    signed = []
    for name in scope:
        prefix = prefixes.get(name) or next(
            line.split(":", 2)[0] + ":" + line.split(":", 2)[1] + ":"
            for line in lines
            if line
            and line.split(":", 2)[0].replace(" ", "").lower() == name.replace(" ", "").lower()
        )
        signed.append(next(line for line in lines if line.startswith(prefix)))
    message = "\r\n".join(signed) + "\r\nsignscope:s:" + ",".join(scope) + "\r\n\x00"
    (tmp_path / "message").write_bytes(message.encode("utf-16-le"))
    (tmp_path / "signature.der").write_bytes(blob[12:])
    verify = subprocess.run(
        [
            "openssl", "cms", "-verify", "-binary", "-inform", "DER",
            "-in", str(tmp_path / "signature.der"), "-content", str(tmp_path / "message"),
            "-CAfile", str(certificate), "-purpose", "any", "-out", "/dev/null",
        ],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert verify.returncode == 0, verify.stderr
    tampered = message.replace("||word", "||cmd")
    (tmp_path / "message").write_bytes(tampered.encode("utf-16-le"))
    again = subprocess.run(verify.args, capture_output=True, text=True, check=False)
    assert again.returncode != 0, "a changed program must break the signature"


def openssl_decrypt(token: str, key_hex: str, tmp_path: Path) -> bytes:
    """The documented algorithm, by OpenSSL rather than by our code."""
    (tmp_path / "token.b64").write_text(token, encoding="ascii")
    result = subprocess.run(
        ["openssl", "enc", "-d", "-aes-128-cbc", "-K", key_hex, "-iv", "0" * 32, "-a", "-A",
         "-in", str(tmp_path / "token.b64")],
        capture_output=True, check=True,
    )  # fmt: skip
    return result.stdout


def openssl_hmac(data: bytes, key_hex: str, tmp_path: Path) -> bytes:
    (tmp_path / "data").write_bytes(data)
    result = subprocess.run(
        ["openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt", f"hexkey:{key_hex}", "-binary",
         str(tmp_path / "data")],
        capture_output=True, check=True,
    )  # fmt: skip
    return result.stdout


def test_a_guacamole_token_follows_the_documented_format(tmp_path: Path) -> None:
    payload = {
        "username": "anni",
        "expires": 1_800_000_000_000,
        "singleUse": True,
        "connections": {
            "Word": rdp_connection(host="gen-07", username="anni", program="word"),
        },
    }
    token = encrypt_token(payload, KEY)
    plain = openssl_decrypt(token, KEY, tmp_path)
    signature, document = plain[:32], plain[32:]
    assert signature == openssl_hmac(document, KEY, tmp_path)
    assert json.loads(document) == payload
    assert json.loads(document)["connections"]["Word"]["parameters"]["remote-app"] == "||word"
    assert decrypt_token(token, KEY) == payload
    url = guacamole_url("https://guac.kommune.dk/guacamole/", token)
    assert url.startswith("https://guac.kommune.dk/guacamole/?data=")


def test_a_tampered_or_foreign_token_is_refused() -> None:
    token = encrypt_token({"username": "anni", "connections": {}}, KEY)
    raw = bytearray(base64.b64decode(token))
    raw[20] ^= 0x01
    with pytest.raises(InvalidToken):
        decrypt_token(base64.b64encode(bytes(raw)).decode(), KEY)
    with pytest.raises(InvalidToken):
        decrypt_token(token, "00" * 16)
    with pytest.raises(ValueError, match="128 bits"):
        encrypt_token({}, "abcd")
