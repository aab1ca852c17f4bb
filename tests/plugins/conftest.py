"""The plugin tests share the DAG tests' private Airflow home (set before Airflow is imported)."""

from tests.dags.conftest import AIRFLOW_ENV, ROOT, airflow_db, dagbag  # noqa: F401
