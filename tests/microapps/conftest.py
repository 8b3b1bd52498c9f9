"""Microapp fixtures: the example library pointed at test targets, and a REST target server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from anyplace.microapps.definitions import Library, read_library
from tests.microapps.examples import EXAMPLES
from tests.peers.asgi import serve_asgi
from tests.peers.http_target import Target


@pytest.fixture
def library() -> Library:
    return read_library(EXAMPLES)


@pytest.fixture
def target() -> Iterator[tuple[Target, str]]:
    served = Target()
    with serve_asgi(served.app()) as url:
        yield served, url
