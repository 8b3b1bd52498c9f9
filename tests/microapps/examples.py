"""The example microapps, copied for a test and pointed at a test's target server."""

from __future__ import annotations

import shutil
from pathlib import Path

from anyplace.config import Settings

__all__ = ["EXAMPLES", "examples_for", "with_microapps"]

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "microapps"
DEMO_TARGETS = "http://127.0.0.1:8000/demo/targets"


def examples_for(folder: Path, target_url: str) -> Path:
    """A copy of examples/microapps whose REST systems are all `target_url`."""
    shutil.copytree(EXAMPLES, folder)
    connectors = folder / "connectors.yaml"
    connectors.write_text(connectors.read_text().replace(DEMO_TARGETS, target_url))
    return folder


def with_microapps(settings: Settings, folder: Path, **options: object) -> Settings:
    microapps = settings.microapps.model_copy(update={"folder": str(folder), **options})
    return settings.model_copy(update={"microapps": microapps})
