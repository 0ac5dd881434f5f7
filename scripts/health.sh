#!/usr/bin/env bash
# Check /health and /ready of a running HCP: `scripts/health.sh` (one process on :8080),
# `scripts/health.sh --split` (every service), or `scripts/health.sh URL...`.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/hcp health "$@"
