#!/usr/bin/env bash
# Stop what scripts/startup-complete.sh started (one process or all services of split mode).
set -euo pipefail
cd "$(dirname "$0")/.."
pidfile=var/hcp.pid
if [ ! -f "$pidfile" ] || ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "HCP is not running"
  rm -f "$pidfile"
  exit 0
fi
pid=$(cat "$pidfile")
kill -TERM "$pid"
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "HCP stopped"; exit 0; }
  sleep 0.1
done
echo "HCP did not stop in 10 s; killing it" >&2
kill -KILL "$pid" 2>/dev/null || true
rm -f "$pidfile"
