"""Billing end to end with the hybrid simulator at 500x, on SQLite and PostgreSQL: workloads of
known durations run, are metered from their workload.state events, and invoice to the exact
sum of rate x running time, to the cent; a workload over the budget is refused at admission."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from tests.conftest import (
    DEMO_CREDENTIALS,
    free_port,
    login_headers,
    random_loopback_subnet,
    running_app,
    temporary_postgres_database,
)
from tests.eventually import eventually

from hcp.app import create_app
from hcp.core.money import to_cents
from hcp.core.settings import Settings

API = "/api/v1"
RATES = {"H100": Decimal("2.50"), "A100": Decimal("1.60")}
MULTIPLIER = {2: Decimal("0.80"), 5: Decimal(1), 10: Decimal("1.50")}


@pytest.fixture(params=["sqlite", "postgresql"])
async def fleet(request: pytest.FixtureRequest, make_settings: Callable[..., Settings]) -> AsyncIterator[Any]:
    async with contextlib.AsyncExitStack() as stack:
        overrides: dict[str, Any] = {}
        if request.param == "postgresql":
            overrides["database_url"] = await stack.enter_async_context(temporary_postgres_database())
        settings = make_settings(
            **overrides, sim={"enabled": True, "asics": 0, "gpus": 10, "asic_subnet": random_loopback_subnet(),
                              "asic_web_port": free_port(), "speed": 500},
            orchestrator={"tick_s": 0.05})
        client = await stack.enter_async_context(running_app(create_app(settings)))
        h = {role: await login_headers(client, *creds) for role, creds in DEMO_CREDENTIALS.items()}

        async def fleet_online() -> bool:
            gpus = (await client.get(f"{API}/resources", params={"kind": "gpu"}, headers=h["operator"])).json()
            assert gpus["total"] == 10 and all(u["status"] == "online" for u in gpus["items"]), gpus
            return True

        await eventually(fleet_online, 30)
        yield client, h


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def test_invoice_equals_rate_times_running_time(fleet: Any) -> None:
    client, h = fleet
    jobs = [("H100", 1, 5, 60), ("H100", 2, 10, 90), ("A100", 1, 2, 45)]
    made = []
    for model, count, priority, duration in jobs:
        created = await client.post(f"{API}/workloads", headers=h["customer"], json={
            "name": f"{model}-{count}", "type": "ai_training", "priority": priority, "gpu_model": model,
            "gpu_count": count, "duration_s": duration})
        assert created.status_code == 201, created.text
        made.append(created.json()["id"])
    async def finished(workload_id: str) -> dict[str, Any]:
        w: dict[str, Any] = (await client.get(f"{API}/workloads/{workload_id}", headers=h["customer"])).json()
        assert w["status"] in ("completed", "failed", "cancelled"), w
        return w

    done = []
    for workload_id in made:
        w = await eventually(lambda workload_id=workload_id: finished(workload_id), 60)
        assert w["status"] == "completed"
        done.append(w)
    expected_lines = []
    exact_total = Decimal(0)
    for w in done:
        ran = _ts(w["finished_at"]) - _ts(w["started_at"])
        run_s = Decimal(ran.days * 86400 + ran.seconds) + Decimal(ran.microseconds) / 1_000_000
        assert run_s >= w["duration_s"]
        rate = RATES[w["gpu_model"]] * MULTIPLIER[w["priority"]]
        expected_lines.append(to_cents(run_s * w["gpu_count"] * rate / 3600))
        exact_total += run_s * w["gpu_count"] * rate / 3600
    # The usage arrives through the outbox and the bus: wait for all three workloads.
    async def metered() -> bool:
        usage = (await client.get(f"{API}/billing/usage", headers=h["customer"],
                                  params={"group_by": "workload"})).json()
        assert {i["workload_id"] for i in usage["items"]} >= set(made), usage
        return True

    await eventually(metered, 30)
    tenant_id = done[0]["tenant_id"]
    invoice = await client.post(f"{API}/billing/invoices", headers=h["admin"], json={"tenant_id": tenant_id})
    assert invoice.status_code == 201, invoice.text
    body = invoice.json()
    subtotal = sum(expected_lines, Decimal(0))
    assert sorted(Decimal(li["amount_usd"]) for li in body["lines"]) == sorted(expected_lines), body["lines"]
    assert Decimal(body["subtotal_usd"]) == subtotal
    assert Decimal(body["total_usd"]) == subtotal + to_cents(subtotal * Decimal("0.0825"))
    assert body["status"] == "issued"
    # Billed once: a second on-demand invoice finds nothing left to bill.
    again = await client.post(f"{API}/billing/invoices", headers=h["admin"], json={"tenant_id": tenant_id})
    assert again.status_code == 422
    # Over budget: refused at admission with the spend, the estimate and the limit.
    lowered = await client.put(f"{API}/billing/budget", headers=h["customer"], json={"monthly_limit_usd": "100"})
    assert lowered.status_code == 200, lowered.text
    # Spend is the month's exact cost rounded once (the invoice rounds each line).
    spent = to_cents(exact_total)
    assert Decimal(lowered.json()["spent_usd"]) == spent
    refused = await client.post(f"{API}/workloads", headers=h["customer"], json={
        "name": "too-big", "type": "ai_training", "priority": 5, "gpu_model": "H100", "gpu_count": 1,
        "duration_s": 40 * 3600})
    assert refused.status_code == 402, refused.text
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert error["details"] == {"month": error["details"]["month"], "spent_usd": f"{spent:.2f}",
                                "estimate_usd": "100.00", "limit_usd": "100.00",
                                "remaining_usd": f"{100 - spent:.2f}"}
    assert "exceeds the monthly budget of $100.00" in error["message"]
    listed = (await client.get(f"{API}/workloads", headers=h["customer"])).json()
    assert "too-big" not in {w["name"] for w in listed["items"]}  # nothing written
