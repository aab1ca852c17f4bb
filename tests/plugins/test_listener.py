"""The plugin's listener: a real Pushgateway receives the pipeline outcome of a DAG run, and
nothing is pushed without a Pushgateway URL."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import CONTRACT_NODES, missing
from tests.dags.conftest import ROOT

_RUNS = iter(range(10_000))


def _when() -> datetime:
    """A logical date no other test of this session uses (tests share the Airflow metadata DB)."""
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=next(_RUNS))


def _drop(inbox: Path, name: str, text: str) -> None:
    tmp = inbox / f".{name}.tmp"
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, inbox / name)
    old = (inbox / name).stat().st_mtime - 30
    os.utime(inbox / name, (old, old))


def _fast_retries(dagbag) -> None:
    for dag in dagbag.dags.values():
        for t in dag.tasks:
            t.retry_delay = timedelta(seconds=0)


def _states(dr) -> dict[str, str]:
    from airflow.utils.session import create_session

    with create_session() as s:
        return {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in dr.get_task_instances(session=s)}


@pytest.fixture
def pushgateway(tmp_path):
    """A real Pushgateway (Debian prometheus-pushgateway) on a free loopback port."""
    import socket
    import time
    import urllib.request

    exe = shutil.which("prometheus-pushgateway")
    if exe is None:
        missing("prometheus", "prometheus-pushgateway is not installed (scripts/system-deps.sh)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([exe, f"--web.listen-address=127.0.0.1:{port}",
                             f"--persistence.file={tmp_path / 'pushgateway.data'}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/-/ready", timeout=1)
                break
            except OSError:
                assert proc.poll() is None, f"the Pushgateway exited ({proc.returncode}) before it was ready"
                assert time.monotonic() < deadline, f"the Pushgateway at {url} was not ready within 30 s"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _scrape(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url + "/metrics", timeout=5) as r:
        return r.read().decode()


@pytest.mark.airflow
@pytest.mark.prometheus
@pytest.mark.xdist_group("airflow")
def test_listener_pushes_pipeline_outcomes_to_the_pushgateway(dagbag, tmp_path, monkeypatch, pushgateway):
    home, inbox = tmp_path / "home", tmp_path / "inbox"
    inbox.mkdir()
    monkeypatch.setenv("RESILIENCE_HOME", str(home))
    monkeypatch.setenv("RESILIENCE_DB_URL", f"sqlite:///{tmp_path}/r.db")
    monkeypatch.setenv("RESILIENCE_INBOX", str(inbox))
    monkeypatch.setenv("RESILIENCE_PUSHGATEWAY_URL", pushgateway)
    _drop(inbox, "nodes.csv", CONTRACT_NODES.replace("B3,base_station", "B3,satellite_dish"))
    _fast_retries(dagbag)
    dr = dagbag.dags["resilience_ingest"].test(logical_date=_when())
    assert str(dr.state) == "success", _states(dr)
    text = _scrape(pushgateway)
    labels = '{dag_id="resilience_ingest",instance="",job="resilience_pipeline"}'
    assert f"resilience_pipeline_last_success_timestamp_seconds{labels}" in text
    assert f"resilience_pipeline_last_duration_seconds{labels}" in text
    assert f"resilience_pipeline_failures_total{labels} " in text
    assert f"resilience_pipeline_last_rows_rejected{labels} 1" in text  # the bad kind
    assert f"resilience_pipeline_last_rows_accepted{labels} 4" in text
    assert "_created" not in text


def test_publish_does_nothing_without_a_pushgateway_url():
    sys.path.insert(0, str(ROOT / "plugins"))
    try:
        import resilience_plugin
    finally:
        sys.path.remove(str(ROOT / "plugins"))
    assert resilience_plugin.publish("resilience_ingest", session=None, url="") is None
    reg = resilience_plugin.registry_for({"failures_total": 3.0, "last_duration_seconds": 1.5})
    assert reg.get_sample_value("resilience_pipeline_failures_total") == 3.0
    assert reg.get_sample_value("resilience_pipeline_last_duration_seconds") == 1.5
