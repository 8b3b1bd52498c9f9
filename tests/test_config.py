"""Configuration: file, environment overrides, and errors that name the file, line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from anyplace.config import load_settings
from anyplace.errors import ConfigError


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [
        "ANYPLACE_CONFIG",
        "ANYPLACE_DATABASE_URL",
        "ANYPLACE_SERVER_PORT",
        "ANYPLACE_BROKER_HEARTBEAT_SECONDS",
    ]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "anyplace.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file() -> None:
    settings = load_settings()
    assert settings.database.url == "sqlite:///anyplace.db"
    assert settings.server.port == 8000
    assert settings.cloud.sim_failure_rate == 0.0


def test_the_file_in_the_working_directory_is_read(tmp_path: Path) -> None:
    write(tmp_path, "[server]\nport = 9000\n[broker]\nheartbeat_seconds = 15\n")
    settings = load_settings()
    assert settings.server.port == 9000
    assert settings.broker.heartbeat_seconds == 15


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[database]\nurl = 'sqlite:///file.db'\n[server]\nport = 9000\n")
    monkeypatch.setenv("ANYPLACE_DATABASE_URL", "postgresql://db.example/anyplace")
    monkeypatch.setenv("ANYPLACE_BROKER_HEARTBEAT_SECONDS", "10")
    settings = load_settings(path)
    assert settings.database.url == "postgresql://db.example/anyplace"
    assert settings.server.port == 9000
    assert settings.broker.heartbeat_seconds == 10


def test_anyplace_config_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text("[server]\nport = 8123\n", encoding="utf-8")
    monkeypatch.setenv("ANYPLACE_CONFIG", str(other))
    assert load_settings().server.port == 8123


def test_a_bad_value_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, "# anyplace\n[server]\nhost = '0.0.0.0'\nport = 70000\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}:4: server.port:")
    assert "65535" in str(caught.value)


def test_a_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANYPLACE_SERVER_PORT", "lots")
    with pytest.raises(ConfigError, match=r"^ANYPLACE_SERVER_PORT: "):
        load_settings()


def test_unknown_keys_and_sections_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = 80\n\n[databse]\nurl = 'sqlite://'\n")
    with pytest.raises(ConfigError, match=r"anyplace\.toml:4: databse: Extra inputs"):
        load_settings(path)


def test_invalid_toml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "[server]\nport = = 80\n")
    with pytest.raises(ConfigError, match=r"anyplace\.toml:2: invalid TOML"):
        load_settings(path)


def test_a_named_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(tmp_path / "missing.toml")
