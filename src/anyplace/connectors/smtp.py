"""E-mail: one message per delivery, over SMTP with STARTTLS or TLS.

Settings: `host`, `port` (587), `security` (`starttls`, `tls` or `none`),
`username`, `password`, `sender`. A request carries `to` (one address or a
list), `subject`, `body` and optionally `cc`. The message's Message-ID is made
from the idempotency key, so a mail system (or its reader) can recognise a
repeat; SMTP itself cannot refuse one.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from anyplace.connectors.base import Permanent, Transient

__all__ = ["SmtpConnector"]


def _addresses(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(item) for item in value or []]


class SmtpConnector:
    def __init__(self, settings: Mapping[str, Any]) -> None:
        if not settings.get("host") or not settings.get("sender"):
            raise Permanent("an smtp connector needs host and sender")
        self.host = str(settings["host"])
        self.port = int(settings.get("port", 587))
        self.security = str(settings.get("security", "starttls"))
        self.username = settings.get("username")
        self.password = settings.get("password")
        self.sender = str(settings["sender"])
        self.ca = settings.get("ca")

    def _message(self, request: Mapping[str, Any], idempotency_key: str) -> EmailMessage:
        to = _addresses(request.get("to"))
        if not to:
            raise Permanent("the message has no recipient")
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = ", ".join(to)
        if request.get("cc"):
            message["Cc"] = ", ".join(_addresses(request["cc"]))
        message["Subject"] = str(request.get("subject", ""))
        message["Message-ID"] = f"<{idempotency_key.replace(':', '.')}@anyplace>"
        message.set_content(str(request.get("body", "")))
        return message

    def deliver(self, request: Mapping[str, Any], *, idempotency_key: str, timeout: float) -> str:
        message = self._message(request, idempotency_key)
        context = ssl.create_default_context(cafile=self.ca or None)
        try:
            if self.security == "tls":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=timeout, context=context
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=timeout)
            with client:
                if self.security == "starttls":
                    client.starttls(context=context)
                if self.username:
                    client.login(str(self.username), str(self.password or ""))
                refused = client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            raise Permanent(f"every recipient was refused: {sorted(exc.recipients)}") from None
        except smtplib.SMTPAuthenticationError:
            raise Permanent("the mail server refused the login") from None
        except smtplib.SMTPResponseException as exc:
            error = f"the mail server answered {exc.smtp_code}"
            raise (Permanent(error) if 500 <= exc.smtp_code < 600 else Transient(error)) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise Transient(f"cannot send mail: {type(exc).__name__}") from None
        if refused:
            return f"sent; refused: {', '.join(sorted(refused))}"[:400]
        return f"sent {message['Message-ID']}"

    def close(self) -> None:
        pass
