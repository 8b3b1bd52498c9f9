"""The JSONPath subset lookups use."""

from __future__ import annotations

import pytest

from anyplace.microapps.jsonpath import JsonPathError, pick

ANSWER = {
    "navn": "Mette",
    "adresse": {"vej": "Torvet 1", "post-nr": "8600"},
    "boern": [{"navn": "Ida"}],
}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$", ANSWER),
        ("$.navn", "Mette"),
        ("$.adresse.vej", "Torvet 1"),
        ("$.adresse['post-nr']", "8600"),
        ("$.boern[0].navn", "Ida"),
        ("$.boern[3].navn", None),
        ("$.nothing.here", None),
    ],
)
def test_pick(path: str, value: object) -> None:
    assert pick(ANSWER, path) == value


@pytest.mark.parametrize("bad", ["navn", "$..navn", "$.boern[*]", "$[?(@.x)]"])
def test_paths_beyond_the_subset_are_refused(bad: str) -> None:
    with pytest.raises(JsonPathError):
        pick(ANSWER, bad)
