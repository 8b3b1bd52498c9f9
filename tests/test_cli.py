"""The `anyplace` command as an operator uses it: a real process, real output, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from anyplace.demo import demo_data_dir
from anyplace.store.access import Store
from anyplace.store.migrate import head_revision


def anyplace(
    *args: str, url: str | None = None, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANYPLACE_")}
    env["COLUMNS"] = "200"
    if url is not None:
        env["ANYPLACE_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "anyplace", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for part in parts:
        assert part in lines[0]


def test_upgrade_load_token_and_list(empty_store: Store) -> None:
    url = empty_store.engine.url.render_as_string(hide_password=False)

    refused = anyplace("apps", "list", url=url)
    assert_one_line_error(refused, "is empty", "anyplace db upgrade")

    upgraded = anyplace("db", "upgrade", url=url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"upgraded from empty to {head_revision()}" in upgraded.stdout

    loaded = anyplace("load", str(demo_data_dir()), url=url)
    assert loaded.returncode == 0, loaded.stderr
    assert "users" in loaded.stdout
    assert "1600" in loaded.stdout

    token = anyplace("token", "create", "--name", "ci", "--admin", url=url)
    assert token.returncode == 0, token.stderr
    assert token.stdout.strip().splitlines()[-1].startswith("ap_")
    assert len(token.stdout.strip().splitlines()) == 1

    apps = anyplace("apps", "list", "--json", url=url)
    assert apps.returncode == 0, apps.stderr
    listed = json.loads(apps.stdout)
    assert len(listed) == 250
    assert {"slug", "name", "category", "kind", "pool"} <= set(listed[0])

    pools = anyplace("pools", "list", "--json", url=url)
    assert {pool["name"] for pool in json.loads(pools.stdout)} == {
        "generel",
        "gis",
        "legacy32",
        "hjemmepleje",
    }
    table = anyplace("pools", "list", url=url)
    assert "generel" in table.stdout
    assert "kontortid" in table.stdout


def test_user_add_and_a_users_apps(demo_store: Store) -> None:
    url = demo_store.engine.url.render_as_string(hide_password=False)
    added = anyplace(
        "user", "add", "kalo", "--name", "Karen Lorentzen", "--group", "alle",
        "--group", "jobcenter", "--password-stdin", url=url, stdin="en lang adgangskode\n",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added user kalo" in added.stdout
    again = anyplace("user", "add", "kalo", "--name", "K", "--no-password", url=url)
    assert_one_line_error(again, "'kalo' already exists")
    short = anyplace("user", "add", "bo", "--name", "Bo", "--password-stdin", url=url, stdin="x\n")
    assert_one_line_error(short, "at least 8 characters")
    unknown = anyplace(
        "user", "add", "ib", "--name", "Ib", "--group", "nope", "--no-password", url=url
    )
    assert_one_line_error(unknown, "no group named 'nope'")

    apps = json.loads(anyplace("apps", "list", "--json", "--user", "kalo", url=url).stdout)
    slugs = {app["slug"] for app in apps}
    assert "kontanthjaelp" in slugs
    assert "omsorgsjournal" not in slugs
    token = anyplace("token", "create", "--name", "kalo", "--user", "kalo", url=url)
    assert token.returncode == 0
    nobody = anyplace("token", "create", "--name", "x", url=url)
    assert_one_line_error(nobody, "--admin", "--user")


def test_a_bad_data_folder_names_file_and_line(store: Store, tmp_path: Path) -> None:
    url = store.engine.url.render_as_string(hide_password=False)
    (tmp_path / "apps.yaml").write_text("apps:\n  - {slug: Word Processor}\n", encoding="utf-8")
    result = anyplace("load", str(tmp_path), url=url)
    assert_one_line_error(result, f"{tmp_path / 'apps.yaml'}:2:", "slug")


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("[database]\nurl = 'mysql://x'\n", ["anyplace.toml:2:", "database.url", "sqlite://"]),
        ("[server]\nport = 'eighty'\n", ["anyplace.toml:2:", "server.port"]),
        ("[server]\nport = 80\nprot = 81\n", ["anyplace.toml:3:", "server.prot", "Extra inputs"]),
        ("[server\nport = 80\n", ["anyplace.toml:1:", "invalid TOML"]),
    ],
)
def test_a_bad_config_file_names_file_line_and_key(
    tmp_path: Path, config: str, expected: list[str]
) -> None:
    (tmp_path / "anyplace.toml").write_text(config, encoding="utf-8")
    assert_one_line_error(anyplace("db", "current", cwd=tmp_path), *expected)


def test_a_missing_config_file_and_an_unreachable_database(tmp_path: Path) -> None:
    missing = anyplace("--config", str(tmp_path / "nope.toml"), "db", "current")
    assert_one_line_error(missing, "nope.toml", "not found")
    down = anyplace("pools", "list", url="postgresql://someone:s3cret@127.0.0.1:1/x")
    assert_one_line_error(down, "cannot open the database")
    assert "s3cret" not in down.stderr, "a password never reaches the output"
