#!/usr/bin/env bash
# `make down`: stop what `make up` started (the pids in var/run/), each with its process group.
set -uo pipefail
cd "$(dirname "$0")/.."
for name in api-server scheduler dag-processor receiver watch exporter pushgateway; do
  f=var/run/$name.pid
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL -- "-$pid" 2>/dev/null
    echo "  $name stopped (pid $pid)"
  fi
  rm -f "$f"
done
