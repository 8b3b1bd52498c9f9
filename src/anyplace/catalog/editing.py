"""Changing the catalog from the admin console: one app at a time, or a CSV file of them.

Both go through the loader's `AppSpec`, so an app made in the console obeys
the same rules as one in the YAML files. A CSV import is checked in full
before anything is written: one bad line, and nothing changes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from anyplace.errors import AnyplaceError
from anyplace.importer.specs import AppSpec
from anyplace.store.models import App, Category, Group, Pool

__all__ = [
    "CSV_COLUMNS",
    "CatalogError",
    "Problem",
    "parse_apps_csv",
    "save_apps",
    "spec_from_form",
]

CSV_COLUMNS = (
    "slug",
    "da",
    "en",
    "category",
    "kind",
    "pool",
    "program",
    "url",
    "groups",
    "keywords",
)
LIST_SEPARATOR = ";"


@dataclass(frozen=True)
class Problem:
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{where}{self.field}: {self.message}"


class CatalogError(AnyplaceError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(LIST_SEPARATOR) if part.strip()]


def _spec(values: dict[str, str | None], line: int | None) -> AppSpec | list[Problem]:
    data: dict[str, Any] = {
        key: (value.strip() if isinstance(value, str) else value) for key, value in values.items()
    }
    data = {key: value for key, value in data.items() if value not in (None, "")}
    data["groups"] = _split(values.get("groups"))
    data["keywords"] = _split(values.get("keywords"))
    try:
        return AppSpec.model_validate(data)
    except ValidationError as exc:
        return [
            Problem(line, ".".join(str(p) for p in error["loc"]) or "row", error["msg"])
            for error in exc.errors()
        ]


def spec_from_form(values: dict[str, str | None]) -> AppSpec:
    result = _spec(values, None)
    if isinstance(result, list):
        raise CatalogError(result)
    return result


def parse_apps_csv(text: str) -> list[tuple[int, AppSpec]]:
    """Every row as an AppSpec with its line number, or CatalogError listing each bad line."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [
        c for c in ("slug", "da", "en", "category", "kind") if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise CatalogError([Problem(1, "header", f"missing column {', '.join(missing)}")])
    unknown = [c for c in reader.fieldnames or [] if c not in CSV_COLUMNS]
    if unknown:
        raise CatalogError([Problem(1, "header", f"unknown column {', '.join(unknown)}")])
    specs: list[tuple[int, AppSpec]] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        result = _spec(dict(row), line)
        if isinstance(result, list):
            problems.extend(result)
            continue
        if result.slug in seen:
            problems.append(Problem(line, "slug", f"also on line {seen[result.slug]}"))
            continue
        seen[result.slug] = line
        specs.append((line, result))
    if problems:
        raise CatalogError(problems)
    return specs


def save_apps(db: Session, specs: Iterable[tuple[int | None, AppSpec]]) -> tuple[int, int]:
    """Create or update the apps; all references are checked first. Returns (created, updated)."""
    specs = list(specs)
    categories = {c.slug: c for c in db.scalars(select(Category))}
    pools = {p.name: p for p in db.scalars(select(Pool))}
    groups = {g.name: g for g in db.scalars(select(Group))}
    problems = []
    for line, spec in specs:
        if spec.category not in categories:
            problems.append(Problem(line, "category", f"no category {spec.category!r}"))
        if spec.pool and spec.pool not in pools:
            problems.append(Problem(line, "pool", f"no pool {spec.pool!r}"))
        problems.extend(
            Problem(line, "groups", f"no group {name!r}")
            for name in spec.groups
            if name not in groups
        )
    if problems:
        raise CatalogError(problems)
    existing = {
        a.slug: a for a in db.scalars(select(App).where(App.slug.in_([s.slug for _, s in specs])))
    }
    created = updated = 0
    for _, spec in specs:
        app = existing.get(spec.slug)
        if app is None:
            app = App(slug=spec.slug, enabled=True)
            db.add(app)
            created += 1
        else:
            updated += 1
        app.name_da, app.name_en = spec.da, spec.en
        app.description_da, app.description_en = spec.description_da, spec.description_en
        app.category = categories[spec.category]
        app.kind = spec.kind
        app.pool = pools[spec.pool] if spec.pool else None
        app.program, app.arguments, app.url = spec.program, spec.arguments, spec.url
        app.keywords = list(spec.keywords)
        app.groups = [groups[name] for name in spec.groups]
    db.flush()
    return created, updated
