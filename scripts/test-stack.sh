#!/usr/bin/env bash
# make test-stack: the production compose stack, started for real, and checked end to end.
#
#  1. a private dockerd (scripts/dockerd.sh: no bridge, no iptables; reused if already up);
#  2. images (tests/stack/build-images.sh): a Debian bookworm base from debootstrap, stand-ins for
#     postgres/redis/prometheus/alertmanager/pushgateway from Debian packages, and the project
#     image from the real Dockerfile;
#  3. secret handling (.env.example as shipped is refused by docker-compose; with generated
#     values it is accepted; the image's secrets-check refuses a short one);
#  4. `docker-compose up -d` of the real docker-compose.yml plus tests/stack/docker-compose.stack-test.yml
#     (images and host networking only; in place of docker-compose.override.yml, which only
#     publishes host ports), every health check awaited (bounded);
#  5. the Noto sample dropped into the inbox; then asserted: the ingest and analyze DAGs ran on the
#     Celery worker, a snapshot was stored and exported, Prometheus scraped it and loaded the rules,
#     every dashboard query evaluates, the Pushgateway holds the pipeline's metrics, and a
#     ResilienceSiteDown alert reached the webhook receiver through Alertmanager;
#  6. `docker-compose down -v` leaves no container, volume or network of the run behind; the
#     dockerd is stopped if this script started it.
# Every wait has a timeout and prints the failing service's logs. Needs root (dockerd).
# Timeouts: STACK_UP_TIMEOUT (600 s to all healthy), STACK_PIPELINE_TIMEOUT (600 s), STACK_ALERT_TIMEOUT (720 s).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
t_start=$SECONDS
log() { echo "test-stack: $*"; }
fail() { echo "test-stack: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "needs root (it starts dockerd)"
for tool in dockerd docker-compose debootstrap; do
  command -v "$tool" >/dev/null || fail "$tool is not installed: run scripts/system-deps.sh"
done
DOCKER=/usr/bin/docker; [ -x "$DOCKER" ] || DOCKER=$(command -v docker)
export DOCKER
PY=$root/.venv/bin/python; [ -x "$PY" ] || fail "no .venv: run make venv"

# Ports the stack listens on with host networking (and the webhook sink's 9099).
ports="5432 6379 8080 8793 8794 8974 9090 9091 9093 9099 9108 9110"
busy=""
for p in $ports; do
  if ss -Htln "sport = :$p" | grep -q .; then busy+=" $p"; fi
done
if ss -Huln "sport = :9162" | grep -q .; then busy+=" 9162/udp"; fi
[ -z "$busy" ] || fail "ports in use:$busy (the stack runs with host networking on 127.0.0.1: stop what listens there; ss -ltnp)"

run=$(mktemp -d "${TMPDIR:-/tmp}/resilience-stack.XXXXXX")
chmod 700 "$run"
project="resilience-stack-$(basename "$run" | tr -dc 'a-z0-9' | tail -c 8)$$"
export RESILIENCE_IMAGE=${RESILIENCE_IMAGE:-resilience-airflow:stack-test}
compose() {
  timeout "${COMPOSE_TIMEOUT:-300}" docker-compose -p "$project" --project-directory "$root" --env-file "$run/.env" \
    -f "$root/docker-compose.yml" -f "$root/tests/stack/docker-compose.stack-test.yml" "$@"
}
# the production files as `docker-compose up` reads them (the override publishes the host ports)
compose_prod() {
  timeout 60 docker-compose -p "$project" --project-directory "$root" --env-file "$run/.env" \
    -f "$root/docker-compose.yml" -f "$root/docker-compose.override.yml" "$@"
}
sink_pid=""
up_started=0
cleanup() {
  local rc=$?
  set +e
  if [ "$up_started" = 1 ]; then
    if [ "$rc" != 0 ]; then
      log "state of the stack at the failure:"
      compose ps 2>&1 | sed 's/^/  /'
      # the logs of every container that stopped with an error (e.g. airflow-init)
      for c in $("$DOCKER" ps -a --filter "label=com.docker.compose.project=$project" \
                   --format '{{.Names}} {{.Status}}' | awk '/Exited \([1-9]/ {print $1}'); do
        echo "----- logs of $c -----" >&2
        "$DOCKER" logs --tail 60 "$c" 2>&1 | sed 's/^/  /' >&2 || true
      done
    fi
    log "docker-compose down -v"
    compose down -v --remove-orphans --timeout 30 >"$run/down.log" 2>&1 || cat "$run/down.log" >&2
    # whatever down missed (a container of a failed start): removed all the same
    left=$("$DOCKER" ps -aq --filter "label=com.docker.compose.project=$project")
    [ -n "$left" ] && "$DOCKER" rm -f -v $left >/dev/null
    vols=$("$DOCKER" volume ls -q --filter "label=com.docker.compose.project=$project")
    [ -n "$vols" ] && "$DOCKER" volume rm -f $vols >/dev/null
    if [ -n "$left$vols" ] && [ "$rc" = 0 ]; then
      echo "test-stack: FAILED: docker-compose down -v left containers/volumes: $left $vols" >&2; rc=1
    fi
    nets=$("$DOCKER" network ls -q --filter "label=com.docker.compose.project=$project")
    [ -n "$nets" ] && "$DOCKER" network rm $nets >/dev/null
  fi
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null
  scripts/dockerd.sh stop
  rm -rf "$run"
  [ "$rc" = 0 ] && log "passed in $((SECONDS - t_start)) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

eval "export $(scripts/dockerd.sh start)"
log "dockerd at $DOCKER_HOST"

t0=$SECONDS
tests/stack/build-images.sh
image_size=$("$DOCKER" image inspect -f '{{.Size}}' "$RESILIENCE_IMAGE")
log "images ready in $((SECONDS - t0)) s; $RESILIENCE_IMAGE is $((image_size / 1000000)) MB"

# --- the secrets, refused as shipped, accepted when generated ---------------------------------
cp .env.example "$run/.env"
if compose_prod config -q >"$run/config.log" 2>&1; then
  fail "docker-compose accepted .env.example as shipped: a placeholder or empty secret would be accepted"
fi
grep -q "set .* in .env" "$run/config.log" || { cat "$run/config.log" >&2; fail "docker-compose config failed for another reason"; }
mkdir -p "$run/inbox"
rm -f "$run/.env"  # every secret generated by the operators' own tool (docs/deploy.md)
# the admin password an operator may choose, starting with "-" (init must not read it as an option;
# check_stack.py logs in with it)
dash_password=$("$PY" -c 'import secrets; print("-" + secrets.token_urlsafe(24))')
"$PY" scripts/generate_env.py --out "$run/.env" AIRFLOW_UID=50000 "RESILIENCE_INBOX_DIR=$run/inbox" \
  "AIRFLOW_ADMIN_PASSWORD=${dash_password}" >/dev/null
# host networking: every service listens on loopback only
echo "STACK_LISTEN_HOST=127.0.0.1" >>"$run/.env"
compose_prod config -q || fail "docker-compose config refused .env.example with generated secrets"
compose config -q || fail "docker-compose config refused the stack test's override"
set -a; . "$run/.env"; set +a
if "$DOCKER" run --rm --network none --entrypoint /usr/local/bin/resilience-check-secrets \
     -e POSTGRES_PASSWORD -e AIRFLOW_DB_PASSWORD -e RESILIENCE_DB_PASSWORD -e AIRFLOW_ADMIN_PASSWORD \
     -e AIRFLOW_FERNET_KEY -e AIRFLOW_API_SECRET_KEY -e GRAFANA_ADMIN_PASSWORD \
     -e RESILIENCE_RECEIVER_TOKEN -e RESILIENCE_SNMP_COMMUNITIES -e "AIRFLOW_JWT_SECRET=${AIRFLOW_JWT_SECRET:0:19}" \
     "$RESILIENCE_IMAGE" >"$run/secrets-check.log" 2>&1; then
  fail "the image's secrets-check accepted a 19-character JWT secret"
fi
grep -q "AIRFLOW_JWT_SECRET is too short" "$run/secrets-check.log" || { cat "$run/secrets-check.log" >&2; fail "secrets-check failed for another reason"; }
log "secret handling: .env.example as shipped refused, generated values accepted, a short JWT secret refused"

# --- up -----------------------------------------------------------------------------------
"$PY" tests/stack/webhook_sink.py --host 127.0.0.1 --port 9099 --out "$run/alerts.jsonl" &
sink_pid=$!
services=$(compose config --services | grep -vx grafana | tr '\n' ' ')
log "docker-compose up -d ($project): $services(grafana: no stand-in)"
up_started=1
t_up=$SECONDS
compose up -d --no-build $services 2>&1 | sed 's/^/  /'

dump_logs() {  # the logs of the named services (or all)
  for s in "$@"; do echo "----- logs of $s -----" >&2; compose logs --no-color --tail 60 "$s" >&2 || true; done
}
deadline=$((SECONDS + ${STACK_UP_TIMEOUT:-600}))
while :; do
  pending=""; broken=""
  for s in $services; do
    id=$(compose ps -q "$s" 2>/dev/null | head -n 1)
    if [ -z "$id" ]; then pending+=" $s(not created)"; continue; fi
    read -r status health exit_code restarts < <("$DOCKER" inspect -f \
      '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}} {{.RestartCount}}' "$id")
    case "$s" in
      secrets-check|airflow-init)  # one-off: must have exited 0
        if [ "$status" = exited ]; then [ "$exit_code" = 0 ] || broken+=" $s"; else pending+=" $s($status)"; fi ;;
      *)
        if [ "$restarts" != 0 ] || [ "$status" = exited ] || [ "$health" = unhealthy ]; then broken+=" $s"
        elif [ "$health" != healthy ] && [ "$health" != none ]; then pending+=" $s($health)"
        fi ;;
    esac
  done
  if [ -n "$broken" ]; then dump_logs $broken; fail "not healthy:$broken"; fi
  [ -z "$pending" ] && break
  if [ $SECONDS -gt $deadline ]; then
    dump_logs $(echo "$pending" | sed 's/([^)]*)//g')
    fail "not healthy within ${STACK_UP_TIMEOUT:-600} s:$pending"
  fi
  sleep 3
done
t_healthy=$((SECONDS - t_up))
log "every service healthy $t_healthy s after up -d"

# Loopback only: nothing of the stack listens on another address (Airflow's log servers, which
# bind every address, are off: the containers share the logs volume).
wide=$(ss -Htln | awk '{print $4}' | grep -Ev '^(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]):' \
       | grep -E ":(5432|6379|8080|8793|8794|8974|9090|9091|9093|9094|9108|9110)$" || true)
[ -z "$wide" ] || fail "the stack listens beyond loopback: $wide"

# The alarm receiver: up, and its HTTP endpoints refuse a sender without the token.
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
       --data '{"version":"4","status":"firing","alerts":[]}' http://127.0.0.1:9110/alertmanager)
[ "$code" = 401 ] || fail "the receiver answered $code (not 401) to an Alertmanager webhook without its token"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
       -H "Authorization: Bearer $RESILIENCE_RECEIVER_TOKEN" \
       --data '{"version":"4","status":"firing","receiver":"noc","alerts":[]}' http://127.0.0.1:9110/alertmanager)
case "$code" in 2??) ;; *) fail "the receiver answered $code to an empty Alertmanager webhook with its token" ;; esac
log "alarm receiver: /healthz ok, a webhook without the token refused (401), with it accepted ($code)"

# --- the pipeline ---------------------------------------------------------------------------
# The Noto sample: the inventory and the status the morning after the quake (sites out for
# power and backhaul), written as *.part and renamed, as a feed system drops files.
"$PY" -m resilience.cli sample noto-2024 --out "$run/noto" >/dev/null 2>&1 \
  || .venv/bin/resilience sample noto-2024 --out "$run/noto" >/dev/null
files=$(cd "$run/noto" && ls 0000_*.csv 0001_*.csv *_2024-01-02T0810+0900_*.csv)
for f in $files; do cp "$run/noto/$f" "$run/inbox/$f.part" && mv "$run/inbox/$f.part" "$run/inbox/$f"; done
log "dropped $(echo $files | wc -w) Noto feed files into the inbox"

t_alert_from=$SECONDS
if ! "$PY" tests/stack/check_stack.py pipeline --timeout "${STACK_PIPELINE_TIMEOUT:-600}"; then
  dump_logs airflow-scheduler airflow-worker exporter prometheus pushgateway
  fail "pipeline checks"
fi
# The DAGs' tasks went through Celery: the worker ran them and recorded their results in the
# result backend.
celery_ok=$(compose exec -T postgres psql -U postgres -d airflow -Atc \
  "SELECT count(*) FROM celery_taskmeta WHERE status = 'SUCCESS'" | tr -d '\r')
[ "${celery_ok:-0}" -ge 2 ] || fail "no successful Celery tasks in the result backend ($celery_ok)"
compose logs --no-color airflow-worker >"$run/worker.log" 2>&1 || true
grep -q "Executing workload in Celery.*dag_id=resilience_analyze" "$run/worker.log" \
  || { dump_logs airflow-worker; fail "the Celery worker's log shows no resilience_analyze task"; }
log "the tasks ran on the Celery worker ($celery_ok successful Celery tasks in the result backend)"

if ! "$PY" tests/stack/check_stack.py alert --sink "$run/alerts.jsonl" --timeout "${STACK_ALERT_TIMEOUT:-720}"; then
  dump_logs prometheus alertmanager
  fail "alert delivery"
fi
log "site-down alert delivered $((SECONDS - t_alert_from)) s after the feeds were dropped (the rule has for: 5m)"

# --- down -v -------------------------------------------------------------------------------
log "docker-compose down -v"
compose down -v --remove-orphans --timeout 30 >"$run/down.log" 2>&1 || { cat "$run/down.log" >&2; fail "docker-compose down -v"; }
up_started=0
left="$("$DOCKER" ps -aq --filter "label=com.docker.compose.project=$project")$("$DOCKER" volume ls -q --filter "label=com.docker.compose.project=$project")$("$DOCKER" network ls -q --filter "label=com.docker.compose.project=$project")"
[ -z "$left" ] || fail "docker-compose down -v left behind: $left"
log "down -v left no container, volume or network behind"
log "figures: image $((image_size / 1000000)) MB; up -d to all healthy $t_healthy s; whole test $((SECONDS - t_start)) s"
