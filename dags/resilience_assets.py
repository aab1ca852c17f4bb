"""The assets the resilience DAGs share (no DAG here: the DAG processor parses it and finds none).

The DAG files import it as a sibling module: the DAG processor and the task runner put the DAG
bundle's folder on ``sys.path`` (``BundleDagBag``); ``tests/dags/conftest.py`` does the same.

- ``STATE``: the project store's state (``resilience://store/state``). **resilience_ingest**
  emits an event on it (through ``STATE_UPDATES``) whenever new rows were stored;
  **resilience_analyze** and **resilience_restore** are scheduled on it.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias

STATE = Asset("resilience://store/state")
STATE_UPDATES = AssetAlias("resilience-store-updates")
