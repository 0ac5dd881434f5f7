"""The nginx gateway config of split mode routes to the services' seed ports and rate-limits."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from tests.conftest import free_port
from tests.eventually import eventually_blocking

from hcp.core.settings import SERVICE_PORTS

CONF = Path(__file__).parents[2] / "deploy" / "nginx" / "hcp.conf"


def test_upstreams_are_the_seed_ports_of_every_service() -> None:
    upstreams = dict(re.findall(r"upstream (\w+)\s*{\s*server 127\.0\.0\.1:(\d+);", CONF.read_text()))
    assert {name: int(port) for name, port in upstreams.items()} == SERVICE_PORTS


def test_login_is_rate_limited_harder_than_the_api() -> None:
    text = CONF.read_text()
    assert "zone=login_per_client" in text.split("location = /api/v1/auth/login", 1)[1].split("}", 1)[0]
    assert "limit_req_status 429" in text


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (apt-get install nginx)")
def test_nginx_accepts_the_config() -> None:
    # As the config's header says to run it: its temporary files' folder made first (nginx
    # creates the folders inside it, not the folder itself).
    Path("/tmp/hcp-nginx").mkdir(exist_ok=True)
    done = subprocess.run(["nginx", "-t", "-c", str(CONF)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr


def running_gateway_config(tmp_path: Path, port: int, dist: Path) -> Path:
    """The gateway's config, listening on a free port with its own pid file, serving `dist`."""
    text = CONF.read_text().replace("listen 8000;", f"listen 127.0.0.1:{port};")
    text = text.replace("pid /tmp/hcp-nginx.pid;", f"pid {tmp_path}/nginx.pid;")
    text = text.replace("/tmp/hcp-nginx/", f"{tmp_path}/")
    text = text.replace("root web/dist;", f"root {dist};").replace("access_log /dev/stdout;", "access_log off;")
    if os.geteuid() == 0:  # workers would drop to nobody, who cannot read pytest's private tmp_path
        text = "user root;\n" + text
    conf = tmp_path / "hcp.conf"
    conf.write_text(text)
    return conf


@pytest.mark.skipif(shutil.which("nginx") is None and os.environ.get("CI") != "true",
                    reason="nginx is not installed (apt-get install nginx)")
def test_the_gateway_serves_the_console_as_hcp_up_does(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><div id=root></div>")
    script = "export const answer = 42;\n" * 100
    (dist / "assets" / "index-Ab12.js").write_text(script)
    (dist / "assets" / "index-Ab12.js.map").write_text("{}")
    port = free_port()
    conf = running_gateway_config(tmp_path, port, dist)
    nginx = subprocess.Popen(["nginx", "-c", str(conf), "-p", str(tmp_path), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        html = {"accept": "text/html,*/*;q=0.8"}
        eventually_blocking(lambda: httpx.get(base + "/health").status_code == 200, 10, what="nginx up",
                            not_yet=(httpx.HTTPError,))
        root = httpx.get(base + "/", headers=html)
        assert root.status_code == 200 and "id=root" in root.text and root.headers["cache-control"] == "no-cache"
        page = httpx.get(base + "/app/workloads?status=running", headers=html)
        assert page.status_code == 200 and page.text == root.text
        assert httpx.get(base + "/app/workloads", headers={"accept": "application/json"}).status_code == 404
        asset = httpx.get(base + "/assets/index-Ab12.js", headers={"accept-encoding": "gzip"})
        assert asset.status_code == 200 and asset.text == script and asset.headers["content-encoding"] == "gzip"
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert httpx.get(base + "/assets/index-Zz.js", headers=html).status_code == 404
        assert httpx.get(base + "/assets/index-Ab12.js.map").status_code == 404
        # The API is the services' (none runs here: the gateway answers 502, never the console).
        assert httpx.get(base + "/api/v1/workloads", headers=html).status_code == 502
        assert httpx.get(base + "/docs", headers=html).status_code == 502
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
