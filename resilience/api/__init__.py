"""The operations of ``resilience`` as Python functions: the one front hall.

The CLI, the Airflow DAGs, the plugin and ``resilience watch`` all call these (the CLI is a thin
layer over them); they call down into the domain packages and the store, and nothing below
calls up into them. Every function takes ``db_url`` (default: settings / ``RESILIENCE_DB_URL`` /
SQLite under ``var/``). Heavy libraries are imported inside the functions that need them, so
importing this package stays cheap (the CLI's start-up, the DAG processor's parse).

Rooms, one idea each:

- :mod:`~resilience.api.state`: database URL, engine, schema, the current state as tables,
  graph (``load_graph``) or compiled model (``load_model``), ``status``;
- :mod:`~resilience.api.feeds`: ``ingest``, the inbox step ``ingest_inbox``, quarantine,
  inventory roles and history;
- :mod:`~resilience.api.snapshots`: ``analyze``, the pipeline's ``analyze_once`` (one snapshot
  per change), ``replay``; :mod:`~resilience.api.live`: the watch's in-memory ``LiveModel``;
- :mod:`~resilience.api.analysis`: ``spof`` and ``forecast`` of the current state;
- :mod:`~resilience.api.request` and :mod:`~resilience.api.whatif`: the what-if request
  (``WhatIfRequest``), its checks and its ``WhatIfResult``;
- :mod:`~resilience.api.reports`: the HTML report, per-operator exports;
- :mod:`~resilience.api.planning`: ``restore`` and ``harden``.

Example
-------
>>> import tempfile
>>> url = f"sqlite:///{tempfile.mkdtemp()}/r.db"
>>> init(url) == url
True
>>> load_graph(db_url=url).number_of_nodes()
0
"""

from __future__ import annotations

from resilience.api.analysis import forecast, spof
from resilience.api.feeds import (
    archive_dir,
    claim_inbox,
    ingest,
    ingest_inbox,
    inventory_history,
    quarantine_list,
    quarantine_retry,
    set_kind,
)
from resilience.api.live import LiveModel
from resilience.api.planning import harden, restore
from resilience.api.reports import (
    display_timezone,
    export_operator,
    has_inventory,
    report,
    report_for,
    snapshot_operators,
)
from resilience.api.request import WhatIfRequest
from resilience.api.snapshots import (
    analyze,
    analyze_once,
    change_mark,
    covering_snapshot,
    find_snapshot,
    latest_outage,
    replay,
    watch_alive,
    watch_heartbeat,
)
from resilience.api.state import (
    engine,
    ensure_schema,
    init,
    load_graph,
    load_model,
    load_state,
    resolve_db_url,
    status,
)
from resilience.api.whatif import (
    WhatIfResult,
    check_scenario,
    run_whatif,
    scenario_from_params,
    whatif,
    whatif_page,
)

__all__ = [
    "LiveModel", "WhatIfRequest", "WhatIfResult", "analyze", "analyze_once", "archive_dir", "change_mark",
    "check_scenario", "covering_snapshot", "display_timezone", "engine", "ensure_schema", "export_operator",
    "claim_inbox", "find_snapshot", "forecast", "harden", "has_inventory", "ingest", "ingest_inbox", "init",
    "inventory_history", "latest_outage", "load_graph", "load_model", "load_state", "quarantine_list",
    "quarantine_retry",
    "replay", "report", "report_for", "resolve_db_url", "restore", "run_whatif", "scenario_from_params",
    "set_kind", "snapshot_operators", "spof", "status", "watch_alive", "watch_heartbeat", "whatif",
    "whatif_page",
]
