"""Reading a whole organisation from a folder of YAML files, checked before anything is stored.

Every ``*.yaml`` file in the folder is a mapping of sections (``users:``,
``apps:`` ...), each a list of entries; a section may be spread over several
files. The first problem found is reported with its file and line, and nothing
is written, so a half-loaded organisation never happens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from anyplace.errors import DataFileError
from anyplace.importer.specs import (
    AppSpec,
    CategorySpec,
    GroupSpec,
    PoolSpec,
    PowerPolicySpec,
    ServerGroupSpec,
    UserSpec,
    VmSizeSpec,
)
from anyplace.importer.yaml_lines import LineDict, line_of, read_yaml

__all__ = ["Dataset", "Located", "read_dataset"]

SpecT = TypeVar("SpecT", bound=BaseModel)


@dataclass(frozen=True)
class Located(Generic[SpecT]):
    """An entry with the place it was read from, for errors found later."""

    spec: SpecT
    file: str
    line: int

    def error(self, message: str) -> DataFileError:
        return DataFileError(self.file, self.line, message)


@dataclass
class Dataset:
    vm_sizes: list[Located[VmSizeSpec]] = field(default_factory=list)
    groups: list[Located[GroupSpec]] = field(default_factory=list)
    users: list[Located[UserSpec]] = field(default_factory=list)
    categories: list[Located[CategorySpec]] = field(default_factory=list)
    apps: list[Located[AppSpec]] = field(default_factory=list)
    power_policies: list[Located[PowerPolicySpec]] = field(default_factory=list)
    pools: list[Located[PoolSpec]] = field(default_factory=list)
    server_groups: list[Located[ServerGroupSpec]] = field(default_factory=list)


SECTIONS: dict[str, type[BaseModel]] = {
    "vm_sizes": VmSizeSpec,
    "groups": GroupSpec,
    "users": UserSpec,
    "categories": CategorySpec,
    "apps": AppSpec,
    "power_policies": PowerPolicySpec,
    "pools": PoolSpec,
    "server_groups": ServerGroupSpec,
}


def read_dataset(folder: Path) -> Dataset:
    """Read and check every YAML file in `folder`; raise `DataFileError` at the first problem."""
    if not folder.is_dir():
        raise DataFileError(str(folder), None, "not a folder")
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    if not files:
        raise DataFileError(str(folder), None, "no .yaml files in this folder")
    dataset = Dataset()
    for path in files:
        _read_file(path, dataset)
    _check_references(dataset)
    return dataset


def _read_file(path: Path, dataset: Dataset) -> None:
    document = read_yaml(path)
    if document is None:
        return
    if not isinstance(document, LineDict):
        raise DataFileError(str(path), 1, "expected a mapping of sections (users:, apps: ...)")
    for section, entries in document.items():
        line = document.key_lines[section]
        if section not in SECTIONS:
            known = ", ".join(SECTIONS)
            raise DataFileError(str(path), line, f"unknown section {section!r}; known: {known}")
        if not isinstance(entries, list):
            raise DataFileError(str(path), line, f"{section}: expected a list of entries")
        target: list[Located[Any]] = getattr(dataset, section)
        for index, entry in enumerate(entries):
            target.append(
                _validate(
                    SECTIONS[section], entry, path, section=section, index=index, section_line=line
                )
            )


def _validate(
    model: type[SpecT], entry: Any, path: Path, *, section: str, index: int, section_line: int
) -> Located[SpecT]:
    entry_line = entry.line if isinstance(entry, LineDict) else section_line
    if not isinstance(entry, LineDict):
        raise DataFileError(str(path), entry_line, f"{section}[{index}]: expected a mapping")
    try:
        spec = model.model_validate(entry)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first["loc"])
        line = line_of(entry, loc) or entry_line
        where = ".".join(str(part) for part in loc)
        label = _label(entry)
        prefix = f"{section} {label}" if label else f"{section}[{index}]"
        field_part = f" {where}:" if where else ":"
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden" and loc:
            message = f"unknown key {loc[-1]!r}"
            field_part = ":"
        raise DataFileError(str(path), line, f"{prefix}{field_part} {message}") from None
    return Located(spec, str(path), entry_line)


def _label(entry: LineDict) -> str:
    for key in ("name", "slug", "username"):
        value = entry.get(key)
        if isinstance(value, str):
            return repr(value)
    return ""


def _unique(
    entries: list[Located[SpecT]], key: Callable[[SpecT], str], what: str
) -> dict[str, Located[SpecT]]:
    seen: dict[str, Located[SpecT]] = {}
    for entry in entries:
        name = key(entry.spec)
        if name in seen:
            first = seen[name]
            raise entry.error(f"{what} {name!r} is already defined at {first.file}:{first.line}")
        seen[name] = entry
    return seen


def _check_references(data: Dataset) -> None:
    vm_sizes = _unique(data.vm_sizes, lambda s: s.name, "vm size")
    groups = _unique(data.groups, lambda s: s.name, "group")
    _unique(data.users, lambda s: s.username, "user")
    categories = _unique(data.categories, lambda s: s.slug, "category")
    _unique(data.apps, lambda s: s.slug, "app")
    policies = _unique(data.power_policies, lambda s: s.name, "power policy")
    pools = _unique(data.pools, lambda s: s.name, "pool")
    _unique(data.server_groups, lambda s: s.name, "server group")

    def need(entry: Located[Any], known: dict[str, Any], name: str | None, what: str) -> None:
        if name is not None and name not in known:
            raise entry.error(f"unknown {what} {name!r}")

    for user in data.users:
        for group in user.spec.groups:
            need(user, groups, group, "group")
    for app in data.apps:
        need(app, categories, app.spec.category, "category")
        need(app, pools, app.spec.pool, "pool")
        for group in app.spec.groups:
            need(app, groups, group, "group")
    machine_names: dict[str, Located[Any]] = {}
    for pool in data.pools:
        need(pool, vm_sizes, pool.spec.vm_size, "vm size")
        need(pool, policies, pool.spec.power_policy, "power policy")
        hosts = pool.spec.machines()
        for host in hosts:
            need(pool, vm_sizes, host.vm_size, "vm size")
        _claim_names(machine_names, pool, [host.name for host in hosts])
        if pool.spec.power_policy is not None:
            policy = policies[pool.spec.power_policy].spec
            minimum = policy.largest_minimum(len(hosts))
            if minimum > len(hosts):
                raise pool.error(
                    f"power policy {policy.name!r} keeps {minimum} hosts on, "
                    f"but pool {pool.spec.name!r} has only {len(hosts)}"
                )
    for server_group in data.server_groups:
        need(server_group, vm_sizes, server_group.spec.vm_size, "vm size")
        need(server_group, policies, server_group.spec.power_policy, "power policy")
        for server in server_group.spec.servers:
            need(server_group, vm_sizes, server.vm_size, "vm size")
        _claim_names(machine_names, server_group, [s.name for s in server_group.spec.servers])


def _claim_names(claimed: dict[str, Located[Any]], owner: Located[Any], names: list[str]) -> None:
    for name in names:
        if name in claimed:
            first = claimed[name]
            raise owner.error(f"machine {name!r} is already defined at {first.file}:{first.line}")
        claimed[name] = owner
