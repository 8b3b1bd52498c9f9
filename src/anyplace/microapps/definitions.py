"""Microapp definitions: one YAML file per microapp, kept in git by the IT department.

A definition names who may use it, its form fields and its targets: each target
a connector instance (from `connectors.yaml` in the same folder), a mapping of
the submitted fields to what the system wants (sandboxed Jinja2 templates) and
an optional condition. Everything is checked when the folder is read, and every
problem is reported with its file, line and field, because the people who
write these files fix them from the error message.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from jinja2 import TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from anyplace.errors import DataFileError
from anyplace.importer.yaml_lines import line_of, read_yaml
from anyplace.microapps.jsonpath import JsonPathError, pick
from anyplace.microapps.validators import VALIDATORS

__all__ = [
    "CONNECTORS_FILE",
    "ConnectorSpec",
    "FieldSpec",
    "Library",
    "MicroappSpec",
    "MultipleErrors",
    "TargetSpec",
    "read_library",
    "template_env",
]

CONNECTORS_FILE = "connectors.yaml"
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=64)]
FieldType = Literal[
    "text", "textarea", "number", "date", "boolean", "choice",
    "email", "phone", "cpr", "cvr", "postal_code", "iban",
]  # fmt: skip
ConnectorKind = Literal["rest", "sql", "soap", "smtp", "file"]


def template_env() -> ImmutableSandboxedEnvironment:
    """Templates in definitions run sandboxed: no attribute tricks, no file or network access."""
    return ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=False)


_ENV = template_env()


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Spec):
    da: str
    en: str | None = None

    def get(self, locale: str) -> str:
        return self.en if locale == "en" and self.en else self.da


class Choice(_Spec):
    value: str
    label: Text


class VisibleIf(_Spec):
    field: Slug
    equals: str | bool | int | None = None
    one_of: list[str] | None = None


class Lookup(_Spec):
    """Prefill this field from a system, by another field's value (e.g. an address by CPR)."""

    connector: Slug
    by: Slug
    request: str = ""
    """Appended to the connector's URL, a template over the `by` field: `/borgere/{{ cpr }}`."""
    path: str = "$"
    """Where in the answer the value is (JSONPath: `$.adresse.vej`)."""

    @model_validator(mode="after")
    def _path(self) -> Self:
        try:
            pick({}, self.path)
        except JsonPathError as exc:
            raise ValueError(str(exc)) from None
        return self


class FieldSpec(_Spec):
    name: Slug
    type: FieldType = "text"
    label: Text
    help: Text | None = None
    required: bool = False
    pattern: str | None = None
    choices: list[Choice] = []
    default: str | int | bool | None = None
    max_length: int = Field(default=500, ge=1, le=100_000)
    visible_if: VisibleIf | None = None
    lookup: Lookup | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.type == "choice" and not self.choices:
            raise ValueError("a choice field needs choices")
        if self.type != "choice" and self.choices:
            raise ValueError("only a choice field has choices")
        if self.pattern is not None:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern is not a regular expression: {exc}") from None
        return self


class TargetLimits(_Spec):
    max_attempts: int = Field(default=8, ge=1, le=100)
    base_seconds: float = Field(default=5, gt=0)
    cap_seconds: float = Field(default=1800, gt=0)
    timeout_seconds: float = Field(default=30, gt=0, le=600)


class TargetSpec(_Spec):
    name: Slug
    connector: Slug
    mapping: dict[str, Any]
    """Values are templates (`{{ cpr }}`) or nested mappings and lists of them."""
    condition: str | None = None
    """A Jinja2 expression over the fields; the target is skipped when it is false."""
    limits: TargetLimits = TargetLimits()


class MicroappSpec(_Spec):
    id: Slug
    title: Text
    help: Text | None = None
    groups: list[Slug] = Field(min_length=1)
    person_field: Slug | None = None
    """The field that says which person a submission is about (a CPR number), for GDPR."""
    fields: list[FieldSpec] = Field(min_length=1)
    targets: list[TargetSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _references(self) -> Self:
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"field names must be unique: {', '.join(duplicates)}")
        targets = [t.name for t in self.targets]
        if len(set(targets)) != len(targets):
            raise ValueError("target names must be unique")
        if self.person_field is not None and self.person_field not in names:
            raise ValueError(f"person_field {self.person_field!r} is not a field")
        for spec in self.fields:
            if spec.visible_if is not None and spec.visible_if.field not in names:
                raise ValueError(
                    f"{spec.name}: visible_if names no field {spec.visible_if.field!r}"
                )
            if spec.lookup is not None and spec.lookup.by not in names:
                raise ValueError(f"{spec.name}: lookup by no field {spec.lookup.by!r}")
        return self

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)


class ConnectorSpec(_Spec):
    """One system anyplace delivers to. Secrets are named here, never written here:
    `secret:NAME` is looked up in the encrypted secret store, `env:NAME` in the environment."""

    name: Slug
    kind: ConnectorKind
    settings: dict[str, Any] = {}


@dataclass
class Library:
    """The microapps of a folder, each with the hash of its file (a submission records it)."""

    microapps: dict[str, MicroappSpec] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    connectors: dict[str, ConnectorSpec] = field(default_factory=dict)
    folder: Path | None = None


def _validate(model: type[_Spec], data: Any, path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = tuple(error["loc"])
            line = line_of(data, loc)
            where = ".".join(str(p) for p in loc) or "file"
            problems.append(DataFileError(str(path), line, f"{where}: {error['msg']}"))
        raise MultipleErrors(problems) from None


class MultipleErrors(DataFileError):
    """Every problem found, one line each (file:line: field: message)."""

    def __init__(self, problems: list[DataFileError]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(first.path, first.line, first.detail)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def _templates(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [t for item in value.values() for t in _templates(item)]
    if isinstance(value, list):
        return [t for item in value for t in _templates(item)]
    return []


def _names_used(template: str) -> set[str]:
    parsed = _ENV.parse(template)
    return {node.name for node in parsed.find_all(nodes.Name) if node.ctx == "load"}


CONTEXT_NAMES = {"submission", "microapp", "target", "now", "loop", "true", "false", "none"}


def _check_templates(
    spec: MicroappSpec, data: Any, path: Path, connectors: set[str]
) -> list[DataFileError]:
    problems: list[DataFileError] = []
    known = {f.name for f in spec.fields} | CONTEXT_NAMES
    for index, target in enumerate(spec.targets):
        loc: tuple[int | str, ...] = ("targets", index)
        if target.connector not in connectors:
            problems.append(
                DataFileError(
                    str(path),
                    line_of(data, (*loc, "connector")),
                    f"targets.{index}.connector: no connector {target.connector!r}"
                    f" in {CONNECTORS_FILE}",
                )
            )
        sources = [("mapping", t) for t in _templates(target.mapping)]
        if target.condition:
            sources.append(("condition", "{{ " + target.condition + " }}"))
        for part, template in sources:
            try:
                unknown = _names_used(template) - known
            except TemplateSyntaxError as exc:
                problems.append(
                    DataFileError(
                        str(path),
                        line_of(data, (*loc, part)),
                        f"targets.{index}.{part}: template error: {exc.message}",
                    )
                )
                continue
            if unknown:
                problems.append(
                    DataFileError(
                        str(path),
                        line_of(data, (*loc, part)),
                        f"targets.{index}.{part}: no field named {', '.join(sorted(unknown))}",
                    )
                )
    for index, spec_field in enumerate(spec.fields):
        if spec_field.lookup and spec_field.lookup.connector not in connectors:
            problems.append(
                DataFileError(
                    str(path),
                    line_of(data, ("fields", index, "lookup")),
                    f"fields.{index}.lookup: no connector {spec_field.lookup.connector!r}",
                )
            )
        if spec_field.type in VALIDATORS and spec_field.pattern:
            problems.append(
                DataFileError(
                    str(path),
                    line_of(data, ("fields", index, "pattern")),
                    f"fields.{index}.pattern: a {spec_field.type} field has its own check",
                )
            )
    return problems


def read_library(folder: Path) -> Library:
    """Every microapp in `folder`, or MultipleErrors listing every problem in every file."""
    if not folder.is_dir():
        raise DataFileError(str(folder), None, "not a folder")
    problems: list[DataFileError] = []
    library = Library(folder=folder)
    connectors_path = folder / CONNECTORS_FILE
    if connectors_path.is_file():
        data = read_yaml(connectors_path) or {}
        entries = data.get("connectors", []) if isinstance(data, Mapping) else []
        for index, entry in enumerate(entries):
            try:
                spec = _validate(ConnectorSpec, entry, connectors_path)
            except MultipleErrors as exc:
                problems.extend(
                    DataFileError(p.path, p.line, f"connectors.{index}.{p.detail}")
                    for p in exc.problems
                )
                continue
            library.connectors[spec.name] = spec
    for path in sorted(folder.glob("*.yaml")):
        if path.name == CONNECTORS_FILE:
            continue
        try:
            data = read_yaml(path)
            spec = _validate(MicroappSpec, data, path)
        except MultipleErrors as exc:
            problems.extend(exc.problems)
            continue
        except DataFileError as exc:
            problems.append(exc)
            continue
        problems.extend(_check_templates(spec, data, path, set(library.connectors)))
        if spec.id in library.microapps:
            problems.append(
                DataFileError(str(path), line_of(data, ("id",)), f"id {spec.id!r} is used twice")
            )
        library.microapps[spec.id] = spec
        library.versions[spec.id] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    if problems:
        raise MultipleErrors(problems)
    return library
