"""`anyplace microapps check`, `anyplace secret` and `anyplace audit person`, as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from anyplace.clock import VirtualClock
from anyplace.errors import Permanent
from anyplace.microapps.definitions import Library
from anyplace.microapps.outbox import submit
from anyplace.microapps.secrets import SecretStore
from anyplace.store.access import Store
from anyplace.store.models import AuditEvent, ConnectorSecret
from tests.microapps.examples import EXAMPLES, examples_for


def anyplace(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANYPLACE_")}
    clean["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "anyplace", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env={**clean, **(env or {})},
        timeout=120,
        check=False,
    )


def test_check_lists_the_microapps_or_every_problem_with_file_and_line(tmp_path: Path) -> None:
    good = anyplace("microapps", "check", str(EXAMPLES))
    assert good.returncode == 0, good.stderr
    assert "ok flytning" in good.stdout
    folder = examples_for(tmp_path / "m", "http://127.0.0.1:1")
    path = folder / "flytning.yaml"
    path.write_text(path.read_text().replace("type: postal_code", "type: postcode"))
    other = folder / "ny-medarbejder.yaml"
    other.write_text(other.read_text().replace("connector: payroll", "connector: nowhere"))
    bad = anyplace("microapps", "check", str(folder))
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    lines = bad.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: {path}:")
    assert any("fields.3.type" in line for line in lines)
    assert any(f"{other}:" in line and "no connector 'nowhere'" in line for line in lines)


def test_a_secret_is_stored_encrypted_and_never_printed(store: Store) -> None:
    key = anyplace("secret", "key").stdout.strip()
    env = {"ANYPLACE_DATABASE_URL": store.url, "ANYPLACE_MICROAPPS_SECRET_KEY": key}
    stored = anyplace(
        "secret",
        "set",
        "payroll_db_url",
        env=env,
        stdin="postgresql://payroll:hemmelig@db/payroll\n",
    )
    assert stored.returncode == 0, stored.stderr
    assert "hemmelig" not in stored.stdout + stored.stderr
    with store.sessions() as session:
        row = session.get(ConnectorSecret, "payroll_db_url")
        assert row is not None
        assert b"hemmelig" not in row.ciphertext
    assert (
        SecretStore(store, key).get("payroll_db_url") == "postgresql://payroll:hemmelig@db/payroll"
    )
    wrong_key = anyplace("secret", "key").stdout.strip()
    with pytest.raises(Permanent, match="another key"):
        SecretStore(store, wrong_key).get("payroll_db_url")


def test_the_person_report_lists_what_is_known_about_one_person_and_is_audited(
    store: Store, clock: VirtualClock, library: Library
) -> None:
    values = {
        "cpr": "0101701235",
        "adresse": "Torvet 1",
        "postnummer": "8600",
        "by": "Silkeborg",
        "flyttedato": "2026-12-15",
    }
    with store.transaction() as session:
        submit(session, clock, library, "flytning", by="mette", values=values)
        submit(
            session, clock, library, "flytning", by="mette", values={**values, "cpr": "020270-1234"}
        )
    report = anyplace("audit", "person", "010170-1235", env={"ANYPLACE_DATABASE_URL": store.url})
    assert report.returncode == 0, report.stderr
    assert "010170-1235: 1 events, 1 submissions" in report.stdout
    assert "microapp-submit" in report.stdout
    assert "020270-1234" not in report.stdout
    with store.sessions() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "person-report")
        ).one()
        assert event.subject == "010170-1235"
