#!/usr/bin/env bash
# Print the path of the chromium that the console's browser tests and budgets benchmark drive:
# $HCP_CHROMIUM if set, else Debian's /usr/bin/chromium. In CI a missing chromium is installed
# from Debian's packages (Playwright never downloads a browser here). Elsewhere, with none found,
# prints nothing and exits 1, so the caller can skip with a reason.
set -euo pipefail

DEBIAN_CHROMIUM=/usr/bin/chromium

if [ -n "${HCP_CHROMIUM:-}" ]; then
  if [ ! -x "$HCP_CHROMIUM" ]; then
    echo "chromium: HCP_CHROMIUM=$HCP_CHROMIUM is not an executable file" >&2; exit 1
  fi
  echo "$HCP_CHROMIUM"; exit 0
fi

if [ -x "$DEBIAN_CHROMIUM" ]; then
  echo "$DEBIAN_CHROMIUM"; exit 0
fi

if [ "${CI:-}" = "true" ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  # stdout carries only the path: apt's output is dropped, its errors go to stderr.
  $sudo apt-get update -qq >/dev/null
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  if [ -x "$DEBIAN_CHROMIUM" ]; then echo "$DEBIAN_CHROMIUM"; exit 0; fi
  echo "chromium: installed Debian's chromium but $DEBIAN_CHROMIUM is missing" >&2; exit 1
fi

echo "chromium: none found (install Debian's chromium or set HCP_CHROMIUM)" >&2
exit 1
