"""A real Prometheus (and Pushgateway) scraping the exporter that serves the sample snapshot.

Checks that Prometheus' query API returns the values the stored snapshot holds, that the rules
load and the dependency-aware alert selects root causes only, and that every PromQL query of
every dashboard panel returns data.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from tests.exporter.conftest import CONFIG, free_port, need_binary
from tests.exporter.sample import EXPECTED, write_sample_snapshot

pytestmark = pytest.mark.prometheus


def _wait_http(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError as exc:
            if proc.poll() is not None:
                raise AssertionError(f"{proc.args[0]} exited: {proc.stderr.read().decode()[-2000:]}") from None
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout:g} s: {exc}") from exc
            time.sleep(0.2)


def _wait_until(check, timeout: float, what: str):
    """Poll ``check()`` until it returns something truthy; fail the test (never fall through)
    with ``what`` and the last value when ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what} (last: {got!r})")
        time.sleep(0.5)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class Prom:
    def __init__(self, base: str) -> None:
        self.base = base

    def query(self, expr: str) -> list[dict]:
        q = urllib.parse.urlencode({"query": expr})
        with urllib.request.urlopen(f"{self.base}/api/v1/query?{q}", timeout=10) as r:
            doc = json.load(r)
        assert doc["status"] == "success", doc
        return doc["data"]["result"]

    def value(self, expr: str) -> float:
        res = self.query(expr)
        assert len(res) == 1, (expr, res)
        return float(res[0]["value"][1])

    def get(self, path: str) -> dict:
        with urllib.request.urlopen(f"{self.base}{path}", timeout=10) as r:
            return json.load(r)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    prometheus = need_binary("prometheus")
    pushgateway = need_binary("prometheus-pushgateway")
    from prometheus_client import CollectorRegistry, Counter, Gauge, push_to_gateway

    from resilience.exporter import make_exporter, start_server
    from resilience.store.engine import make_engine, migrate

    tmp = tmp_path_factory.mktemp("prom")
    url = f"sqlite:///{tmp}/r.db"
    eng = make_engine(url)
    migrate(eng)
    write_sample_snapshot(eng)
    eng.dispose()
    hardening = tmp / "hardening"  # a plan of the resilience_harden DAG, read by the exporter
    hardening.mkdir()
    (hardening / "hardening-2000000000.json").write_text(json.dumps(HARDENING_PLAN))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RESILIENCE_HARDENING_DIR", str(hardening))
        app = make_exporter(url, ttl=1)
    server, _ = start_server(app, "127.0.0.1", 0)
    procs = []
    servers = [server]
    try:
        pg_port = free_port()
        pg = subprocess.Popen([pushgateway, f"--web.listen-address=127.0.0.1:{pg_port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(pg)
        _wait_http(f"http://127.0.0.1:{pg_port}/-/ready", pg)
        now = time.time()
        for dag, ok, fail in (("resilience_analysis", now - 120, now - 60), ("resilience_ingest", now - 30, 0)):
            reg = CollectorRegistry()
            Gauge("resilience_pipeline_last_success_timestamp_seconds", "", registry=reg).set(ok)
            Gauge("resilience_pipeline_last_failure_timestamp_seconds", "", registry=reg).set(fail)
            Gauge("resilience_pipeline_last_duration_seconds", "", registry=reg).set(12.5)
            Counter("resilience_pipeline_failures", "", registry=reg).inc(1 if fail else 0)
            push_to_gateway(f"127.0.0.1:{pg_port}", job="resilience_airflow", grouping_key={"dag_id": dag},
                            registry=reg)
        # The alarm receiver's own metrics, as `resilience receive` serves them (its scrape job)
        from prometheus_client import start_http_server

        from resilience.receivers.metrics import ReceiverMetrics

        receiver = ReceiverMetrics(CollectorRegistry())
        receiver.accepted("alertmanager", 3)
        receiver.rows.labels("node_status", "stored").inc(3)
        receiver.lag.observe(0.4)
        receiver.last_success.set(now - 5)
        rec_server, _ = start_http_server(0, "127.0.0.1", registry=receiver.registry)
        servers.append(rec_server)
        rules = tmp / "rules"
        shutil.copytree(CONFIG / "prometheus" / "rules", rules)
        prom_port = free_port()
        cfg = tmp / "prometheus.yml"
        cfg.write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{rules}/*.yml"]
scrape_configs:
  - job_name: resilience
    static_configs: [{{targets: ["127.0.0.1:{server.server_port}"]}}]
  - job_name: pushgateway
    honor_labels: true
    static_configs: [{{targets: ["127.0.0.1:{pg_port}"]}}]
  - job_name: resilience_receiver
    static_configs: [{{targets: ["127.0.0.1:{rec_server.server_port}"]}}]
""")
        p = subprocess.Popen([prometheus, f"--config.file={cfg}", f"--storage.tsdb.path={tmp}/data",
                              f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(p)
        base = f"http://127.0.0.1:{prom_port}"
        _wait_http(base + "/-/ready", p)
        prom = Prom(base)
        _wait_until(  # several scrapes of both targets (rate() needs two samples)
            lambda: (len(prom.query('count_over_time(resilience_snapshot_id[1m]) >= 4')) == 1
                     and bool(prom.query('count_over_time(resilience_pipeline_last_duration_seconds[1m]) >= 4'))),
            60, "four scrapes of the exporter and of the Pushgateway")
        yield prom, app
    finally:
        for proc in procs:
            _stop(proc)
        for srv in servers:
            srv.shutdown()
            srv.server_close()


HARDENING_PLAN = {"budget": 2e9, "expected_subscriber_hours_lost": 3.2e6,
                  "baseline_loss": {"none": 5.0e6, "uniform": 4.1e6, "largest": 3.9e6},
                  "plan": [{"measure": "battery_72h", "site": "S1", "cost": 1.5e9},
                           {"measure": "generator", "site": "S2", "cost": 0.4e9}]}


def test_prometheus_holds_the_hardening_plan(stack):
    prom, _ = stack
    _wait_until(lambda: len(prom.query("resilience_hardening_expected_subscriber_hours_lost")) == 4,
                30, "the hardening plan's series")
    lost = {r["metric"]["plan"]: float(r["value"][1])
            for r in prom.query("resilience_hardening_expected_subscriber_hours_lost")}
    assert lost == {"planned": 3.2e6, "none": 5.0e6, "uniform": 4.1e6, "largest": 3.9e6}
    assert prom.value('resilience_hardening_expected_subscriber_hours_saved{plan="planned"}') == 1.8e6
    assert prom.value("resilience_hardening_plan_cost_yen") == 1.9e9
    assert prom.value("resilience_hardening_budget_yen") == 2e9


def test_prometheus_holds_the_snapshot_values(stack):
    prom, app = stack
    snap = app.source.state().snapshot
    assert prom.value("resilience_snapshot_id") == snap.id
    assert prom.value("resilience_network_nodes") == EXPECTED["total_nodes"]
    assert prom.value("resilience_served_ratio") == pytest.approx(200 / 1050)
    assert prom.value("sum(resilience_nodes_out)") == EXPECTED["nodes_out"]
    assert prom.value("sum(resilience_subscribers_out)") == EXPECTED["subscribers_out"]
    assert prom.value("sum(resilience_articulation_points)") == EXPECTED["articulation_points"]
    assert prom.value("sum(resilience_bridges)") == EXPECTED["bridges"]
    assert prom.value("resilience_hidden_spof_groups") == EXPECTED["hidden_spof_groups"]
    hidden = {r["metric"]["srlg"]: float(r["value"][1]) for r in prom.query("resilience_srlg_hidden_nodes")}
    assert hidden == {k: v[0] for k, v in EXPECTED["srlg_hidden"].items()}
    assert prom.value('resilience_srlg_hidden_subscribers{hidden="true"}') == EXPECTED["srlg_hidden"]["R1"][1]
    assert prom.value("sum(resilience_spofs_cutting_other_sites)") == EXPECTED["spofs_cutting_other_sites"]
    assert prom.value("sum(resilience_single_homed_sites)") == EXPECTED["single_homed_sites"]
    assert prom.value("resilience_network_core_nodes") == EXPECTED["core_nodes"]
    assert prom.value('resilience_exporter_folded_label_values{label="operator"}') == 0
    for h, (n, subs) in EXPECTED["forecast"].items():
        if n:
            assert prom.value(f'sum(resilience_forecast_subscribers_out{{horizon="{h}h"}})') == subs
    for e in snap.elements:
        assert prom.value(f'resilience_element_subscribers_lost{{element="{e.element_id}"}}') == e.subscribers_lost
    roots = {r["metric"]["root"]: float(r["value"][1]) for r in prom.query("resilience_root_outage_nodes")}
    assert roots == {k: v[1] for k, v in EXPECTED["roots"].items()}
    q = {(r["metric"]["kind"], r["metric"]["rule"]): float(r["value"][1])
         for r in prom.query("resilience_ingest_rows_quarantined_total")}
    assert q == EXPECTED["ingest_quarantined"]
    assert prom.value("resilience_exporter_snapshot_source_up") == 1


def test_rules_load_and_only_root_causes_page(stack):
    prom, _ = stack
    groups = prom.get("/api/v1/rules")["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    assert rules and all(r["health"] == "ok" for r in rules), [r for r in rules if r["health"] != "ok"]
    pending = _wait_until(
        lambda: {r["metric"]["node_id"] for r in prom.query('ALERTS{alertname="ResilienceSiteDown"}')},
        20, "ResilienceSiteDown to be pending")
    assert pending == EXPECTED["root_causes"]  # B1, B3 (behind A1) and K2 (behind LK2) do not page
    quiet = {r["metric"]["alertname"] for r in prom.query(
        'ALERTS{alertname=~"ResilienceNoCore|ResilienceNothingServed|ResilienceExporterLabelsFolded"}')}
    assert quiet == set()  # the sample has cores, serves sites and folds nothing
    links = {r["metric"]["root"] for r in prom.query('ALERTS{alertname="ResilienceUpstreamLinkCut"}')}
    assert links == {"LK2"}
    failing = {r["metric"]["dag_id"] for r in prom.query('ALERTS{alertname="ResiliencePipelineFailing"}')}
    assert failing == {"resilience_analysis"}


def test_every_dashboard_query_returns_data(stack):
    prom, _ = stack
    from resilience.dashboards import build_dashboards, panel_queries

    empty = []
    for name, board in build_dashboards().items():
        for title, expr in panel_queries(board):
            q = (expr.replace("$__rate_interval", "1m").replace('"$operator"', '".*"')
                 .replace('"$prefecture"', '".*"'))
            if not prom.query(q):
                empty.append((name, title, expr))
    assert empty == []
