"""The real Debian tools on our artefacts: promtool (metrics, rules, rule tests, config), amtool."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.exporter.conftest import CONFIG, need_binary
from tests.exporter.sample import write_sample_snapshot

pytestmark = pytest.mark.prometheus

RULES = CONFIG / "prometheus" / "rules" / "resilience.rules.yml"
TESTS = sorted((CONFIG / "prometheus" / "tests").glob("*.yml"))
AM = CONFIG / "alertmanager" / "alertmanager.yml"


def _run(*cmd: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, input=stdin, capture_output=True, timeout=120)


def test_promtool_check_metrics_on_exporter_output(tmp_path):
    promtool = need_binary("promtool")
    from resilience.exporter import make_exporter
    from resilience.store.engine import make_engine, migrate

    url = f"sqlite:///{tmp_path}/r.db"
    eng = make_engine(url)
    migrate(eng)
    write_sample_snapshot(eng)
    body = make_exporter(url).metrics()
    assert b"resilience_site_out_info{" in body
    r = _run(promtool, "check", "metrics", stdin=body)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), r.stdout + r.stderr


def test_promtool_check_rules_and_config():
    promtool = need_binary("promtool")
    r = _run(promtool, "check", "rules", str(RULES))
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run(promtool, "check", "config", str(CONFIG / "prometheus" / "prometheus.yml"))
    assert r.returncode == 0, r.stdout + r.stderr


def test_promtool_test_rules():
    promtool = need_binary("promtool")
    r = _run(promtool, "test", "rules", *map(str, TESTS))
    assert r.returncode == 0 and b"SUCCESS" in r.stdout, r.stdout.decode() + r.stderr.decode()


def test_every_alert_is_tested_firing_and_not_firing():
    alerts = {r["alert"] for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"] if "alert" in r}
    firing, quiet = set(), set()
    for f in TESTS:
        for t in yaml.safe_load(f.read_text())["tests"]:
            for a in t.get("alert_rule_test", []):
                (firing if a.get("exp_alerts") else quiet).add(a["alertname"])
    assert alerts - firing == set(), "alerts never tested firing"
    assert alerts - quiet == set(), "alerts never tested not firing"


def test_amtool_check_config():
    amtool = need_binary("amtool")
    r = _run(amtool, "check-config", str(AM))
    assert r.returncode == 0 and b"SUCCESS" in r.stdout, r.stdout + r.stderr


@pytest.mark.parametrize(("labels", "receiver"), [
    (["alertname=ResilienceSiteDown", "severity=page", "root=A1"], "noc-pager"),
    (["alertname=ResilienceSiteDownDependent", "severity=info", "root=A1"], "noc-ticket"),
    (["alertname=ResilienceNewSinglePointOfFailure", "severity=warning"], "noc-default"),
])
def test_alertmanager_routes_dependents_away_from_the_pager(labels, receiver):
    amtool = need_binary("amtool")
    r = _run(amtool, "config", "routes", "test", "--config.file", str(AM), *labels)
    assert r.returncode == 0 and r.stdout.decode().strip() == receiver, r.stdout + r.stderr


def test_inhibit_rule_suppresses_dependents_of_the_same_root():
    cfg = yaml.safe_load(AM.read_text())
    rule = next(i for i in cfg["inhibit_rules"] if "root" in i.get("equal", []))
    assert any("ResilienceSiteDownDependent" in m for m in rule["target_matchers"])
    assert any("ResilienceSiteDown" in m and "ResilienceUpstreamLinkCut" in m for m in rule["source_matchers"])
