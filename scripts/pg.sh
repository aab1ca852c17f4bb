#!/usr/bin/env bash
# A private PostgreSQL 15 server on loopback: scripts/pg.sh start|stop|restart|url
#
# Data under $RESILIENCE_PG_DIR (default var/pg: the developer's server of `make pg-start`), port
# $RESILIENCE_PG_PORT (default 55432; `auto`: a free port). The port is written into the data
# folder's postgresql.conf at initdb and read back from there by every later command, so one
# folder is one server: `stop` and `restart` act on the server of $RESILIENCE_PG_DIR only, and
# never on another run's or the developer's. scripts/test.sh starts one per run (its own folder,
# port auto). `start` prints the server's URL; a server that does not start is an error (exit 1)
# with the end of its log on stderr.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dir=${RESILIENCE_PG_DIR:-$here/var/pg}
want_port=${RESILIENCE_PG_PORT:-55432}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
[ -n "$bin" ] || { echo "error: PostgreSQL is not installed: run scripts/system-deps.sh" >&2; exit 1; }
run() {  # PostgreSQL refuses to run as root: use the postgres system user then.
  if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
conf_port() {  # the port the data folder's server listens on (the last `port =` line wins)
  sed -n 's/^port = \([0-9][0-9]*\).*/\1/p' "$dir/postgresql.conf" 2>/dev/null | tail -1
}
port=$(conf_port || true)
port=${port:-$want_port}
url() { echo "postgresql+psycopg://resilience@127.0.0.1:$port/resilience"; }
fail() {
  echo "error: PostgreSQL (data $dir, port $port) $1" >&2
  [ -f "$dir/server.log" ] && tail -n 15 "$dir/server.log" | sed 's/^/  server.log: /' >&2
  exit 1
}

case "${1:-}" in
  start)
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$dir"; fi
    if [ ! -f "$dir/PG_VERSION" ]; then
      run "$bin/initdb -D '$dir' -U postgres --auth=trust -E UTF8 --locale=C.UTF-8" >/dev/null \
        || fail "initdb failed"
      if [ "$want_port" = auto ]; then port=$(free_port); else port=$want_port; fi
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
      tries=1
      until run "$bin/pg_ctl -D '$dir' -l '$dir/server.log' -w -t 60 start" >/dev/null 2>&1; do
        # port auto: another program may have taken the free port in between; take another one
        if [ "$want_port" != auto ] || [ "$tries" -ge 5 ]; then fail "did not start"; fi
        tries=$((tries + 1)); port=$(free_port)
        echo "port = $port" >> "$dir/postgresql.conf"
      done
    fi
    run "$bin/psql -h 127.0.0.1 -p $port -U postgres -tAc \"SELECT 1 FROM pg_roles WHERE rolname='resilience'\"" | grep -q 1 \
      || run "$bin/psql -h 127.0.0.1 -p $port -U postgres -c 'CREATE ROLE resilience LOGIN SUPERUSER'" >/dev/null \
      || fail "is not answering on 127.0.0.1:$port"
    run "$bin/psql -h 127.0.0.1 -p $port -U postgres -tAc \"SELECT 1 FROM pg_database WHERE datname='resilience'\"" | grep -q 1 \
      || run "$bin/psql -h 127.0.0.1 -p $port -U postgres -c 'CREATE DATABASE resilience OWNER resilience'" >/dev/null \
      || fail "refused to create the resilience database"
    url
    ;;
  stop)
    if [ -f "$dir/PG_VERSION" ]; then run "$bin/pg_ctl -D '$dir' -m fast -w stop" >/dev/null 2>&1 || true; fi
    ;;
  restart)
    run "$bin/pg_ctl -D '$dir' -m fast -w -l '$dir/server.log' restart" >/dev/null || fail "did not restart"
    ;;
  url) url ;;
  *) echo "usage: $0 start|stop|restart|url" >&2; exit 2 ;;
esac
