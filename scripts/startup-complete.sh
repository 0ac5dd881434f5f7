#!/usr/bin/env bash
# For readers of the original README: start HCP in the background with demo data.
# It wraps `hcp up --demo` (pass --split for one process per service, --port N, --speed N).
# Logs go to ${HCP_LOG:-/tmp/mara-hcp.log}; stop it with scripts/stop-all-services.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
make --quiet install
mkdir -p var
pidfile=var/hcp.pid
log=${HCP_LOG:-/tmp/mara-hcp.log}
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  echo "HCP is already running (pid $(cat "$pidfile")); stop it with scripts/stop-all-services.sh"
  exit 0
fi
port=8080
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [ "${args[$i]}" = "--port" ] && port=${args[$((i + 1))]}
done
nohup .venv/bin/hcp up --demo "$@" >"$log" 2>&1 &
echo $! >"$pidfile"
for _ in $(seq 1 100); do
  if .venv/bin/hcp health "http://127.0.0.1:$port" >/dev/null 2>&1; then
    sed -n '/^=====/,/Press Ctrl-C/p' "$log" | sed '$d'
    echo "Running in the background (pid $(cat "$pidfile")), logs in $log."
    echo "Stop with scripts/stop-all-services.sh"
    exit 0
  fi
  kill -0 "$(cat "$pidfile")" 2>/dev/null || { echo "HCP failed to start; see $log" >&2; tail -n 20 "$log" >&2; exit 1; }
  sleep 0.2
done
echo "HCP did not become ready in 20 s; see $log" >&2
exit 1
