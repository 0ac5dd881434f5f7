#!/usr/bin/env bash
# Make sure the servers that the PostgreSQL and NATS tests (and split mode) need are running
# on this machine: PostgreSQL on 127.0.0.1:5432 (trust auth) and NATS with JetStream on :4222.
# Starts what is installed but down; installs from Debian's packages if missing (root only).
set -euo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 50); do up "$1" && return 0; sleep 0.2; done
  echo "services: nothing answers on 127.0.0.1:$1" >&2; return 1
}

ensure_postgres() {
  up 5432 && return 0
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  fi
  local version; version=$(ls /etc/postgresql | sort -V | tail -n 1)
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -qE '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || pg_ctlcluster "$version" main start
  wait_port 5432
}

ensure_nats() {
  up 4222 && return 0
  command -v nats-server >/dev/null || command -v /usr/sbin/nats-server >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
  }
  mkdir -p /var/lib/nats-server
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_port 4222
}

# Prometheus is only installed, not started: the observability test runs its own on a free port
# against `hcp up` (tests/deploy/test_observability.py). Installed in CI, where that test must run.
ensure_prometheus() {
  command -v prometheus >/dev/null && command -v promtool >/dev/null && return 0
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
}

# nginx likewise: the gateway test checks deploy/nginx/hcp.conf with the real nginx.
ensure_nginx() {
  command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] && return 0
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
}

case "${1:-ensure}" in
  ensure) ensure_postgres; ensure_nats
          if [ "${CI:-}" = "true" ]; then ensure_prometheus; ensure_nginx; fi
          echo "services: PostgreSQL :5432 and NATS :4222 are up" ;;
  *) echo "usage: $0 ensure" >&2; exit 2 ;;
esac
