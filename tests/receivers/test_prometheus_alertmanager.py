"""A real Prometheus (Debian package) with an alert rule on a target that goes away, and a real
Alertmanager routing to the receiver's webhook (with a bearer token): the site becomes down in
the store, and up again once the target is back (resolved)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from tests.exporter.conftest import free_port, need_binary
from tests.receivers.conftest import node_state, wait_for

pytestmark = [pytest.mark.prometheus, pytest.mark.timeout(600)]


class _Target(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        body = b"site_probe_ok 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


def _serve_target(port: int) -> HTTPServer:
    srv = HTTPServer(("127.0.0.1", port), _Target)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def _ready(url: str, proc: subprocess.Popen) -> bool:
    assert proc.poll() is None, f"{url}: the process exited: {proc.stderr.read().decode()[-2000:]}"
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def test_prometheus_alert_through_alertmanager_marks_the_site(network, start_receiver, tmp_path):
    prometheus = need_binary("prometheus")
    alertmanager = shutil.which("prometheus-alertmanager") or need_binary("alertmanager")
    rec = start_receiver(network, env={"RESILIENCE_RECEIVER_TOKEN": "am-token-1"})
    target_port, am_port, prom_port = free_port(), free_port(), free_port()
    target = _serve_target(target_port)
    (tmp_path / "am.yml").write_text(f"""
route: {{receiver: resilience, group_by: [site], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}}
receivers:
  - name: resilience
    webhook_configs:
      - url: http://127.0.0.1:{rec.http_port}/alertmanager
        send_resolved: true
        http_config: {{authorization: {{credentials: am-token-1}}}}
""")
    (tmp_path / "rules.yml").write_text("""
groups:
  - name: sites
    rules:
      - alert: SiteDown
        expr: up{job="sites"} == 0
        for: 1s
        labels: {severity: critical}
        annotations: {summary: "site probe failed"}
""")
    (tmp_path / "prom.yml").write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms}}
rule_files: ["{tmp_path}/rules.yml"]
alerting: {{alertmanagers: [{{static_configs: [{{targets: ["127.0.0.1:{am_port}"]}}]}}]}}
scrape_configs:
  - job_name: sites
    static_configs: [{{targets: ["127.0.0.1:{target_port}"], labels: {{site: B1}}}}]
""")
    procs = []
    try:
        am = subprocess.Popen([alertmanager, f"--config.file={tmp_path}/am.yml", f"--storage.path={tmp_path}/am",
                               f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address=",
                               "--log.level=warn"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(am)
        wait_for(lambda: _ready(f"http://127.0.0.1:{am_port}/-/ready", am), "Alertmanager ready")
        prom = subprocess.Popen([prometheus, f"--config.file={tmp_path}/prom.yml", f"--storage.tsdb.path={tmp_path}/tsdb",
                                 f"--web.listen-address=127.0.0.1:{prom_port}", "--log.level=warn"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(prom)
        wait_for(lambda: _ready(f"http://127.0.0.1:{prom_port}/-/ready", prom), "Prometheus ready")
        wait_for(lambda: b'"1"' in urllib.request.urlopen(
            f"http://127.0.0.1:{prom_port}/api/v1/query?query=up%7Bjob%3D%22sites%22%7D", timeout=5).read(),
            "the target scraped up")
        target.shutdown()
        target.server_close()  # the target goes away
        down = wait_for(lambda: (lambda n: n if n and n["state"] == "down" else None)(node_state(network, "B1")),
                        "B1 down through Prometheus -> Alertmanager -> receiver", timeout=240)
        assert down["power"] == "grid"
        target = _serve_target(target_port)  # back
        wait_for(lambda: (node_state(network, "B1") or {}).get("state") == "up",
                 "B1 up again after the alert resolved", timeout=240)
        assert rec.metrics.events.labels("alertmanager", "accepted")._value.get() >= 2
        assert rec.metrics.requests.labels("alertmanager", "401")._value.get() == 0
    finally:
        target.shutdown()
        target.server_close()
        for p in procs:
            _stop(p)
