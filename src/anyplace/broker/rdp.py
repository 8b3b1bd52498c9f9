"""Remote Desktop connection files (.rdp), optionally signed as `rdpsign.exe` signs them.

Settings are Microsoft's documented ones ("Supported RDP properties"): lines
`name:type:value` with type `s` (string) or `i` (integer). A RemoteApp file
sets `remoteapplicationmode:i:1` and names the published program
(`remoteapplicationprogram:s:||alias`).

Signing lets Windows show the publisher instead of "unknown publisher" and
stops anyone from editing the file's security settings. Microsoft has not
published the format; it is known from interoperable implementations: the
settings Windows treats as secure are signed in a fixed order, the message is
those lines plus `signscope:s:<their names>` in UTF-16LE with a trailing NUL,
the signature is a detached PKCS#7 (CMS) without signed attributes, and
`signature:s:` holds it in base64 behind a 12-byte header. A file with a
`full address` and no `alternate full address` gets one, so that an attacker
cannot add an unsigned alternative.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

__all__ = ["SECURE_SETTINGS", "RdpSigner", "remoteapp_settings", "render_rdp"]

# (setting prefix, the name used in signscope), in the order Windows signs them.
SECURE_SETTINGS: tuple[tuple[str, str], ...] = (
    ("full address:s:", "Full Address"),
    ("alternate full address:s:", "Alternate Full Address"),
    ("pcb:s:", "PCB"),
    ("use redirection server name:i:", "Use Redirection Server Name"),
    ("server port:i:", "Server Port"),
    ("negotiate security layer:i:", "Negotiate Security Layer"),
    ("enablecredsspsupport:i:", "EnableCredSspSupport"),
    ("disableconnectionsharing:i:", "DisableConnectionSharing"),
    ("autoreconnection enabled:i:", "AutoReconnection Enabled"),
    ("gatewayhostname:s:", "GatewayHostname"),
    ("gatewayusagemethod:i:", "GatewayUsageMethod"),
    ("gatewayprofileusagemethod:i:", "GatewayProfileUsageMethod"),
    ("gatewaycredentialssource:i:", "GatewayCredentialsSource"),
    ("support url:s:", "Support URL"),
    ("promptcredentialonce:i:", "PromptCredentialOnce"),
    ("require pre-authentication:i:", "Require pre-authentication"),
    ("pre-authentication server address:s:", "Pre-authentication server address"),
    ("alternate shell:s:", "Alternate Shell"),
    ("shell working directory:s:", "Shell Working Directory"),
    ("remoteapplicationprogram:s:", "RemoteApplicationProgram"),
    ("remoteapplicationexpandworkingdir:s:", "RemoteApplicationExpandWorkingdir"),
    ("remoteapplicationmode:i:", "RemoteApplicationMode"),
    ("remoteapplicationguid:s:", "RemoteApplicationGuid"),
    ("remoteapplicationname:s:", "RemoteApplicationName"),
    ("remoteapplicationicon:s:", "RemoteApplicationIcon"),
    ("remoteapplicationfile:s:", "RemoteApplicationFile"),
    ("remoteapplicationfileextensions:s:", "RemoteApplicationFileExtensions"),
    ("remoteapplicationcmdline:s:", "RemoteApplicationCmdLine"),
    ("remoteapplicationexpandcmdline:s:", "RemoteApplicationExpandCmdLine"),
    ("prompt for credentials:i:", "Prompt For Credentials"),
    ("authentication level:i:", "Authentication Level"),
    ("audiomode:i:", "AudioMode"),
    ("redirectdrives:i:", "RedirectDrives"),
    ("redirectprinters:i:", "RedirectPrinters"),
    ("redirectcomports:i:", "RedirectCOMPorts"),
    ("redirectsmartcards:i:", "RedirectSmartCards"),
    ("redirectposdevices:i:", "RedirectPOSDevices"),
    ("redirectclipboard:i:", "RedirectClipboard"),
    ("devicestoredirect:s:", "DevicesToRedirect"),
    ("drivestoredirect:s:", "DrivesToRedirect"),
    ("loadbalanceinfo:s:", "LoadBalanceInfo"),
    ("redirectdirectx:i:", "RedirectDirectX"),
    ("rdgiskdcproxy:i:", "RDGIsKDCProxy"),
    ("kdcproxyname:s:", "KDCProxyName"),
    ("eventloguploadaddress:s:", "EventLogUploadAddress"),
)


def remoteapp_settings(
    *,
    host: str,
    program: str | None,
    name: str,
    arguments: str | None = None,
    gateway: str | None = None,
    load_balance_info: str | None = None,
) -> dict[str, str | int]:
    """The settings of a file that opens one published app (or, without a program, a desktop)."""
    settings: dict[str, str | int] = {
        "full address:s": host,
        "prompt for credentials:i": 0,
        "promptcredentialonce:i": 1,
        "authentication level:i": 2,
        "enablecredsspsupport:i": 1,
        "disableconnectionsharing:i": 0,
        "autoreconnection enabled:i": 1,
        "redirectclipboard:i": 1,
        "redirectprinters:i": 1,
        "audiomode:i": 0,
    }
    if program:
        alias = program if program.startswith("||") else f"||{program}"
        settings |= {
            "remoteapplicationmode:i": 1,
            "remoteapplicationprogram:s": alias,
            "remoteapplicationname:s": name,
        }
        if arguments:
            settings["remoteapplicationcmdline:s"] = arguments
    if gateway:
        settings |= {"gatewayhostname:s": gateway, "gatewayusagemethod:i": 1}
        settings |= {"gatewayprofileusagemethod:i": 1, "gatewaycredentialssource:i": 0}
    if load_balance_info:
        settings["loadbalanceinfo:s"] = load_balance_info
    return settings


def render_rdp(settings: Mapping[str, str | int], signer: RdpSigner | None = None) -> str:
    """The file's text (CRLF lines); signed when a signer is given. Save it as UTF-16 or UTF-8."""
    lines = []
    for key, value in settings.items():
        if "\n" in str(value) or "\r" in str(value):
            raise ValueError(f"{key}: a setting cannot span lines")
        lines.append(f"{key}:{value}")
    if signer is not None:
        lines = signer.sign_lines(lines)
    return "\r\n".join(lines) + "\r\n"


@dataclass(frozen=True)
class RdpSigner:
    """Signs files with a certificate and its private key (PEM), as rdpsign.exe does."""

    certificate: x509.Certificate
    key: pkcs7.PKCS7PrivateKeyTypes

    @classmethod
    def from_pem(cls, certificate: bytes, key: bytes, password: bytes | None = None) -> RdpSigner:
        loaded = serialization.load_pem_private_key(key, password)
        return cls(x509.load_pem_x509_certificate(certificate), loaded)  # type: ignore[arg-type]

    def sign_lines(self, lines: list[str]) -> list[str]:
        lines = [line for line in lines if not line.startswith(("signscope:s:", "signature:s:"))]
        full = next((line for line in lines if line.startswith("full address:s:")), None)
        if full and not any(line.startswith("alternate full address:s:") for line in lines):
            lines.append("alternate full address:s:" + full.removeprefix("full address:s:"))
        signed, names = [], []
        for prefix, name in SECURE_SETTINGS:
            for line in lines:
                if line.startswith(prefix):
                    signed.append(line)
                    names.append(name)
        scope = "signscope:s:" + ",".join(names)
        message = ("\r\n".join(signed) + "\r\n" + scope + "\r\n" + "\x00").encode("utf-16-le")
        return [*lines, scope, "signature:s:" + self.signature(message)]

    def signature(self, message: bytes) -> str:
        options = [
            pkcs7.PKCS7Options.DetachedSignature,
            pkcs7.PKCS7Options.Binary,
            pkcs7.PKCS7Options.NoAttributes,
        ]
        der = (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(message)
            .add_signer(self.certificate, self.key, hashes.SHA256())
            .sign(serialization.Encoding.DER, options)
        )
        blob = struct.pack("<III", 0x00010001, 0x00000001, len(der)) + der
        return base64.b64encode(blob).decode("ascii")
