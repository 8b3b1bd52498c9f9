"""Reading data folders: the demo municipality, and errors that point at the file and line."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from textwrap import dedent

import pytest

from anyplace.demo import demo_data_dir
from anyplace.domain import AppKind, Phase
from anyplace.errors import DataFileError
from anyplace.importer import read_dataset

BASE = {
    "sizes.yaml": """\
        vm_sizes:
          - {name: D8, vcpus: 8, memory_gb: 32, price_per_hour: 0.75, currency: EUR}
        """,
    "groups.yaml": """\
        groups:
          - {name: alle, display_name: Alle}
        """,
    "catalog.yaml": """\
        categories:
          - {slug: kontor, da: Kontor, en: Office}
        """,
    "pools.yaml": """\
        power_policies:
          - name: kontortid
            schedule:
              - days: [mon, tue, wed, thu, fri]
                phases:
                  - {phase: ramp_up, start: "06:30", min_hosts: 1}
                  - {phase: peak, start: 08:30, min_hosts: 2}
                  - {phase: off_peak, start: 18:30}
        pools:
          - name: generel
            display_name: Generel
            vm_size: D8
            max_sessions_per_host: 10
            power_policy: kontortid
            host_prefix: gen-
            host_count: 3
        """,
}


def write_folder(folder: Path, files: dict[str, str]) -> Path:
    for name, content in {**BASE, **files}.items():
        (folder / name).write_text(dedent(content), encoding="utf-8")
    return folder


def error_for(folder: Path, files: dict[str, str]) -> DataFileError:
    with pytest.raises(DataFileError) as caught:
        read_dataset(write_folder(folder, files))
    return caught.value


def test_the_demo_municipality_is_complete_and_plausible() -> None:
    data = read_dataset(demo_data_dir())
    assert len(data.users) == 1600
    assert len(data.apps) == 250
    servers = sum(len(group.spec.servers) for group in data.server_groups)
    assert 90 <= servers <= 110
    pools = {pool.spec.name: pool.spec for pool in data.pools}
    assert {"generel", "gis", "legacy32", "hjemmepleje"} <= set(pools)
    capacity = sum(len(p.machines()) * p.max_sessions_per_host for p in pools.values())
    assert 800 <= capacity <= 1600, "session capacity should fit 1,600 users' daily peak"
    kinds = {app.spec.kind for app in data.apps}
    assert kinds == {AppKind.HOSTED, AppKind.DESKTOP, AppKind.WEB}
    assert all(app.spec.groups for app in data.apps), "every app is entitled to some group"
    it = [user for user in data.users if user.spec.department == "it"]
    assert len(it) == 17


def test_a_small_folder_reads_with_times_and_generated_hosts(tmp_path: Path) -> None:
    data = read_dataset(write_folder(tmp_path, {}))
    policy = data.power_policies[0].spec
    phases = policy.schedule[0].phases
    # 08:30 and 18:30 unquoted are base-60 numbers to YAML 1.1; they must still be times.
    assert [(p.phase, p.start) for p in phases] == [
        (Phase.RAMP_UP, time(6, 30)),
        (Phase.PEAK, time(8, 30)),
        (Phase.OFF_PEAK, time(18, 30)),
    ]
    assert [host.name for host in data.pools[0].spec.machines()] == ["gen-01", "gen-02", "gen-03"]


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    error = error_for(tmp_path, {"apps.yaml": "apps:\n  - slug: word\n    da: a: b\n"})
    assert error.path.endswith("apps.yaml")
    assert error.line == 3
    assert "invalid YAML" in str(error)


def test_unknown_key_names_the_key_and_its_line(tmp_path: Path) -> None:
    error = error_for(
        tmp_path,
        {
            "apps.yaml": """\
                apps:
                  - slug: word
                    da: Word
                    en: Word
                    category: kontor
                    kind: hosted
                    pool: generel
                    program: "||word"
                    colour: blue
                """
        },
    )
    assert (Path(error.path).name, error.line) == ("apps.yaml", 9)
    assert "'word'" in str(error)
    assert "unknown key 'colour'" in str(error)


def test_wrong_value_names_the_field(tmp_path: Path) -> None:
    error = error_for(
        tmp_path,
        {
            "apps.yaml": """\
                apps:
                  - {slug: word, da: Word, en: Word, category: kontor, kind: web, url: "https://a.dk"}
                  - {slug: calc, da: Lommeregner, en: Calculator, category: kontor, kind: remote}
                """
        },
    )
    assert error.line == 3
    assert "kind" in str(error)
    assert "'hosted', 'desktop' or 'web'" in str(error)


def test_a_hosted_app_without_a_program_is_refused(tmp_path: Path) -> None:
    error = error_for(
        tmp_path,
        {
            "apps.yaml": "apps:\n"
            "  - {slug: w, da: W, en: W, category: kontor, kind: hosted, pool: generel}\n"
        },
    )
    assert error.line == 2
    assert str(error).endswith(
        "apps 'w': a hosted app needs a program (the RemoteApp alias, e.g. ||calc)"
    )


def test_unknown_reference_points_at_the_referring_entry(tmp_path: Path) -> None:
    error = error_for(
        tmp_path,
        {
            "apps.yaml": """\
                apps:
                  - {slug: word, da: Word, en: Word, category: kontor, kind: hosted,
                     pool: generel, program: "||w"}
                  - {slug: gis, da: GIS, en: GIS, category: kontor, kind: hosted,
                     pool: tung, program: "||gis"}
                """
        },
    )
    assert (Path(error.path).name, error.line) == ("apps.yaml", 4)
    assert "unknown pool 'tung'" in str(error)


def test_duplicates_across_files_name_the_first_place(tmp_path: Path) -> None:
    error = error_for(
        tmp_path, {"more.yaml": "groups:\n  - {name: alle, display_name: Alle igen}\n"}
    )
    assert "group 'alle' is already defined at" in str(error)
    assert "groups.yaml:2" in str(error)
    assert Path(error.path).name == "more.yaml"


def test_a_minimum_above_the_pool_size_is_refused(tmp_path: Path) -> None:
    pools = BASE["pools.yaml"].replace("min_hosts: 2", "min_hosts: 5")
    error = error_for(tmp_path, {"pools.yaml": pools})
    assert "keeps 5 hosts on" in str(error)
    assert "has only 3" in str(error)


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    pools = BASE["pools.yaml"].replace(
        "- name: kontortid\n", "- name: kontortid\n            timezone: Europe/Kobenhavn\n"
    )
    error = error_for(tmp_path, {"pools.yaml": pools})
    assert "unknown time zone 'Europe/Kobenhavn'" in str(error)
    assert error.line == 3


def test_a_weekday_in_two_schedules_is_refused(tmp_path: Path) -> None:
    pools = BASE["pools.yaml"].replace(
        "        pools:",
        "              - days: [fri, sat]\n"
        "                phases: [{phase: off_peak, start: '00:00'}]\n"
        "        pools:",
    )
    error = error_for(tmp_path, {"pools.yaml": pools})
    assert "overlapping schedules: fri" in str(error)


def test_unknown_vm_size_is_refused(tmp_path: Path) -> None:
    pools = BASE["pools.yaml"].replace("vm_size: D8", "vm_size: D9")
    error = error_for(tmp_path, {"pools.yaml": pools})
    assert "unknown vm size 'D9'" in str(error)


def test_unknown_section_and_empty_folder(tmp_path: Path) -> None:
    error = error_for(tmp_path, {"x.yaml": "servers:\n  - {name: a}\n"})
    assert "unknown section 'servers'" in str(error)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataFileError, match=r"no \.yaml files"):
        read_dataset(empty)


def test_phases_out_of_order_are_refused(tmp_path: Path) -> None:
    pools = BASE["pools.yaml"].replace("start: 18:30", "start: 07:30")
    error = error_for(tmp_path, {"pools.yaml": pools})
    assert "phases overlap: peak at 08:30 comes after off_peak at 07:30" in str(error)
