"""Security headers on every answer, and the page language from the `lang` cookie.

Pure ASGI middleware (not BaseHTTPMiddleware): it costs a dict update per
response, and the locale it sets is seen by the endpoint's thread.
"""

from __future__ import annotations

from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from anyplace.web.i18n import set_locale

__all__ = ["CSP", "SecurityMiddleware"]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
LOCAL_HOSTS = (b"localhost", b"127.0.0.1", b"[::1]")
# FastAPI's own API explorer loads its script from a CDN and runs inline code.
EXEMPT_PREFIXES = ("/docs", "/redoc")


def _cookie(scope: Scope, name: str) -> str | None:
    for key, value in scope.get("headers", []):
        if key == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:
                return None
            morsel = jar.get(name)
            return morsel.value if morsel else None
    return None


def _is_local(scope: Scope) -> bool:
    for key, value in scope.get("headers", []):
        if key == b"host":
            host = (
                value.rsplit(b":", 1)[0]
                if not value.startswith(b"[")
                else value.split(b"]")[0] + b"]"
            )
            return host in LOCAL_HOSTS
    return True


class SecurityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        set_locale(_cookie(scope, "lang"))
        exempt = str(scope.get("path", "")).startswith(EXEMPT_PREFIXES)
        hsts = scope.get("scheme") == "https" or not _is_local(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not exempt:
                    headers.append((b"content-security-policy", CSP.encode()))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ]
                if hsts:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
