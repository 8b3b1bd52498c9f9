"""Microapp definitions: the examples load, and every mistake is reported with file and line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from anyplace.microapps.definitions import MultipleErrors, read_library
from tests.microapps.examples import EXAMPLES


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "microapps"
    shutil.copytree(EXAMPLES, target)
    return target


def test_the_examples_are_valid() -> None:
    library = read_library(EXAMPLES)
    assert set(library.microapps) == {"ny-medarbejder", "flytning"}
    new_employee = library.microapps["ny-medarbejder"]
    assert [t.name for t in new_employee.targets] == [
        "katalog",
        "loen",
        "it-bestilling",
        "velkomst",
    ]
    assert new_employee.person_field == "cpr"
    assert len(library.versions["ny-medarbejder"]) == 16


def errors_of(folder: Path) -> list[str]:
    with pytest.raises(MultipleErrors) as caught:
        read_library(folder)
    return [str(problem) for problem in caught.value.problems]


def test_a_field_error_names_the_file_line_and_field(folder: Path) -> None:
    path = folder / "ny-medarbejder.yaml"
    text = path.read_text().replace("type: cpr,", "type: cpr-number,")
    path.write_text(text)
    [error] = errors_of(folder)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "cpr-number" in row)
    assert error.startswith(f"{path}:{line}: fields.0.type:")


def test_a_template_naming_an_unknown_field_is_refused(folder: Path) -> None:
    path = folder / "ny-medarbejder.yaml"
    path.write_text(
        path.read_text().replace(
            '"{{ fornavn }} {{ efternavn }}", department',
            '"{{ fornavn }} {{ mellemnavn }}", department',
        )
    )
    [error] = errors_of(folder)
    assert "targets.1.mapping: no field named mellemnavn" in error
    assert error.startswith(f"{path}:")


def test_a_broken_template_and_an_unknown_connector_are_both_reported(folder: Path) -> None:
    path = folder / "ny-medarbejder.yaml"
    text = (
        path.read_text()
        .replace("connector: payroll", "connector: payrol")
        .replace('condition: "pc"', 'condition: "pc and ("')
    )
    path.write_text(text)
    errors = errors_of(folder)
    assert any("targets.1.connector: no connector 'payrol'" in e for e in errors)
    assert any("targets.2.condition: template error" in e for e in errors)


def test_yaml_syntax_errors_and_references_to_missing_fields(folder: Path) -> None:
    (folder / "broken.yaml").write_text("id: broken\ntitle: {da: x\n")
    path = folder / "flytning.yaml"
    path.write_text(path.read_text().replace("person_field: cpr", "person_field: personnummer"))
    errors = errors_of(folder)
    assert any(e.startswith(f"{folder / 'broken.yaml'}:") and "invalid YAML" in e for e in errors)
    assert any("person_field 'personnummer' is not a field" in e for e in errors)
