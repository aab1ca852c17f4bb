#!/usr/bin/env bash
# A private dockerd for the stack test (make test-stack): no bridge, no iptables; every container
# uses host networking. Reuses a daemon already answering on its socket.
#   scripts/dockerd.sh start   prints DOCKER_HOST=...; exit 0 when the daemon answers
#                              (writes $RESILIENCE_DOCKERD_DIR/started-by-us when it started it)
#   scripts/dockerd.sh stop    stops the daemon if this script started it
#   scripts/dockerd.sh env     prints the DOCKER_HOST value
# Settings: RESILIENCE_DOCKERD_DIR (socket, pid, exec root; default /tmp/dockerd),
# RESILIENCE_DOCKER_DATA (images and volumes; default /var/lib/docker-resilience).
# Needs root and Debian's docker.io (scripts/system-deps.sh).
set -euo pipefail
dir=${RESILIENCE_DOCKERD_DIR:-/tmp/dockerd}
data=${RESILIENCE_DOCKER_DATA:-/var/lib/docker-resilience}
sock=$dir/docker.sock
export DOCKER_HOST=unix://$sock
DOCKER=${DOCKER:-/usr/bin/docker}
[ -x "$DOCKER" ] || DOCKER=$(command -v docker)

answers() { timeout 10 "$DOCKER" version --format '{{.Server.Version}}' >/dev/null 2>&1; }

case "${1:-}" in
  env) echo "$DOCKER_HOST" ;;
  start)
    if answers; then echo "DOCKER_HOST=$DOCKER_HOST"; exit 0; fi
    [ "$(id -u)" -eq 0 ] || { echo "dockerd.sh: dockerd needs root" >&2; exit 1; }
    command -v dockerd >/dev/null || { echo "dockerd.sh: dockerd is not installed (scripts/system-deps.sh)" >&2; exit 1; }
    mkdir -p "$dir/exec" "$data"
    rm -f "$sock" "$dir/started-by-us"
    setsid nohup dockerd --bridge=none --iptables=false --ip6tables=false \
      --data-root "$data" --exec-root "$dir/exec" -H "unix://$sock" --pidfile "$dir/docker.pid" \
      >"$dir/dockerd.log" 2>&1 </dev/null &
    for _ in $(seq 1 60); do
      if answers; then touch "$dir/started-by-us"; echo "DOCKER_HOST=$DOCKER_HOST"; exit 0; fi
      sleep 1
    done
    echo "dockerd.sh: dockerd did not answer within 60 s; its log ($dir/dockerd.log):" >&2
    tail -n 30 "$dir/dockerd.log" >&2 || true
    exit 1 ;;
  stop)
    [ -f "$dir/started-by-us" ] || exit 0
    pid=$(cat "$dir/docker.pid" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
      if kill -0 "$pid" 2>/dev/null; then echo "dockerd.sh: dockerd $pid did not stop in 30 s" >&2; exit 1; fi
    fi
    rm -f "$dir/started-by-us" ;;
  *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
