"""OpenID Connect sign-in (authorization code flow with PKCE), as Microsoft Entra ID does it.

The browser is sent to the provider with a fresh `state`, `nonce` and PKCE
challenge; these three are kept in a short-lived signed cookie (not the store:
an abandoned sign-in leaves nothing behind). On the way back the state must
match, the code is exchanged with the verifier, and the ID token's signature
(from the provider's JWKS), issuer, audience, expiry and nonce are all checked
before anyone is signed in. HTTP is httpx; the PKCE challenge is Authlib's; the
JWT checks are joserfc's (Authlib's JOSE successor).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from anyplace.config import OidcSettings
from anyplace.errors import AnyplaceError

__all__ = ["OidcClient", "OidcError", "OidcIdentity", "PendingSignIn"]

DISCOVERY_TTL_SECONDS = 3600.0
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")


class OidcError(AnyplaceError):
    """The sign-in cannot be trusted or did not complete; the message is safe to show."""


@dataclass(frozen=True)
class PendingSignIn:
    """What must come back unchanged from the provider; kept in the signed cookie."""

    state: str
    nonce: str
    verifier: str
    next_url: str = "/"


@dataclass(frozen=True)
class OidcIdentity:
    subject: str
    username: str
    name: str
    email: str | None
    groups: tuple[str, ...]


@dataclass
class _Metadata:
    document: dict[str, Any]
    keys: KeySet
    fetched: float = field(default_factory=time.monotonic)


class OidcClient:
    """One configured provider; discovery and keys are fetched lazily and cached for an hour."""

    def __init__(
        self,
        settings: OidcSettings,
        *,
        http: httpx.Client | None = None,
        now: Callable[[], float] = time.time,
    ) -> None:
        if not (settings.issuer and settings.client_id and settings.client_secret):
            raise OidcError("OIDC needs issuer, client_id and client_secret")
        self.settings = settings
        self.issuer = settings.issuer.rstrip("/")
        self.client_id = settings.client_id
        verify: str | bool = settings.ca_file or True
        self._http = http or httpx.Client(timeout=10, verify=verify)
        self._now = now
        self._metadata: _Metadata | None = None
        self._lock = threading.Lock()

    def _load(self, *, refresh: bool = False) -> _Metadata:
        with self._lock:
            fresh = self._metadata is not None and (
                time.monotonic() - self._metadata.fetched < DISCOVERY_TTL_SECONDS
            )
            if self._metadata is not None and fresh and not refresh:
                return self._metadata
            try:
                document = self._get_json(f"{self.issuer}/.well-known/openid-configuration")
                if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                    raise OidcError("the provider's discovery document names another issuer")
                jwks: Any = self._get_json(str(document["jwks_uri"]))
                keys = KeySet.import_key_set(jwks)
            except (KeyError, ValueError, JoseError) as exc:
                raise OidcError(f"the provider's metadata is unusable: {exc}") from None
            self._metadata = _Metadata(document, keys)
            return self._metadata

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = self._http.get(url)
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"cannot reach the identity provider: {exc}") from None
        if not isinstance(data, dict):
            raise OidcError(f"{url} did not return a JSON object")
        return data

    def begin(self, redirect_uri: str, next_url: str = "/") -> tuple[str, PendingSignIn]:
        """The provider URL to send the browser to, and what to keep until it returns."""
        endpoint = str(self._load().document["authorization_endpoint"])
        pending = PendingSignIn(
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            verifier=secrets.token_urlsafe(48),
            next_url=next_url,
        )
        query = {
            "response_type": "code",
            "client_id": self.settings.client_id,
            "redirect_uri": redirect_uri,
            "scope": self.settings.scopes,
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": create_s256_code_challenge(pending.verifier),  # type: ignore[no-untyped-call]
            "code_challenge_method": "S256",
        }
        return f"{endpoint}?{urlencode(query)}", pending

    def finish(
        self, params: dict[str, str], pending: PendingSignIn, redirect_uri: str
    ) -> OidcIdentity:
        """Check the provider's answer and the ID token; the signed-in person's identity."""
        if "error" in params:
            detail = params.get("error_description") or params["error"]
            raise OidcError(f"the identity provider refused the sign-in: {detail}")
        if not secrets.compare_digest(params.get("state", ""), pending.state):
            raise OidcError("the sign-in's state does not match; start again")
        if "iss" in params and params["iss"].rstrip("/") != self.issuer:
            raise OidcError("the answer came from another issuer")  # RFC 9207 mix-up defence
        code = params.get("code")
        if not code:
            raise OidcError("the identity provider sent no code")
        metadata = self._load()
        tokens = self._exchange(
            str(metadata.document["token_endpoint"]), code, pending, redirect_uri
        )
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError("the identity provider sent no ID token")
        claims = self._verify(id_token, pending.nonce, metadata)
        return self._identity(claims)

    def _exchange(
        self, endpoint: str, code: str, pending: PendingSignIn, redirect_uri: str
    ) -> dict[str, Any]:
        secret = self.settings.client_secret
        assert secret is not None  # checked in __init__
        try:
            response = self._http.post(
                endpoint,
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                    "code_verifier": pending.verifier,
                },
                auth=(self.client_id, secret.get_secret_value()),
            )
        except httpx.HTTPError as exc:
            raise OidcError(f"cannot reach the identity provider: {exc}") from None
        if response.status_code != httpx.codes.OK:
            raise OidcError(f"the identity provider refused the code ({response.status_code})")
        data = response.json()
        return data if isinstance(data, dict) else {}

    def _verify(self, id_token: str, nonce: str, metadata: _Metadata) -> dict[str, Any]:
        try:
            try:
                token = jwt.decode(id_token, metadata.keys, algorithms=list(ALGORITHMS))
            except JoseError:
                # The provider may have rolled its keys since we cached them.
                token = jwt.decode(id_token, self._load(refresh=True).keys, algorithms=ALGORITHMS)
            registry = jwt.JWTClaimsRegistry(
                now=lambda: int(self._now()),
                leeway=60,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True},
                exp={"essential": True},
                nonce={"essential": True, "value": nonce},
            )
            registry.validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OidcError(f"the ID token is not valid: {exc}") from None
        return dict(token.claims)

    def _identity(self, claims: dict[str, Any]) -> OidcIdentity:
        subject = str(claims["sub"])
        username = str(
            claims.get("preferred_username") or claims.get("upn") or claims.get("email") or subject
        )
        raw_groups = claims.get(self.settings.groups_claim) or []
        groups = tuple(str(g) for g in raw_groups) if isinstance(raw_groups, list) else ()
        email = claims.get("email")
        return OidcIdentity(
            subject=subject,
            username=username.lower(),
            name=str(claims.get("name") or username),
            email=str(email) if email else None,
            groups=groups,
        )

    def close(self) -> None:
        self._http.close()
