#!/usr/bin/env bash
# Start/stop the Prometheus exporter in the background: scripts/exporter.sh start|stop
set -euo pipefail
cd "$(dirname "$0")/.."
pidfile=var/run/exporter.pid
port=${RESILIENCE_EXPORTER_PORT:-9108}
case "${1:-}" in
  start)
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then kill "$(cat "$pidfile")"; sleep 1; fi
    mkdir -p var/run var/log
    nohup .venv/bin/resilience serve --port "$port" > var/log/exporter.log 2>&1 &
    echo $! > "$pidfile"
    for _ in $(seq 1 50); do
      curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && { echo "exporter on 127.0.0.1:$port (pid $(cat "$pidfile"))"; exit 0; }
      sleep 0.2
    done
    echo "exporter did not start: see var/log/exporter.log" >&2; exit 1 ;;
  stop)
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile" ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
