"""The nginx gateway config of split mode routes to the services' seed ports and rate-limits."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

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
    done = subprocess.run(["nginx", "-t", "-c", str(CONF)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
