#!/usr/bin/env bash
# `make up`: the scheduler-driven pipeline on this machine, without Docker.
#   Airflow scheduler + dag-processor + api-server (AIRFLOW_HOME=var/airflow, SQLite, LocalExecutor,
#   dags/ and plugins/ of this repository), the Prometheus exporter (`resilience serve`),
#   `resilience watch`, the alarm receiver (`resilience receive`: Alertmanager webhook, VES, SNMP
#   traps; docs/receivers.md) and a Pushgateway on loopback. Logs in var/log/, pids in var/run/.
#   Stop with `make down`.
# Ports: AIRFLOW_PORT (8080), RESILIENCE_EXPORTER_PORT (9108), PUSHGATEWAY_PORT (9091),
#   RESILIENCE_RECEIVER_HTTP_PORT (9110), RESILIENCE_RECEIVER_SNMP_PORT (9162/udp).
# Then drop feed files into var/inbox/ (RESILIENCE_INBOX): a new snapshot follows within a minute.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH="$root/.venv/bin:$PATH"
export RESILIENCE_HOME=${RESILIENCE_HOME:-$root}
mkdir -p var/log var/run var/inbox var/pushgateway

airflow_port=${AIRFLOW_PORT:-8080}
pgw_port=${PUSHGATEWAY_PORT:-9091}
export AIRFLOW_HOME=${AIRFLOW_HOME:-$root/var/airflow}
export AIRFLOW__CORE__DAGS_FOLDER=$root/dags
export AIRFLOW__CORE__PLUGINS_FOLDER=$root/plugins
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=False
export AIRFLOW__CORE__EXECUTOR=LocalExecutor
export AIRFLOW__CORE__PARALLELISM=${AIRFLOW__CORE__PARALLELISM:-4}   # 2 cores: keep it lean
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN:-sqlite:///$AIRFLOW_HOME/airflow.db}
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$airflow_port/execution/
export AIRFLOW__API__BASE_URL=http://127.0.0.1:$airflow_port
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS=${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS:-True}  # loopback only
export AIRFLOW__API_AUTH__JWT_SECRET=${AIRFLOW__API_AUTH__JWT_SECRET:-$( [ -s var/run/jwt-secret ] || (umask 077; python3 -c 'import secrets; print(secrets.token_hex(64))' > var/run/jwt-secret); cat var/run/jwt-secret)}  # 64 bytes for HS512, kept across restarts
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=30
export AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME=0.5
export AIRFLOW__LOGGING__LOGGING_LEVEL=${AIRFLOW__LOGGING__LOGGING_LEVEL:-INFO}
export GX_ANALYTICS_ENABLED=false
export RESILIENCE_PUSHGATEWAY_URL=${RESILIENCE_PUSHGATEWAY_URL:-http://127.0.0.1:$pgw_port}

running() { [ -f "var/run/$1.pid" ] && kill -0 "$(cat "var/run/$1.pid")" 2>/dev/null; }
start() {  # name, command...: own session (process group) so that `make down` stops its children too
  local name=$1; shift
  if running "$name"; then echo "  $name already running (pid $(cat "var/run/$name.pid"))"; return; fi
  setsid nohup "$@" >>"var/log/$name.log" 2>&1 < /dev/null &
  echo $! > "var/run/$name.pid"
  echo "  $name started (pid $!, log var/log/$name.log)"
}

echo "resilience: store $(python -c 'from resilience.settings import load_settings as s; print(s().resolved_db_url())')"
resilience init >/dev/null
airflow db migrate >>var/log/airflow-migrate.log 2>&1 || { echo "airflow db migrate failed: var/log/airflow-migrate.log" >&2; exit 1; }

if command -v prometheus-pushgateway >/dev/null; then
  start pushgateway prometheus-pushgateway --web.listen-address="127.0.0.1:$pgw_port" \
    --persistence.file="$root/var/pushgateway/metrics" --persistence.interval=1m
else
  echo "  pushgateway: prometheus-pushgateway not installed (scripts/system-deps.sh); metrics not pushed"
  export RESILIENCE_PUSHGATEWAY_URL=""
fi
if resilience serve --help >/dev/null 2>&1; then
  start exporter resilience serve
else
  echo "  exporter: \`resilience serve\` not available yet; skipped"
fi
# the seconds-level path beside the pipeline: the model kept in memory (docs/scaling.md)
start watch resilience watch --interval 2
# alarms from the systems operators run: stored within seconds through the same ingest (docs/receivers.md)
start receiver resilience receive
start dag-processor airflow dag-processor
start scheduler airflow scheduler --skip-serve-logs  # no log server on 0.0.0.0: LocalExecutor logs are local files
start api-server airflow api-server --host 127.0.0.1 --port "$airflow_port" --workers 1

for _ in $(seq 1 90); do
  curl -fsS "http://127.0.0.1:$airflow_port/api/v2/monitor/health" >/dev/null 2>&1 && break
  sleep 1
done
cat <<MSG
up: Airflow UI   http://127.0.0.1:$airflow_port  (what-if API: POST /resilience/whatif)
    exporter     http://127.0.0.1:$(python -c 'from resilience.settings import load_settings as s; print(s().exporter_port)')/metrics
    pushgateway  $RESILIENCE_PUSHGATEWAY_URL
    receiver     $(python -c 'from resilience.settings import load_settings as s; x=s(); print(f"http://{x.receiver_host}:{x.receiver_http_port}/alertmanager, /eventListener/v7; traps udp {x.receiver_host}:{x.receiver_snmp_port}")')
    inbox        $(python -c 'from resilience.settings import load_settings as s; x=s(); print(x.path(x.inbox))')
    stop with: make down
MSG
