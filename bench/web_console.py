"""The web console's budgets, in Debian's chromium against a real `hcp up --demo`.

(a) JavaScript of a cold landing load, gzipped (gzip -9 of each .js body, summed; the bytes on
the wire are shown too): <= 250 kB. (b) Landing first contentful paint, median of cold loads:
<= 1 s. (c) Dashboard interactive: from the click on "Sign in" to the operator's Hashrate
showing a value, median of cold sign-ins: <= 2 s. (d) Event to screen: with the customer
dashboard open, from submitting a workload through the API to its name on the page (its
`workload.state` event goes through the bus and the WebSocket), median and max: <= 1 s.

Builds nothing: expects `web/dist` (cd web && npm run build) and web/node_modules. The
platform runs on a free port with a fresh SQLite file and its miners on a loopback /24 of their
own; the browser is driven by web/e2e/bench.mjs (Node, playwright-core), whose JSON this reads.
Exits 1 when a budget is missed, 2 when it cannot run.

    .venv/bin/python bench/web_console.py [--runs 5] [--latency-runs 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from common import free_port

REPO = Path(__file__).resolve().parents[1]
WEB = REPO / "web"
DIST = WEB / "dist"
BUDGET_JS_GZIP_KB = 250.0
BUDGET_FCP_S = 1.0
BUDGET_INTERACTIVE_S = 2.0
BUDGET_EVENT_TO_SCREEN_S = 1.0


def find_chromium() -> str | None:
    done = subprocess.run([str(REPO / "scripts" / "chromium.sh")], capture_output=True, text=True)
    path = done.stdout.strip()
    return path if done.returncode == 0 and path else None


def start_platform(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    # A copy of the build, so that a rebuild of web/dist meanwhile cannot change the pages measured.
    console_dir = workdir / "dist"
    shutil.copytree(DIST, console_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HCP_")}
    env.update({
        "HCP_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'hcp.db'}",
        # The simulated miners on a subnet of their own (no collisions with another platform).
        "HCP_SIM__ASIC_SUBNET": f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24",
        "HCP_SIM__ASIC_WEB_PORT": str(free_port()),
        "HCP_SERVER__CONSOLE_DIR": str(console_dir),
    })
    log = (workdir / "hcp.log").open("wb")
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "hcp"), "up", "--demo", "--port", str(port),
                             "--host", "127.0.0.1"], env=env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    start = time.monotonic()
    with httpx.Client(timeout=1.0) as client:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"hcp up exited before it was ready:\n{(workdir / 'hcp.log').read_text()[-3000:]}")
            try:
                if client.get(f"{url}/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() - start > 60:
                stop_platform(proc)
                raise RuntimeError("hcp up not ready within 60 s")
            time.sleep(0.1)
        page = client.get(f"{url}/", headers={"accept": "text/html"})
        if page.status_code != 200 or '<div id="root"' not in page.text:
            stop_platform(proc)
            raise RuntimeError(f"hcp up does not serve the console at / (GET / -> {page.status_code})")
    return proc, url


def stop_platform(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def verdicts(figures: dict[str, Any]) -> list[tuple[str, str, bool]]:
    """(figure, budget, within it) for each budget."""
    js = figures["landing_js"]
    fcp = figures["landing_fcp_ms"]["median"] / 1000
    interactive = figures["dashboard_interactive_ms"]["median"] / 1000
    event = figures["event_to_screen_ms"]
    gzip_kb = js["gzip_bytes"] / 1000
    rows = [
        (f"landing JavaScript: {gzip_kb:.1f} kB gzipped ({js['raw_bytes'] / 1000:.1f} kB raw, "
         f"{js['transfer_bytes'] / 1000:.1f} kB on the wire, {len(js['files'])} files)",
         f"<= {BUDGET_JS_GZIP_KB:.0f} kB", gzip_kb <= BUDGET_JS_GZIP_KB),
        (f"landing first contentful paint: median {fcp:.3f} s of {len(figures['landing_fcp_ms']['runs'])} cold loads",
         f"<= {BUDGET_FCP_S:.0f} s", fcp <= BUDGET_FCP_S),
        (f"dashboard interactive after sign-in: median {interactive:.3f} s of "
         f"{len(figures['dashboard_interactive_ms']['runs'])}",
         f"<= {BUDGET_INTERACTIVE_S:.0f} s", interactive <= BUDGET_INTERACTIVE_S),
    ]
    if event["median"] is None:
        rows.append(("event to screen: no workload was shown", f"<= {BUDGET_EVENT_TO_SCREEN_S:.0f} s", False))
    else:
        median_s, max_s = event["median"] / 1000, event["max"] / 1000
        missed = f", {event['missed']} never shown" if event["missed"] else ""
        within = event["missed"] == 0 and max_s <= BUDGET_EVENT_TO_SCREEN_S
        rows.append((f"event to screen: median {median_s:.3f} s, max {max_s:.3f} s of {len(event['runs'])}{missed}",
                     f"<= {BUDGET_EVENT_TO_SCREEN_S:.0f} s", within))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="cold loads for FCP and sign-ins (median)")
    parser.add_argument("--latency-runs", type=int, default=10, help="workloads submitted for event to screen")
    parser.add_argument("--json", action="store_true", help="print the figures and verdicts as JSON")
    args = parser.parse_args()

    if not (DIST / "index.html").is_file():
        print("web_console: no web/dist: build it first (cd web && npm run build)", file=sys.stderr)
        return 2
    if not (WEB / "node_modules" / "playwright-core").is_dir():
        print("web_console: no web/node_modules: cd web && npm ci", file=sys.stderr)
        return 2
    chromium = find_chromium()
    if chromium is None:
        print("web_console: no chromium: install Debian's chromium or set HCP_CHROMIUM", file=sys.stderr)
        return 2

    with tempfile.TemporaryDirectory(prefix="hcp-bench-web-") as tmp:
        proc, url = start_platform(Path(tmp))
        try:
            done = subprocess.run(["node", str(WEB / "e2e" / "bench.mjs"), "--url", url, "--chromium", chromium,
                                   "--runs", str(args.runs), "--latency-runs", str(args.latency_runs)],
                                  cwd=WEB, stdout=subprocess.PIPE, stderr=None if not args.json else subprocess.DEVNULL,
                                  text=True, timeout=600)
        finally:
            stop_platform(proc)
    if done.returncode != 0:
        print(f"web_console: bench.mjs failed ({done.returncode})", file=sys.stderr)
        return 2
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    rows = verdicts(figures)
    if args.json:
        print(json.dumps({"figures": figures, "budgets": [
            {"figure": figure, "budget": budget, "pass": ok} for figure, budget, ok in rows]}, indent=2))
    else:
        for figure, budget, ok in rows:
            print(f"{figure} (budget {budget}): {'PASS' if ok else 'FAIL'}")
    return 0 if all(ok for _, _, ok in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
