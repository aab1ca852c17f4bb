"""Helpers of the hardening tests: run the real ``resilience`` command, dump tables to compare."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from resilience.store import tables as t

ROOT = Path(__file__).resolve().parents[2]

#: Columns that differ between two equal runs (surrogate keys, wall-clock stamps, file paths).
VOLATILE = {"id", "created_at", "ingested_at", "path"}


def run_cli(args: list[str], *, home: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """Run ``python -m resilience.cli ARGS`` as an operator would (its own process, real exit code)."""
    full_env = {**os.environ, "RESILIENCE_HOME": str(home), "GX_ANALYTICS_ENABLED": "false", **env}
    full_env.pop("RESILIENCE_DB_URL", None)
    full_env.update({k: v for k, v in env.items()})
    return subprocess.run(
        [sys.executable, "-m", "resilience.cli", *args], cwd=home, env=full_env,
        capture_output=True, text=True, timeout=timeout, check=False,
    )


def dump(engine: Engine, names: tuple[str, ...] | None = None) -> dict[str, list[tuple]]:
    """Every row of the data tables, volatile columns left out, sorted: equal runs dump equal."""
    names = names or (
        "nodes", "links", "node_status", "node_status_history", "link_status",
        "link_status_history", "power_status", "power_status_history", "quarantine", "feed_files",
    )
    out: dict[str, list[tuple]] = {}
    with engine.connect() as conn:
        for name in names:
            table = t.metadata.tables[name]
            cols = [c for c in table.c if c.name not in VOLATILE]
            out[name] = sorted((tuple(r) for r in conn.execute(select(*cols))), key=repr)
    return out


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project home of its own (settings, archive under ``var/``) for in-process API calls."""
    monkeypatch.setenv("RESILIENCE_HOME", str(tmp_path))
    monkeypatch.delenv("RESILIENCE_DB_URL", raising=False)
    return tmp_path
