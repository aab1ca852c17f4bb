"""Airflow for the DAG tests: a private AIRFLOW_HOME (SQLite metadata DB) migrated once.

``make test`` runs pytest with no AIRFLOW_HOME: it is set here, before anything imports
Airflow, to a temporary folder per test process, with the repository's dags/ and plugins/.
Every test that runs Airflow is marked ``airflow`` (and put in one xdist group); each test
process migrates its own metadata database once, so workers never share one. The dags/ folder
is put on ``sys.path`` as the DAG processor and the task runner do (``BundleDagBag``), so that
the DAG files import their shared module ``resilience_assets``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# One private Airflow home per test process (xdist workers do not share a metadata database).
_HOME = tempfile.mkdtemp(prefix=f"airflow-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}-")
AIRFLOW_ENV = {
    "AIRFLOW_HOME": _HOME,
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_HOME}/airflow.db",
    "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
}
os.environ.update(AIRFLOW_ENV)
if str(ROOT / "dags") not in sys.path:
    sys.path.append(str(ROOT / "dags"))


@pytest.fixture(scope="session")
def airflow_db() -> str:
    """Migrate the private Airflow metadata database (once per test process)."""
    airflow = Path(sys.executable).with_name("airflow")
    marker = Path(_HOME) / ".migrated"
    if not marker.exists():
        subprocess.run([str(airflow), "db", "migrate"], check=True, env={**os.environ, **AIRFLOW_ENV},
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=600)
        marker.touch()
    return _HOME


@pytest.fixture(scope="session")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))
