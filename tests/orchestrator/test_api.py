"""The workloads API: validation (422 naming the field), tenant isolation, cancellation, audit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import DEMO_CREDENTIALS, login_headers, running_app

from hcp.app import create_app
from hcp.core.platform import Platform
from hcp.core.settings import Settings
from hcp.orchestrator import lifecycle
from hcp.orchestrator.lifecycle import Change

API = "/api/v1"
GOOD: dict[str, Any] = {"name": "llama-finetune", "type": "ai_training", "priority": 5, "gpu_model": "H100",
                        "gpu_count": 2, "duration_s": 3600, "max_price_usd_per_gpu_hour": "2.75"}


@pytest.fixture
async def app(make_settings: Callable[..., Settings]) -> AsyncIterator[FastAPI]:
    # The loop stays off: these tests look at the API, not at placement.
    yield create_app(make_settings(orchestrator={"run": False}))


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(app) as client:
        headers = {role: await login_headers(client, *creds) for role, creds in DEMO_CREDENTIALS.items()}
        # Three H100s in one facility: the largest gang anyone can ask for here.
        for i in range(3):
            registered = await client.post(f"{API}/resources/agents/register", headers=headers["admin"], json={
                "driver": "nvml", "address": f"nvml://GPU-{i}", "facility_id": "tx-north", "push": True,
                "model": "H100", "serial": f"GPU-{i}"})
            assert registered.status_code == 200, registered.text
        client.headers_of = headers  # type: ignore[attr-defined]
        yield client


def roles(http: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    return http.headers_of  # type: ignore[attr-defined,no-any-return]


async def test_submit_returns_the_queued_workload(http: httpx.AsyncClient) -> None:
    created = await http.post(f"{API}/workloads", json=GOOD, headers=roles(http)["customer"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "queued" and body["units"] == [] and body["preemptible"] is True
    assert body["max_price_usd_per_gpu_hour"] == "2.7500" and body["gpu_count"] == 2
    me = (await http.get(f"{API}/auth/me", headers=roles(http)["customer"])).json()
    assert body["tenant_id"] == me["tenant_id"] and body["created_by"] == me["id"]
    detail = (await http.get(f"{API}/workloads/{body['id']}", headers=roles(http)["customer"])).json()
    assert [(h["from"], h["to"]) for h in detail["history"]] == [(None, "submitted"), ("submitted", "queued")]
    inference = await http.post(f"{API}/workloads", json={**GOOD, "type": "ai_inference"},
                                headers=roles(http)["customer"])
    assert inference.json()["preemptible"] is False  # the class's default


@pytest.mark.parametrize(("change", "field"), [
    ({"type": "mining"}, "type"), ({"priority": 0}, "priority"), ({"priority": 11}, "priority"),
    ({"gpu_model": "V100"}, "gpu_model"), ({"gpu_count": 0}, "gpu_count"), ({"gpu_count": 9}, "gpu_count"),
    ({"duration_s": 0}, "duration_s"), ({"duration_s": "NaN"}, "duration_s"),
    ({"max_price_usd_per_gpu_hour": "-1"}, "max_price_usd_per_gpu_hour"), ({"name": ""}, "name"),
    ({"gpu_count": 4}, "gpu_count"),  # no facility holds four H100s here
    ({"gpu_model": "A100"}, "gpu_count"),  # nor any A100
    ({"colour": "red"}, "colour"),
])
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    http: httpx.AsyncClient, change: dict[str, Any], field: str,
) -> None:
    refused = await http.post(f"{API}/workloads", json={**GOOD, **change}, headers=roles(http)["customer"])
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["details"][0]["field"] == field
    listed = (await http.get(f"{API}/workloads", headers=roles(http)["admin"])).json()
    assert listed["total"] == 0


async def test_staff_submit_for_a_named_tenant(http: httpx.AsyncClient) -> None:
    staff = roles(http)["operator"]
    missing = await http.post(f"{API}/workloads", json=GOOD, headers=staff)
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "tenant_id"
    unknown = await http.post(f"{API}/workloads", json={**GOOD, "tenant_id": "nope"}, headers=staff)
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "tenant_id"
    tenants = (await http.get(f"{API}/auth/tenants", headers=roles(http)["admin"])).json()["items"]
    globex = next(t["id"] for t in tenants if t["slug"] == "globex")
    made = await http.post(f"{API}/workloads", json={**GOOD, "tenant_id": globex}, headers=staff)
    assert made.status_code == 201 and made.json()["tenant_id"] == globex
    sneaky = await http.post(f"{API}/workloads", json={**GOOD, "tenant_id": globex}, headers=roles(http)["customer"])
    assert sneaky.status_code == 422


async def test_lists_are_tenant_scoped_and_filter_by_status(http: httpx.AsyncClient) -> None:
    maria = await login_headers(http, "maria@globex.com", "customer123")
    for headers in (roles(http)["customer"], roles(http)["customer"], maria):
        assert (await http.post(f"{API}/workloads", json=GOOD, headers=headers)).status_code == 201
    mine = (await http.get(f"{API}/workloads", headers=roles(http)["customer"])).json()
    assert mine["total"] == 2 and len(mine["items"]) == 2
    everyone = (await http.get(f"{API}/workloads", params={"status": "queued", "limit": 1},
                               headers=roles(http)["operator"])).json()
    assert everyone["total"] == 3 and len(everyone["items"]) == 1
    none = (await http.get(f"{API}/workloads", params={"status": "running"}, headers=roles(http)["admin"])).json()
    assert none["total"] == 0
    bad = await http.get(f"{API}/workloads", params={"status": "sleeping"}, headers=roles(http)["admin"])
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "status"


async def test_cancel_once_and_never_after_completion(http: httpx.AsyncClient, app: FastAPI) -> None:
    customer = roles(http)["customer"]
    first = (await http.post(f"{API}/workloads", json=GOOD, headers=customer)).json()
    cancelled = await http.post(f"{API}/workloads/{first['id']}/cancel", headers=customer)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    again = await http.post(f"{API}/workloads/{first['id']}/cancel", headers=customer)
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"
    second = (await http.post(f"{API}/workloads", json=GOOD, headers=customer)).json()
    platform: Platform = app.state.platform
    async with platform.db.transaction() as session:  # as the loop would run it to the end
        w = await lifecycle.lock(session, second["id"])
        now = platform.clock.now()
        await lifecycle.transition(session, w, "scheduled",
                                   change=Change(at=now, units=("a", "b"), facility_id="tx-north"))
        for step in ("switching", "running", "completed"):
            await lifecycle.transition(session, w, step, change=Change(at=now))
    done = await http.post(f"{API}/workloads/{second['id']}/cancel", headers=customer)
    assert done.status_code == 409 and "completed" in done.json()["error"]["message"]
    audit = (await http.get(f"{API}/auth/audit", headers=roles(http)["admin"])).json()["items"]
    assert [e["object_id"] for e in audit if e["action"] == "workload.cancel"] == [first["id"]]


async def test_the_same_idempotency_key_submits_once(http: httpx.AsyncClient) -> None:
    headers = {**roles(http)["customer"], "Idempotency-Key": "submit-1"}
    first = await http.post(f"{API}/workloads", json=GOOD, headers=headers)
    second = await http.post(f"{API}/workloads", json=GOOD, headers=headers)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert (await http.get(f"{API}/workloads", headers=roles(http)["customer"])).json()["total"] == 1


async def test_switches_are_for_staff(http: httpx.AsyncClient) -> None:
    listed = await http.get(f"{API}/orchestrator/switches", headers=roles(http)["operator"])
    assert listed.status_code == 200 and listed.json() == {"items": [], "total": 0}
    assert (await http.get(f"{API}/orchestrator/switches", headers=roles(http)["customer"])).status_code == 403


async def test_a_workload_over_the_budget_is_refused_at_admission_and_writes_nothing(http: httpx.AsyncClient) -> None:
    capped = await http.put(f"{API}/billing/budget", json={"monthly_limit_usd": "1.00"},
                            headers=roles(http)["customer"])
    assert capped.status_code == 200, capped.text
    refused = await http.post(f"{API}/workloads", json=GOOD, headers=roles(http)["customer"])
    assert refused.status_code == 402, refused.text
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded" and error["details"]["limit_usd"] == "1.00"
    assert (await http.get(f"{API}/workloads", headers=roles(http)["admin"])).json()["total"] == 0
