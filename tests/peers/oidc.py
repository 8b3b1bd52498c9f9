"""A real OpenID provider (panva's oidc-provider on Node.js) and a browser-less way through it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from urllib.parse import urljoin

import httpx
import pytest

from tests.peers.processes import NODE_DIR, free_port, require_tool, serve

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "OidcProvider", "pass_through_provider", "run_provider"]

CLIENT_ID = "anyplace"
CLIENT_SECRET = "test-only-client-secret"


@dataclass(frozen=True)
class OidcProvider:
    issuer: str


@contextmanager
def run_provider(
    redirect_uris: list[str], accounts: Mapping[str, Mapping[str, object]]
) -> Iterator[OidcProvider]:
    node = require_tool("node", "apt-get install nodejs")
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.skip("run: npm ci --prefix tests/node")
    port = free_port()
    env = {
        "PORT": str(port),
        "CLIENT_ID": CLIENT_ID,
        "CLIENT_SECRET": CLIENT_SECRET,
        "REDIRECT_URIS": " ".join(redirect_uris),
        "ACCOUNTS": json.dumps(accounts),
    }
    with serve(
        [node, str(NODE_DIR / "oidc_provider.mjs")], ready="listening", env=env, cwd=NODE_DIR
    ):
        yield OidcProvider(f"http://127.0.0.1:{port}")


_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
_INPUT = re.compile(r"<input([^>]*)>")
_ATTRIBUTE = re.compile(r'(\w+)="([^"]*)"')


def pass_through_provider(authorize_url: str, login: str, stop_at: str) -> str:
    """Sign in at the provider as `login` and consent; return the URL it sends back to `stop_at`.

    The provider's own development login and consent forms are filled in, as a person would.
    """
    with httpx.Client(timeout=10) as browser:
        response = browser.get(authorize_url)
        for _ in range(10):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(stop_at):
                    return location
                response = browser.get(location)
                continue
            form = _FORM.search(response.text)
            if form is None:
                raise AssertionError(f"the provider showed no form:\n{response.text[:2000]}")
            fields = {}
            for attributes in _INPUT.findall(form.group(2)):
                found = dict(_ATTRIBUTE.findall(attributes))
                if "name" in found:
                    fields[found["name"]] = unescape(found.get("value", ""))
            if "login" in fields:
                fields.update(login=login, password="any")
            response = browser.post(
                urljoin(str(response.url), unescape(form.group(1))), data=fields
            )
    raise AssertionError("the provider never sent the browser back")
