#!/bin/bash
# Entrypoint of the resilience image (under tini): every service goes through it, the exporter
# and `resilience watch` included.
#  - a passwd entry for the uid the container runs as (AIRFLOW_UID may be any uid, group 0);
#  - waits (bounded, RESILIENCE_DB_WAIT_SECONDS, default 120) until the PostgreSQL servers of
#    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN and RESILIENCE_DB_URL accept TCP connections;
#  - then runs the command (`airflow ...`, `resilience ...`).
set -euo pipefail

if ! whoami >/dev/null 2>&1 && [ -w /etc/passwd ]; then
  echo "airflow-$(id -u):x:$(id -u):$(id -g):resilience runtime user:${HOME:-/home/airflow}:/usr/sbin/nologin" >> /etc/passwd
fi
export USER="${USER:-$(whoami 2>/dev/null || echo airflow)}"
mkdir -p "${NUMBA_CACHE_DIR:-/tmp/numba-cache}" 2>/dev/null || true

if [ "${RESILIENCE_DB_WAIT_SECONDS:-120}" != "0" ]; then
  python3 - <<'PY'
import os, socket, sys, time
from urllib.parse import urlsplit

deadline = time.monotonic() + float(os.environ.get("RESILIENCE_DB_WAIT_SECONDS", "120"))
targets = []
for var in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "RESILIENCE_DB_URL"):
    url = os.environ.get(var, "")
    if url.startswith("postgresql"):
        u = urlsplit(url)
        if u.hostname and (u.hostname, u.port or 5432) not in targets:
            targets.append((u.hostname, u.port or 5432))
for host, port in targets:
    while True:
        try:
            socket.create_connection((host, port), timeout=3).close()
            break
        except OSError as exc:
            if time.monotonic() > deadline:
                sys.exit(f"entrypoint: database {host}:{port} not reachable: {exc}")
            time.sleep(1)
PY
fi
exec "$@"
