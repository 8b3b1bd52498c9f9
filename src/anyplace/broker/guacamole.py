"""Clientless HTML5 sessions through Apache Guacamole's encrypted JSON authentication.

guacamole-auth-json accepts a JSON document naming the user, an expiry and the
connections: signed with HMAC-SHA256 under a shared 128-bit key, the
signature put in front of the JSON, the whole encrypted with AES-128-CBC under
the same key and an all-zero IV, then base64-encoded. The browser is sent to
Guacamole with the token as `?data=` (or it is posted to `/api/tokens`).
Tokens here expire within a minute and are single use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import quote

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

__all__ = ["InvalidToken", "decrypt_token", "encrypt_token", "guacamole_url", "rdp_connection"]

ZERO_IV = bytes(16)
SIGNATURE_BYTES = 32


class InvalidToken(ValueError):
    """The token is not one this key made, or was altered."""


def _key(secret_key_hex: str) -> bytes:
    try:
        key = bytes.fromhex(secret_key_hex)
    except ValueError:
        raise ValueError("the Guacamole key must be 32 hexadecimal digits") from None
    if len(key) != 16:
        raise ValueError("the Guacamole key must be 128 bits (32 hexadecimal digits)")
    return key


def encrypt_token(payload: dict[str, Any], secret_key_hex: str) -> str:
    key = _key(secret_key_hex)
    document = json.dumps(payload, separators=(",", ":")).encode("utf-8")
    signed = hmac.new(key, document, hashlib.sha256).digest() + document
    padder = padding.PKCS7(128).padder()
    padded = padder.update(signed) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(ZERO_IV)).encryptor()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")


def decrypt_token(token: str, secret_key_hex: str) -> dict[str, Any]:
    """The payload, after checking the signature (in constant time)."""
    key = _key(secret_key_hex)
    try:
        sealed = base64.b64decode(token, validate=True)
        decryptor = Cipher(algorithms.AES(key), modes.CBC(ZERO_IV)).decryptor()
        padded = decryptor.update(sealed) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        signed = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise InvalidToken("the token cannot be decrypted with this key") from None
    signature, document = signed[:SIGNATURE_BYTES], signed[SIGNATURE_BYTES:]
    expected = hmac.new(key, document, hashlib.sha256).digest()
    if not hmac.compare_digest(signature, expected):
        raise InvalidToken("the token's signature does not match")
    result: dict[str, Any] = json.loads(document)
    return result


def rdp_connection(
    *, host: str, username: str, program: str | None, security: str = "any", port: int = 3389
) -> dict[str, Any]:
    """A Guacamole RDP connection; with a program, a RemoteApp (`remote-app: ||alias`)."""
    parameters: dict[str, str] = {
        "hostname": host,
        "port": str(port),
        "username": username,
        "security": security,
        "ignore-cert": "true",
    }
    if program:
        parameters["remote-app"] = program if program.startswith("||") else f"||{program}"
    return {"protocol": "rdp", "parameters": parameters}


def guacamole_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/?data={quote(token, safe='')}"
