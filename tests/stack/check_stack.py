"""The assertions of the stack test (scripts/test-stack.sh), against the running compose stack.

Every wait is bounded; a failure exits 1 naming what did not happen and the last state seen.
Secrets come from the environment (AIRFLOW_ADMIN_USER, AIRFLOW_ADMIN_PASSWORD), never argv.

    python tests/stack/check_stack.py pipeline --timeout 600
    python tests/stack/check_stack.py alert --sink alerts.jsonl --timeout 720
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

AIRFLOW = "http://127.0.0.1:8080"
PROMETHEUS = "http://127.0.0.1:9090"
PUSHGATEWAY = "http://127.0.0.1:9091"
EXPORTER = "http://127.0.0.1:9108"
ROOT = Path(__file__).resolve().parents[2]


def log(msg: str) -> None:
    print(f"check-stack: {msg}", flush=True)


def http(url: str, data: dict | None = None, token: str | None = None, timeout: float = 10):
    headers = {"Accept": "application/json"}
    body = None
    if data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=body, headers=headers)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        raw = r.read()
    ctype = r.headers.get("Content-Type", "")
    return json.loads(raw) if "json" in ctype else raw.decode()


class Pending(str):
    """What a check saw while its condition does not hold yet (falsy)."""

    def __bool__(self) -> bool:
        return False


def wait_until(check, timeout: float, what: str, every: float = 3.0):
    """Poll ``check()`` until it returns something truthy (not a :class:`Pending`); exit 1 after
    ``timeout`` seconds with the last state seen."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            got = check()
        except (OSError, ValueError, KeyError) as exc:
            got, last = None, f"{type(exc).__name__}: {exc}"
        if got:
            return got
        if got is not None:
            last = got
        if time.monotonic() > deadline:
            sys.exit(f"check-stack: FAILED: gave up after {timeout:g} s waiting for {what} (last: {last!r})")
        time.sleep(every)


def airflow_token() -> str:
    user, password = os.environ["AIRFLOW_ADMIN_USER"], os.environ["AIRFLOW_ADMIN_PASSWORD"]
    return http(f"{AIRFLOW}/auth/token", {"username": user, "password": password})["access_token"]


def prom_query(q: str) -> list:
    got = http(f"{PROMETHEUS}/api/v1/query?" + urllib.parse.urlencode({"query": q}))
    assert got["status"] == "success", got
    return got["data"]["result"]


def check_pipeline(timeout: float) -> None:
    token = airflow_token()
    # the FAB auth manager refuses a request without a token
    try:
        http(f"{AIRFLOW}/api/v2/dags")
        sys.exit("check-stack: FAILED: /api/v2/dags answered without authentication")
    except urllib.error.HTTPError as exc:
        assert exc.code in (401, 403), exc.code
    log("Airflow API refuses anonymous requests; the admin's token works")

    def dag_succeeded(dag_id: str, task_id: str):
        def check():
            runs = http(f"{AIRFLOW}/api/v2/dags/{dag_id}/dagRuns?state=success&limit=20", token=token)["dag_runs"]
            for run in runs:
                tis = http(f"{AIRFLOW}/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run['dag_run_id'])}"
                           "/taskInstances", token=token)["task_instances"]
                done = [ti for ti in tis if ti["task_id"] == task_id and ti["state"] == "success"]
                if done:
                    return run, done[0]
            return Pending(f"{len(runs)} successful runs of {dag_id}, none with {task_id} done")
        return check

    run, ti = wait_until(dag_succeeded("resilience_ingest", "ingest"), timeout, "a resilience_ingest run that ingested")
    log(f"resilience_ingest run {run['dag_run_id']} succeeded (ingest on {ti.get('hostname')!r}, queue {ti.get('queue')!r})")
    run, ti = wait_until(dag_succeeded("resilience_analyze", "analyze"), timeout, "a successful resilience_analyze run")
    log(f"resilience_analyze run {run['dag_run_id']} succeeded (analyze on {ti.get('hostname')!r}, queue {ti.get('queue')!r})")

    def snapshot():
        text = http(f"{EXPORTER}/metrics")
        for line in text.splitlines():
            if line.startswith("resilience_snapshot_id ") and float(line.split()[1]) >= 1:
                return line
        return Pending("no resilience_snapshot_id >= 1 on the exporter")
    log(f"exporter serves the stored snapshot: {wait_until(snapshot, 120, 'the snapshot on the exporter')}")

    def scraped():
        up = prom_query('up{job="resilience"}')
        snap = prom_query('resilience_snapshot_id{job="resilience"} >= 1')
        return (up and up[0]["value"][1] == "1" and snap) or Pending(f"up={up} snapshot={snap}")
    wait_until(scraped, 120, "Prometheus to scrape the exporter's snapshot")
    rules = http(f"{PROMETHEUS}/api/v1/rules")["data"]["groups"]
    n = sum(len(g["rules"]) for g in rules)
    bad = [r["name"] for g in rules for r in g["rules"] if r.get("health") not in ("ok", "unknown")]
    assert n > 0 and not bad, (n, bad)
    log(f"Prometheus scraped the exporter; {len(rules)} rule groups, {n} rules loaded and healthy")

    def pushed():
        text = http(f"{PUSHGATEWAY}/metrics")
        want = [f'resilience_pipeline_last_success_timestamp_seconds{{dag_id="{d}"' for d in
                ("resilience_ingest", "resilience_analyze")]
        have = [w for w in want if w in text]
        return len(have) == len(want) or Pending(f"pushgateway has {have} of {want}")
    wait_until(pushed, 120, "the pipeline's metrics on the Pushgateway")

    def scraped_from_pushgateway():  # honor_labels: the pushed job label is kept
        got = prom_query('resilience_pipeline_last_success_timestamp_seconds{job="resilience_pipeline"}')
        dags = sorted(r["metric"].get("dag_id", "") for r in got)
        return ({"resilience_ingest", "resilience_analyze"} <= set(dags) and dags) or Pending(f"dag_ids {dags}")
    dags = wait_until(scraped_from_pushgateway, 120, "Prometheus to scrape the pipeline's metrics from the Pushgateway")
    log(f"Pushgateway holds the pipeline's metrics; Prometheus scraped them for {', '.join(dags)}")

    from resilience.dashboards import panel_queries

    errors, empty, total = [], 0, 0
    for path in sorted((ROOT / "config" / "grafana" / "dashboards").glob("*.json")):
        for title, expr in panel_queries(json.loads(path.read_text())):
            total += 1
            q = (expr.replace("$__rate_interval", "1m").replace('"$operator"', '".*"')
                 .replace('"$prefecture"', '".*"'))
            try:
                empty += not prom_query(q)
            except (OSError, AssertionError) as exc:
                errors.append((path.name, title, str(exc)))
    assert not errors, errors
    log(f"every dashboard query ({total}) evaluates on the stack's Prometheus ({empty} empty for this sample)")


def check_alert(sink: Path, timeout: float) -> None:
    def delivered():
        if not sink.exists():
            return Pending("nothing received yet")
        for line in sink.read_text().splitlines():
            got = json.loads(line)
            body = got["body"] if isinstance(got["body"], dict) else {}
            for alert in body.get("alerts", []):
                if alert["labels"].get("alertname") == "ResilienceSiteDown" and alert["status"] == "firing":
                    return got["path"], alert["labels"]
        return Pending(f"{len(sink.read_text().splitlines())} posts, no firing ResilienceSiteDown")
    path, labels = wait_until(delivered, timeout, "a ResilienceSiteDown alert at the webhook receiver", every=5)
    assert path == "/alerts/page", path
    log(f"ResilienceSiteDown reached the receiver through Alertmanager at {path}: site {labels.get('node_id')}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["pipeline", "alert"])
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--sink", type=Path)
    args = ap.parse_args()
    if args.what == "pipeline":
        check_pipeline(args.timeout)
    else:
        check_alert(args.sink, args.timeout)


if __name__ == "__main__":
    main()
