"""Grafana dashboards as code: plain dicts written as JSON under ``config/grafana/dashboards/``.

A build-time generator, not exporter runtime: it runs when the metrics change, never in the
exporter process.

Six dashboards over the exporter's metrics (``docs/metrics.md``): overview, SPOF explorer,
battery forecast, municipality damage table (in the style of the communications ministry's
damage reports: sites down by operator and cause), map of out sites, pipeline health. The
committed JSON must equal this generator's output (``tests/test_dashboards.py``);
regenerate with ``python -m resilience.dashboards``.

Example
-------
>>> boards = build_dashboards()
>>> sorted(boards)[:2]
['resilience-battery-forecast.json', 'resilience-map.json']
>>> all(p["targets"] for b in boards.values() for p in b["panels"] if p["type"] != "row")
True
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["DATASOURCE_UID", "build_dashboards", "write_dashboards", "panel_queries", "render", "main"]

DATASOURCE_UID = "resilience-prometheus"
DS = {"type": "prometheus", "uid": DATASOURCE_UID}
OP = 'operator=~"$operator", prefecture=~"$prefecture"'


def _target(expr: str, ref: str = "A", legend: str = "", *, instant: bool = False, table: bool = False) -> dict:
    t: dict[str, Any] = {"datasource": DS, "expr": expr, "refId": ref, "range": not instant,
                         "instant": instant, "legendFormat": legend or "__auto"}
    if table:
        t["format"] = "table"
    return t


class _Board:
    """Lays panels out left to right on Grafana's 24-column grid."""

    def __init__(self) -> None:
        self.panels: list[dict] = []
        self.x = self.y = self.row_h = 0

    def add(self, kind: str, title: str, targets: list[dict], w: int = 6, h: int = 6,
            description: str = "", unit: str = "short", options: dict | None = None,
            field_config: dict | None = None, transformations: list | None = None) -> dict:
        if self.x + w > 24:
            self.x, self.y, self.row_h = 0, self.y + self.row_h, 0
        p = {
            "id": len(self.panels) + 1, "type": kind, "title": title, "description": description,
            "datasource": DS, "gridPos": {"x": self.x, "y": self.y, "w": w, "h": h},
            "targets": targets,
            "fieldConfig": field_config or {"defaults": {"unit": unit}, "overrides": []},
            "options": options or {},
        }
        if transformations:
            p["transformations"] = transformations
        self.panels.append(p)
        self.x += w
        self.row_h = max(self.row_h, h)
        return p


_SERIES_LABELS = ("Time", "__name__", "job", "instance")  # not shown in table panels


def _table(rename: dict[str, str], sort_by: str | None = None, *, merge: bool = True,
           exclude: tuple[str, ...] = _SERIES_LABELS, order: tuple[str, ...] = ()) -> list[dict]:
    """Table-panel transformations: merge the queries' rows, hide ``exclude``, rename the value
    columns, put ``order`` first and sort by ``sort_by`` (descending)."""
    organize: dict = {"excludeByName": dict.fromkeys(exclude, True), "renameByName": rename}
    if order:
        organize["indexByName"] = {name: i for i, name in enumerate(order)}
    steps = [{"id": "merge", "options": {}}] if merge else []
    steps.append({"id": "organize", "options": organize})
    if sort_by:
        steps.append({"id": "sortBy", "options": {"sort": [{"field": sort_by, "desc": True}]}})
    return steps


def _stat(b: _Board, title: str, expr: str, unit: str = "short", description: str = "",
          thresholds: list[tuple[float | None, str]] | None = None, w: int = 4) -> dict:
    steps = [{"color": c, "value": v} for v, c in (thresholds or [(None, "green")])]
    return b.add("stat", title, [_target(expr, instant=True)], w=w, h=4, description=description,
                 field_config={"defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}},
                               "overrides": []},
                 options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                          "colorMode": "background", "graphMode": "area", "textMode": "value"})


def _vars(*names: str) -> dict:
    out = []
    for n in names:
        out.append({
            "name": n, "label": n.capitalize(), "type": "query", "datasource": DS,
            "query": {"query": f"label_values(resilience_nodes, {n})", "refId": f"var-{n}"},
            "definition": f"label_values(resilience_nodes, {n})",
            "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2, "sort": 1,
            "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        })
    return {"list": out}


def _dashboard(uid: str, title: str, b: _Board, description: str, variables: tuple[str, ...] = (),
               refresh: str = "1m", time_from: str = "now-6h") -> dict:
    return {
        "uid": uid, "title": title, "description": description, "tags": ["resilience"],
        "editable": True, "schemaVersion": 39, "version": 1, "refresh": refresh,
        "time": {"from": time_from, "to": "now"}, "timezone": "browser",
        "templating": _vars(*variables), "panels": b.panels,
        "links": [{"title": "Resilience", "type": "dashboards", "tags": ["resilience"], "asDropdown": True}],
        "annotations": {"list": []},
    }


def _overview() -> dict:
    b = _Board()
    _stat(b, "Served subscribers", "resilience_served_ratio", "percentunit",
          "Served subscribers over all subscribers (path to a core over up elements).",
          [(None, "red"), (0.9, "orange"), (0.99, "green")])
    _stat(b, "Sites out", "sum(resilience_nodes_out) or vector(0)", description="Nodes down or not served.",
          thresholds=[(None, "green"), (1, "orange"), (50, "red")])
    _stat(b, "Subscribers out", "sum(resilience_subscribers_out) or vector(0)",
          thresholds=[(None, "green"), (1, "orange"), (10000, "red")])
    _stat(b, "Root-cause outages", 'sum(resilience_nodes_out{root_cause="true"}) or vector(0)',
          "Out sites no upstream outage explains: what operators act on (they page).",
          [(None, "green"), (1, "red")])
    _stat(b, "SPOFs cutting other sites", f"sum(resilience_spofs_cutting_other_sites{{{OP}}}) or vector(0)",
          "Single points of failure that cut sites other than their own (a site's own access link "
          "is counted under single-homed sites).", [(None, "green"), (1, "orange")])
    _stat(b, "Snapshot age", "resilience_snapshot_age_seconds", "s",
          "Age of the state the dashboards show (alert above 30 min).",
          [(None, "green"), (900, "orange"), (1800, "red")])
    b.add("timeseries", "Subscribers out by cause",
          [_target("sum by (cause) (resilience_subscribers_out)", legend="{{cause}}")], w=12, h=8)
    b.add("timeseries", "Sites out by operator",
          [_target("sum by (operator) (resilience_nodes_out)", legend="{{operator}}")], w=12, h=8)
    b.add("bargauge", "Nodes by state and kind",
          [_target(f"sum by (state, kind) (resilience_nodes{{{OP}}})", legend="{{kind}} {{state}}", instant=True)],
          w=12, h=8, options={"orientation": "horizontal", "displayMode": "gradient",
                              "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}})
    b.add("timeseries", "Served subscribers by operator",
          [_target(f"sum by (operator) (resilience_served_subscribers{{{OP}}})", legend="{{operator}}")],
          w=12, h=8)
    b.add("stat", "Exporter reads the store",
          [_target("resilience_exporter_snapshot_source_up", instant=True)], w=6, h=4,
          field_config={"defaults": {"mappings": [{"type": "value", "options": {
              "0": {"text": "DB unreachable: serving last snapshot", "color": "red"},
              "1": {"text": "OK", "color": "green"}}}]}, "overrides": []},
          options={"colorMode": "background", "reduceOptions": {"calcs": ["lastNotNull"], "fields": "",
                                                                   "values": False}})
    _stat(b, "Snapshot id", "resilience_snapshot_id", w=6)
    _stat(b, "Single-homed sites (own access link)",
          f"sum(resilience_single_homed_sites{{{OP}}}) or vector(0)",
          "Sites that hang on their own access link alone (a link that cuts only that site).", w=6)
    _stat(b, "Core nodes", "resilience_network_core_nodes",
          "Roots of the analysis. 0: no core, nothing is served and every blast radius is 0 "
          "(alert ResilienceNoCore).", [(None, "red"), (1, "green")], w=6)
    return _dashboard("resilience-overview", "Resilience / Overview", b,
                      "Served subscribers, sites and subscribers out, root causes, SPOFs, freshness.",
                      ("operator", "prefecture"))


def _spof() -> dict:
    b = _Board()
    _stat(b, "Articulation points", "sum(resilience_articulation_points) or vector(0)", w=6)
    _stat(b, "Bridges", "sum(resilience_bridges) or vector(0)", w=6)
    _stat(b, "Hidden SPOF groups", "resilience_hidden_spof_groups", w=6,
          description="Shared-risk groups (conduit, pole line, bridge) that cut nodes no single element "
                      "cuts off (their hidden part is not empty).")
    _stat(b, "Single-homed subscribers", f"sum(resilience_single_homed_subscribers{{{OP}}}) or vector(0)", w=6)
    b.add("table", "Top elements by blast radius",
          [_target("resilience_element_subscribers_lost", "A", instant=True, table=True),
           _target("resilience_element_nodes_lost", "B", instant=True, table=True)],
          w=24, h=12, description="The top N elements (nodes and links) by subscribers lost if they alone fail.",
          transformations=_table({"Value #A": "subscribers lost", "Value #B": "nodes lost"},
                                 "subscribers lost",
                                 order=("element", "element_type", "kind", "operator", "prefecture",
                                        "municipality", "Value #A", "Value #B")))
    b.add("table", "Shared-risk groups by blast radius",
          [_target("resilience_srlg_subscribers_lost", "A", instant=True, table=True),
           _target("resilience_srlg_nodes_lost", "B", instant=True, table=True),
           _target("resilience_srlg_hidden_subscribers", "C", instant=True, table=True),
           _target("resilience_srlg_hidden_nodes", "D", instant=True, table=True)], w=12, h=10,
          description="Blast radius of each top group, and its hidden part: the sites it cuts that no "
                      "single element cuts off.",
          transformations=_table({"Value #A": "subscribers lost", "Value #B": "nodes lost",
                                  "Value #C": "hidden subscribers", "Value #D": "hidden nodes"},
                                 "subscribers lost",
                                 order=("srlg", "hidden", "Value #A", "Value #B", "Value #C", "Value #D")))
    b.add("bargauge", "Single-homed subscribers by municipality (top 20)",
          [_target(f"topk(20, sum by (prefecture, municipality) (resilience_single_homed_subscribers{{{OP}}}))",
                   legend="{{prefecture}} {{municipality}}", instant=True)], w=12, h=10,
          options={"orientation": "horizontal", "displayMode": "gradient",
                   "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}})
    b.add("timeseries", "Single points of failure over time",
          [_target("resilience_spof_elements", "A", "all"),
           _target("sum(resilience_articulation_points)", "B", "articulation points"),
           _target("sum(resilience_bridges)", "C", "bridges"),
           _target("resilience_hidden_spof_groups", "D", "hidden groups"),
           _target("sum(resilience_spofs_cutting_other_sites)", "E", "cutting other sites"),
           _target("sum(resilience_single_homed_sites)", "F", "single-homed sites")], w=24, h=8)
    return _dashboard("resilience-spof", "Resilience / SPOF explorer", b,
                      "Where the network hangs on one element: blast radius of the top elements.",
                      ("operator", "prefecture"))


def _forecast() -> dict:
    b = _Board()
    for h in ("1h", "3h", "6h", "24h", "72h"):
        _stat(b, f"Subscribers out in {h}",
              f'sum(resilience_forecast_subscribers_out{{horizon="{h}", {OP}}}) or vector(0)', w=4,
              thresholds=[(None, "green"), (1, "orange"), (10000, "red")])
    _stat(b, "Out now", "sum(resilience_subscribers_out) or vector(0)", w=4)
    b.add("bargauge", "Subscribers out by horizon if grid power is not restored",
          [_target(f"sum by (horizon) (resilience_forecast_subscribers_out{{{OP}}})", legend="{{horizon}}",
                   instant=True)], w=12, h=9,
          options={"orientation": "vertical", "displayMode": "gradient",
                   "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}})
    b.add("bargauge", "Sites out by horizon",
          [_target(f"sum by (horizon) (resilience_forecast_nodes_out{{{OP}}})", legend="{{horizon}}",
                   instant=True)], w=12, h=9,
          options={"orientation": "vertical", "displayMode": "gradient",
                   "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}})
    b.add("table", "Forecast by operator and prefecture",
          [_target(f"sum by (operator, prefecture, horizon) (resilience_forecast_subscribers_out{{{OP}}})",
                   instant=True, table=True)], w=24, h=10,
          transformations=[
              {"id": "groupingToMatrix", "options": {"columnField": "horizon", "rowField": "prefecture",
                                                     "valueField": "Value"}}])
    b.add("timeseries", "Subscribers out within 3 h, over time",
          [_target(f'sum(resilience_forecast_subscribers_out{{horizon="3h", {OP}}})', legend="3h forecast"),
           _target("sum(resilience_subscribers_out)", "B", "out now")], w=24, h=8)
    # the newest restoration plan (resilience_restore DAG; docs/restoration.md)
    for h in ("6h", "24h", "72h"):
        _stat(b, f"Restoration plan: subscribers back within {h}",
              f'max(resilience_restoration_subscribers_restored{{horizon="{h}"}}) or vector(0)', w=8,
              description="Subscribers the newest restoration plan brings back within this time "
                          "of its start (crews, generators, portable base stations, satellite kits).")
    b.add("timeseries", "Restoration plan: subscriber-hours lost, planned against the baselines",
          [_target("max by (strategy) (resilience_restoration_subscriber_hours_lost) or vector(0)",
                   legend="{{strategy}}")], w=24, h=8)
    # the newest hardening plan (resilience_harden DAG; docs/hardening.md)
    _stat(b, "Hardening plan: expected subscriber-hours saved",
          'max(resilience_hardening_expected_subscriber_hours_saved{plan="planned"}) or vector(0)', w=8,
          description="Expected priority-weighted subscriber-hours the newest hardening plan saves over "
                      "its scenario ensemble, against buying nothing.")
    _stat(b, "Hardening plan: cost (yen)", "max(resilience_hardening_plan_cost_yen) or vector(0)", "currencyJPY", w=8,
          description="What the newest hardening plan spends, within its budget.")
    _stat(b, "Hardening plan: age", "max(resilience_hardening_plan_age_seconds) or vector(0)", "s", w=8,
          description="Time since the newest hardening plan was written (monthly DAG run).")
    b.add("bargauge", "Hardening plan: expected subscriber-hours lost, planned against the baselines",
          [_target("max by (plan) (resilience_hardening_expected_subscriber_hours_lost) or vector(0)",
                   legend="{{plan}}", instant=True)], w=24, h=8,
          description="At the same budget: the plan, the same battery upgrade everywhere (uniform), "
                      "biggest sites first (largest), and nothing bought (none).",
          options={"orientation": "horizontal", "displayMode": "gradient",
                   "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}})
    return _dashboard("resilience-battery-forecast", "Resilience / Battery forecast", b,
                      "What goes dark next if grid power does not come back (batteries here or upstream).",
                      ("operator", "prefecture"))


def _municipality() -> dict:
    b = _Board()
    sel = 'operator=~"$operator", prefecture=~"$prefecture"'
    b.add("table", "Sites out by municipality, operator and cause (damage report)",
          [_target(f"sum by (prefecture, municipality, operator, cause) (resilience_nodes_out{{{sel}}})",
                   "A", instant=True, table=True),
           _target(f"sum by (prefecture, municipality, operator, cause) (resilience_subscribers_out{{{sel}}})",
                   "B", instant=True, table=True)],
          w=24, h=14, description="Like the ministry's damage reports: stopped sites per municipality, "
                                  "operator and cause (power, backhaul, both, equipment, unknown).",
          transformations=_table({"Value #A": "sites out", "Value #B": "subscribers out"}, "sites out",
                                 exclude=("Time",),
                                 order=("prefecture", "municipality", "operator", "cause")))
    b.add("table", "Sites out per municipality (columns: operator)",
          [_target(f"sum by (municipality, operator) (resilience_nodes_out{{{sel}}})", instant=True,
                   table=True)], w=12, h=12,
          transformations=[{"id": "groupingToMatrix", "options": {
              "columnField": "operator", "rowField": "municipality", "valueField": "Value"}}])
    b.add("table", "Sites out per municipality (columns: cause)",
          [_target(f"sum by (municipality, cause) (resilience_nodes_out{{{sel}}})", instant=True,
                   table=True)], w=12, h=12,
          transformations=[{"id": "groupingToMatrix", "options": {
              "columnField": "cause", "rowField": "municipality", "valueField": "Value"}}])
    b.add("piechart", "Sites out by cause",
          [_target(f"sum by (cause) (resilience_nodes_out{{{sel}}})", legend="{{cause}}", instant=True)],
          w=12, h=9, options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                              "legend": {"displayMode": "table", "placement": "right", "values": ["value"]}})
    b.add("table", "Root-cause outages (what pages) and what they explain",
          [_target("resilience_root_outage_subscribers", "A", instant=True, table=True),
           _target("resilience_root_outage_nodes", "B", instant=True, table=True)], w=12, h=9,
          transformations=_table({"Value #A": "subscribers out", "Value #B": "sites out"},
                                 "subscribers out"))
    return _dashboard("resilience-municipality", "Resilience / Municipality damage report", b,
                      "Sites down by municipality, operator and cause.", ("operator", "prefecture"))


def _map() -> dict:
    b = _Board()
    b.add("geomap", "Out sites (root causes and dependents)",
          [_target(f"resilience_site_out_info{{{OP}}}", instant=True, table=True)], w=24, h=18,
          description="Out sites from resilience_site_out_info (capped: root causes first, then by "
                      "subscribers). Colour: cause; dependents are sites behind another outage.",
          transformations=[{"id": "convertFieldType", "options": {"conversions": [
              {"targetField": "lat", "destinationType": "number"},
              {"targetField": "lon", "destinationType": "number"}], "fields": {}}}],
          field_config={"defaults": {"color": {"mode": "fixed", "fixedColor": "red"}}, "overrides": []},
          options={
              "view": {"id": "coords", "lat": 37.2, "lon": 137.0, "zoom": 8},
              "controls": {"showZoom": True, "mouseWheelZoom": True},
              "basemap": {"type": "default", "name": "Basemap"},
              "layers": [{
                  "type": "markers", "name": "Out sites",
                  "location": {"mode": "coords", "latitude": "lat", "longitude": "lon"},
                  "config": {"showLegend": True, "style": {
                      "color": {"field": "cause", "fixed": "red"},
                      "size": {"fixed": 6}, "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                      "text": {"field": "node_id", "mode": "field"}}},
                  "tooltip": True}],
              "tooltip": {"mode": "details"}})
    _stat(b, "Out sites on the map", f"count(resilience_site_out_info{{{OP}}}) or vector(0)", w=8)
    _stat(b, "Out sites not on the map (cap)", "resilience_sites_out_not_exported", w=8,
          thresholds=[(None, "green"), (1, "orange")])
    _stat(b, "Root causes on the map", f'count(resilience_site_out_info{{root_cause="true", {OP}}}) or vector(0)',
          w=8)
    return _dashboard("resilience-map", "Resilience / Map of out sites", b,
                      "Geomap of sites that are out, by cause and root cause.", ("operator", "prefecture"))


def _pipeline() -> dict:
    b = _Board()
    _stat(b, "Since last analysis success",
          'time() - max(resilience_pipeline_last_success_timestamp_seconds{dag_id=~".*analy.*"})', "s",
          thresholds=[(None, "green"), (900, "orange"), (3600, "red")])
    _stat(b, "Snapshot age", "resilience_snapshot_age_seconds", "s",
          thresholds=[(None, "green"), (900, "orange"), (1800, "red")])
    _stat(b, "DB reachable from exporter", "resilience_exporter_snapshot_source_up",
          thresholds=[(None, "red"), (1, "green")])
    _stat(b, "Scrape render time", "resilience_exporter_scrape_duration_seconds", "s")
    _stat(b, "Store read time", "resilience_exporter_source_fetch_duration_seconds", "s")
    _stat(b, "Analysis duration", "resilience_snapshot_analysis_duration_seconds", "s")
    b.add("table", "DAGs: last success / last failure",
          [_target("time() - resilience_pipeline_last_success_timestamp_seconds", "A", instant=True, table=True),
           _target("time() - resilience_pipeline_last_failure_timestamp_seconds", "B", instant=True, table=True),
           _target("resilience_pipeline_last_duration_seconds", "C", instant=True, table=True)],
          w=12, h=8, unit="s",
          transformations=_table({"Value #A": "since success", "Value #B": "since failure",
                                  "Value #C": "last run duration"}))
    b.add("timeseries", "DAG failures (increase over 1 h)",
          [_target("sum by (dag_id) (increase(resilience_pipeline_failures_total[1h]))", legend="{{dag_id}}")],
          w=12, h=8)
    b.add("timeseries", "Feed rows accepted per minute by kind",
          [_target("sum by (kind) (rate(resilience_ingest_rows_accepted_total[$__rate_interval])) * 60",
                   legend="{{kind}}")], w=12, h=8)
    b.add("table", "Rows quarantined by feed kind and rule",
          [_target("sum by (kind, rule) (resilience_ingest_rows_quarantined_total)", instant=True, table=True)],
          w=12, h=8, transformations=_table({"Value": "rows quarantined"}, "rows quarantined",
                                            merge=False, exclude=("Time",)))
    b.add("timeseries", "Exporter: read time and render time",
          [_target("resilience_exporter_source_fetch_duration_seconds", "A", "store read"),
           _target("resilience_exporter_scrape_duration_seconds", "B", "render"),
           _target('scrape_duration_seconds{job="resilience"}', "C", "scrape (Prometheus)")],
          w=12, h=8, unit="s")
    b.add("timeseries", "Feed files ingested per hour by kind",
          [_target("sum by (kind) (increase(resilience_ingest_files_total[1h]))", legend="{{kind}}")],
          w=12, h=8)
    # The alarm receiver (`resilience receive`, its own scrape job): docs/receivers.md
    _stat(b, "Receiver spool backlog", "sum(resilience_receiver_spool_events)", "short",
          "Acknowledged alarm events not stored yet (they are safe on disk)",
          thresholds=[(None, "green"), (1000, "orange"), (10000, "red")])
    _stat(b, "Receiver store lag p99",
          "histogram_quantile(0.99, sum by (le) (rate(resilience_receiver_store_lag_seconds_bucket[5m])))", "s",
          "From an event's arrival to its state in the store",
          thresholds=[(None, "green"), (5, "orange"), (30, "red")])
    _stat(b, "Since receiver's last stored batch", "time() - max(resilience_receiver_last_success_timestamp_seconds)",
          "s", thresholds=[(None, "green"), (600, "orange"), (3600, "red")])
    _stat(b, "Receiver ingest failures (15 min)", "sum(increase(resilience_receiver_ingest_failures_total[15m]))",
          thresholds=[(None, "green"), (1, "red")])
    b.add("timeseries", "Alarm events per second by source and outcome",
          [_target("sum by (source_type, outcome) (rate(resilience_receiver_events_total[$__rate_interval]))",
                   legend="{{source_type}} {{outcome}}")], w=12, h=8)
    b.add("timeseries", "Status rows from alarms: stored and quarantined",
          [_target("sum by (kind, outcome) (rate(resilience_receiver_rows_total[$__rate_interval]))",
                   legend="{{kind}} {{outcome}}")], w=12, h=8)
    return _dashboard("resilience-pipeline", "Resilience / Pipeline health", b,
                      "Airflow DAGs (Pushgateway), ingest counters, exporter health, the alarm receiver.")


def build_dashboards() -> dict[str, dict]:
    """Every dashboard as a dict, keyed by its file name."""
    boards = [_overview(), _spof(), _forecast(), _municipality(), _map(), _pipeline()]
    return {f"{d['uid']}.json": d for d in boards}


def panel_queries(dashboard: dict) -> Iterator[tuple[str, str]]:
    """``(panel title, PromQL)`` of every target of every panel.

    Example
    -------
    >>> d = build_dashboards()["resilience-overview.json"]
    >>> next(panel_queries(d))
    ('Served subscribers', 'resilience_served_ratio')
    """
    for p in dashboard["panels"]:
        for t in p.get("targets", []):
            yield p["title"], t["expr"]


def render(board: dict) -> str:
    """The committed text of a dashboard: sorted keys, two-space indent, final newline."""
    return json.dumps(board, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_dashboards(out_dir: str | Path) -> list[Path]:
    """Write every dashboard to ``out_dir`` and return the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, board in build_dashboards().items():
        p = out / name
        p.write_text(render(board), encoding="utf-8")
        paths.append(p)
    return paths


def main(argv: list[str] | None = None) -> None:
    """``python -m resilience.dashboards [OUT_DIR]`` (default config/grafana/dashboards)."""
    from resilience.settings import project_root

    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0]) if argv else project_root() / "config" / "grafana" / "dashboards"
    for p in write_dashboards(out):
        print(p)


if __name__ == "__main__":
    main()
