"""The `hcp` command as a user runs it: real processes, real ports (free ones), real signals."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.conftest import NATS_URL, delete_stream, free_port, require_server, temporary_postgres_database
from tests.eventually import eventually, eventually_blocking

from hcp.core.settings import SERVICE_PORTS

pytestmark = pytest.mark.slow
HCP = [sys.executable, "-m", "hcp"]


def hcp_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HCP_")}
    env.update({"HCP_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'hcp.db'}",
                "HCP_SIM__ENABLED": "false", "HCP_LOG_FORMAT": "json"})
    env.update(extra)
    return env


class Exited(Exception):
    """The process under test died while it was awaited: no point waiting longer."""


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> float:
    start = time.monotonic()
    with httpx.Client(timeout=1.0) as client:
        def ready() -> bool:
            if proc.poll() is not None:
                raise Exited(proc.stdout.read().decode() if proc.stdout else "exited")
            return client.get(f"{url}/ready").status_code == 200

        eventually_blocking(ready, timeout, what=f"{url} ready", not_yet=(httpx.HTTPError,))
    return time.monotonic() - start


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_up_demo_serves_everything_and_stops_on_ctrl_c(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    proc = subprocess.Popen([*HCP, "up", "--demo", "--port", str(port)], env=hcp_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    processes.append(proc)
    url = f"http://127.0.0.1:{port}"
    assert wait_ready(url, proc) < 10
    with httpx.Client(base_url=url) as client:
        assert client.get("/health").json()["status"] == "ok"
        assert "hcp_http_requests_total" in client.get("/metrics").text
        assert client.get("/docs").status_code == 200
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 0
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert "DEMO MODE" in out and "admin@mara.com / admin123" in out and f"{url}/docs" in out
    assert (tmp_path / "hcp.db").exists()


def test_up_without_demo_refuses_the_public_secret(tmp_path: Path) -> None:
    done = subprocess.run([*HCP, "up", "--port", str(free_port())], env=hcp_env(tmp_path),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "HCP_SECRET_KEY is the public demo key" in done.stderr


def test_migrate_and_seed_are_idempotent(tmp_path: Path) -> None:
    env = hcp_env(tmp_path)
    for _ in range(2):
        assert "database at revision" in subprocess.run(
            [*HCP, "migrate"], env=env, capture_output=True, text=True, check=True, timeout=30).stdout
        subprocess.run([*HCP, "seed"], env=env, capture_output=True, check=True, timeout=60)
    import sqlite3

    with sqlite3.connect(tmp_path / "hcp.db") as conn:
        assert conn.execute("select count(*) from users").fetchone()[0] == 5
        assert conn.execute("select count(*) from facilities").fetchone()[0] == 3


def test_health_command_reports_up_and_down(tmp_path: Path, processes: list[subprocess.Popen[bytes]]) -> None:
    port = free_port()
    proc = subprocess.Popen([*HCP, "up", "--demo", "--port", str(port)], env=hcp_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    processes.append(proc)
    wait_ready(f"http://127.0.0.1:{port}", proc)
    dead = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run([*HCP, "health", f"http://127.0.0.1:{port}", dead],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert f"OK   http://127.0.0.1:{port}" in done.stdout and f"FAIL {dead}" in done.stdout


def free_port_block() -> int:
    """A base port such that base + each service's offset from 8080 is free."""
    offsets = [p - SERVICE_PORTS["orchestrator"] for p in SERVICE_PORTS.values()]
    for _ in range(200):
        base = free_port()
        if base + max(offsets) > 65535:
            continue
        try:
            socks = []
            for off in offsets:
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + off))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free block of ports")


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("stop", ["sigint", "sigkill"])
async def test_split_mode_on_postgres_and_nats(
    stop: str, tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    require_server("nats", NATS_URL)
    async with temporary_postgres_database() as db_url:
        base = free_port_block()
        stream = f"HCPSPLIT_{base}"
        env = hcp_env(tmp_path, HCP_DATABASE_URL=db_url, HCP_BUS_URL=NATS_URL,
                      HCP_BUS_PREFIX=f"hcpsplit{base}", HCP_BUS_STREAM=stream)
        proc = subprocess.Popen([*HCP, "up", "--split", "--demo", "--port", str(base)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        processes.append(proc)
        try:
            start = time.monotonic()
            ports = {name: base + port - 8080 for name, port in SERVICE_PORTS.items()}
            for name, port in ports.items():
                wait_ready(f"http://127.0.0.1:{port}", proc, timeout=20 - (time.monotonic() - start))
                with httpx.Client() as client:
                    assert client.get(f"http://127.0.0.1:{port}/health").json()["service"] == name
            assert time.monotonic() - start < 20
            kids = children_of(proc.pid)
            assert len(kids) == len(SERVICE_PORTS)
            proc.send_signal(signal.SIGINT if stop == "sigint" else signal.SIGKILL)
            proc.wait(timeout=20)
            await eventually(lambda: not any(alive(k) for k in kids), 15, what="no service outlives hcp up --split",
                             interval=0.1)
        finally:
            await delete_stream(stream)
            for kid in children_of(proc.pid):
                os.kill(kid, signal.SIGKILL)


def test_split_mode_needs_postgres_and_nats(tmp_path: Path) -> None:
    done = subprocess.run([*HCP, "up", "--split", "--demo"], env=hcp_env(tmp_path),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2 and "needs PostgreSQL" in done.stderr


def test_sim_alone_serves_its_api_to_a_demo_operator(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    from tests.conftest import random_loopback_subnet

    port = free_port()
    proc = subprocess.Popen([*HCP, "sim", "--port", str(port), "--gpus", "2", "--asics", "3",
                             "--subnet", random_loopback_subnet()],
                            env=hcp_env(tmp_path, HCP_SIM__ASIC_WEB_PORT=str(free_port())),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    processes.append(proc)
    url = f"http://127.0.0.1:{port}"
    wait_ready(url, proc)
    with httpx.Client(base_url=url) as client:
        assert client.get("/health").json()["service"] == "simulator"
        token = client.post("/api/v1/auth/login",
                            json={"email": "ops@mara.com", "password": "operator123"}).json()["access_token"]
        units = client.get("/api/v1/sim/units", headers={"Authorization": f"Bearer {token}"}).json()
        assert units["total"] == 5 and {u["kind"] for u in units["items"]} == {"gpu", "asic"}
