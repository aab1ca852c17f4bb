"""Fixtures of the exporter tests: a stored sample snapshot, free ports, the Debian binaries."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"


def free_port() -> int:
    """A free TCP port on loopback (bind to 0, read it, release it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def need_binary(name: str) -> str:
    """Path of a Debian binary the test runs for real.

    Missing: skip with the reason on a developer machine; fail in CI, where
    scripts/system-deps.sh (make system-deps) installs it.
    """
    path = shutil.which(name)
    if path:
        return path
    from tests.conftest import missing

    missing("prometheus", f"{name} is not installed (Debian package; `make system-deps` installs it)")


@pytest.fixture
def sample_engine(engine):
    """The project store (SQLite and PostgreSQL) holding the sample snapshot of sample.py."""
    from tests.exporter.sample import write_sample_snapshot

    write_sample_snapshot(engine)
    return engine
