"""Time from `hcp up --demo` to the first 200 on /ready (goal: under 5 s).

Each run starts a fresh process on a free port with a fresh SQLite file, so the figure
includes migrating an empty database and seeding the demo data, the worst case a new user
meets. Prints one line per run, then min / median / max.

    .venv/bin/python bench/startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import free_port

GOAL_S = 5.0


def one_run(*, fresh: bool, workdir: Path) -> float:
    port = free_port()
    db = workdir / "hcp.db"
    if fresh and db.exists():
        db.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HCP_")}
    env["HCP_DATABASE_URL"] = f"sqlite+aiosqlite:///{db}"
    # The simulator runs as in the demo, its miners on a subnet of their own (no collisions).
    env["HCP_SIM__ASIC_SUBNET"] = f"127.{random.randint(100, 250)}.{random.randint(0, 255)}.0/24"
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "hcp", "up", "--demo", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with httpx.Client(timeout=1.0) as client:
            while True:
                if proc.poll() is not None:
                    raise RuntimeError("hcp up exited before it was ready")
                try:
                    if client.get(f"http://127.0.0.1:{port}/ready").status_code == 200:
                        return time.perf_counter() - start
                except httpx.HTTPError:
                    pass
                if time.perf_counter() - start > 60:
                    raise RuntimeError("not ready within 60 s")
                time.sleep(0.01)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for label, fresh in (("empty database (migrate + seed)", True), ("existing database", False)):
            times = []
            for i in range(args.runs):
                t = one_run(fresh=fresh, workdir=Path(tmp))
                times.append(t)
                print(f"  {label:<33} run {i + 1}: {t:.2f} s")
            med = statistics.median(times)
            verdict = "meets" if max(times) < GOAL_S else "MISSES"
            print(f"startup to /ready, {label}: min {min(times):.2f} s, median {med:.2f} s, "
                  f"max {max(times):.2f} s ({verdict} the {GOAL_S:.0f} s goal)")


if __name__ == "__main__":
    main()
