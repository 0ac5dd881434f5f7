"""Demo demand: the three demo customers keep 15 workloads active between them (Acme 5), as
real submissions that the loop places; a finished one is replaced."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
from tests.conftest import DEMO_CREDENTIALS, free_port, login_headers, random_loopback_subnet, running_app
from tests.eventually import eventually

from hcp.app import create_app
from hcp.core.settings import Settings

API = "/api/v1"
ACTIVE = ("queued", "scheduled", "switching", "running", "preempted")


async def active_by_tenant(client: httpx.AsyncClient, admin: dict[str, str]) -> tuple[Counter[str], list[Any]]:
    """One snapshot (one request): counted status by status, a workload moving from queued to
    running between two requests would be counted twice."""
    page = (await client.get(f"{API}/workloads", params={"limit": 1000}, headers=admin)).json()
    assert page["total"] <= 1000
    items = [w for w in page["items"] if w["status"] in ACTIVE]
    return Counter(w["tenant_id"] for w in items), items


async def test_demo_customers_keep_fifteen_workloads_active(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        sim={"enabled": True, "asics": 0, "gpus": 10, "asic_subnet": random_loopback_subnet(),
             "asic_web_port": free_port(), "speed": 1},
        orchestrator={"tick_s": 0.05, "demo_demand": True, "demo_demand_interval_s": 0.1},
    )
    async with running_app(create_app(settings)) as client:
        admin = await login_headers(client, *DEMO_CREDENTIALS["admin"])
        acme = await login_headers(client, *DEMO_CREDENTIALS["customer"])
        me = (await client.get(f"{API}/auth/me", headers=acme)).json()
        tenants = {t["slug"]: t["id"] for t in (await client.get(f"{API}/auth/tenants", headers=admin)).json()["items"]}
        assert me["tenant_id"] == tenants["acme"]
        full = Counter({tenants["acme"]: 5, tenants["globex"]: 5, tenants["initech"]: 5})

        async def topped_up() -> list[Any]:
            counts, items = await active_by_tenant(client, admin)
            assert counts == full, counts
            return items

        items = await eventually(topped_up, 30, what="15 active workloads", interval=0.1)
        assert len({w["type"] for w in items}) >= 2

        # They are real workloads: the loop places them on the fleet.
        async def one_running() -> bool:
            _, items = await active_by_tenant(client, admin)
            assert any(w["status"] == "running" for w in items), [w["status"] for w in items]
            return True

        await eventually(one_running, 20, what="a demo workload running", interval=0.1)
        # Acme's customer sees its five; a cancelled one is replaced, never over-filled.
        mine = (await client.get(f"{API}/workloads", headers=acme)).json()["items"]
        gone = next(w for w in mine if w["status"] in ACTIVE)
        cancelled = await client.post(f"{API}/workloads/{gone['id']}/cancel", headers=acme)
        assert cancelled.status_code == 200, cancelled.text
        async def replaced() -> bool:
            counts, items = await active_by_tenant(client, admin)
            assert gone["id"] not in {w["id"] for w in items} and counts[tenants["acme"]] == 5, counts
            return True

        await eventually(replaced, 10, what="the cancelled workload replaced", interval=0.1)
        # Never over-filled: a few more rounds of the generator (every 0.1 s) add nothing.
        await asyncio.sleep(0.5)
        counts, _ = await active_by_tenant(client, admin)
        assert counts == Counter({tenants["acme"]: 5, tenants["globex"]: 5, tenants["initech"]: 5})
