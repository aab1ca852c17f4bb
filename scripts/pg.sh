#!/usr/bin/env bash
# A private PostgreSQL 15 server on loopback for the tests: scripts/pg.sh start|stop|url
# Data under var/pg (or $RESILIENCE_PG_DIR), port $RESILIENCE_PG_PORT (default 55432).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${RESILIENCE_PG_DIR:-$here/var/pg}
port=${RESILIENCE_PG_PORT:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "PostgreSQL is not installed: run scripts/system-deps.sh" >&2; exit 1; }
run() {  # PostgreSQL refuses to run as root: use the postgres system user then.
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}
url="postgresql+psycopg://resilience@127.0.0.1:$port/resilience"
case "${1:-}" in
  start)
    mkdir -p "$dir"; [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      run "$bin/initdb -D '$dir' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >/dev/null
      # small, fast, test-only settings (fsync stays on: fault tests need real durability)
      cat >> "$dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 100
shared_buffers = 256MB
synchronous_commit = off
CONF
    fi
    if ! run "$bin/pg_ctl -D '$dir' status" >/dev/null 2>&1; then
      run "$bin/pg_ctl -D '$dir' -l '$dir/server.log' -w -t 60 start" >/dev/null
    fi
    run "$bin/psql -h 127.0.0.1 -p $port -U postgres -tAc \"SELECT 1 FROM pg_roles WHERE rolname='resilience'\"" | grep -q 1 \
      || run "$bin/psql -h 127.0.0.1 -p $port -U postgres -c 'CREATE ROLE resilience LOGIN SUPERUSER'" >/dev/null
    run "$bin/psql -h 127.0.0.1 -p $port -U postgres -tAc \"SELECT 1 FROM pg_database WHERE datname='resilience'\"" | grep -q 1 \
      || run "$bin/psql -h 127.0.0.1 -p $port -U postgres -c 'CREATE DATABASE resilience OWNER resilience'" >/dev/null
    echo "$url"
    ;;
  stop)
    if [ -f "$dir/PG_VERSION" ]; then run "$bin/pg_ctl -D '$dir' -m fast -w stop" >/dev/null 2>&1 || true; fi
    ;;
  restart)
    run "$bin/pg_ctl -D '$dir' -m fast -w -l '$dir/server.log' restart" >/dev/null
    ;;
  url) echo "$url" ;;
  *) echo "usage: $0 start|stop|restart|url" >&2; exit 2 ;;
esac
