"""The plan, /resources and /workloads tell one story over several market ticks, through the API
(as scripts/check_one_view.py checks a running demo): a GPU that serves a workload is never
`spot` or `idle` in the plan, and queued work beside idle GPUs that fit it is placed within a
cycle or says why it waits. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

import pytest
from scripts.check_one_view import idle_fits, running_not_held, served_but_not_in_plan, snapshot
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
from hcp.core.settings import Settings

API = "/api/v1"
CYCLE_S = 0.2


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
async def test_plan_resources_and_workloads_agree_over_market_ticks(
    database: str, make_settings: Callable[..., Settings],
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        overrides: dict[str, Any] = {}
        if database == "postgresql":
            overrides["database_url"] = await stack.enter_async_context(temporary_postgres_database())
        settings = make_settings(
            **overrides,
            sim={"enabled": True, "asics": 6, "gpus": 8, "asic_subnet": random_loopback_subnet(),
                 "asic_web_port": free_port(), "speed": 60},
            orchestrator={"tick_s": CYCLE_S, "reconcile_s": 1.0},
            economics={"replan_s": 0.2},
        )
        client = await stack.enter_async_context(running_app(create_app(settings)))
        admin = await login_headers(client, *DEMO_CREDENTIALS["admin"])
        customer = await login_headers(client, *DEMO_CREDENTIALS["customer"])
        async def ready() -> bool:
            plan = await client.get(f"{API}/economics/plan", headers=admin)
            gpus = (await client.get(f"{API}/resources", params={"kind": "gpu"}, headers=admin)).json()
            assert plan.status_code == 200 and gpus["total"] == 8 \
                and all(g["status"] == "online" for g in gpus["items"]), (plan.text, gpus)
            return True

        await eventually(ready, 60, what="the simulator's GPUs registered and a first plan made on a market tick",
                         interval=0.1)

        shapes = [("H100", 1), ("A100", 1), ("H100", 2), ("any", 1), ("A100", 2), ("H100", 1)]
        for i in range(14):  # more than the GPUs: some queue, short ones end and free theirs
            model, count = shapes[i % len(shapes)]
            body = {"name": f"job-{i}", "type": "ai_training" if i % 3 else "batch", "priority": 1 + i % 9,
                    "gpu_model": model, "gpu_count": count, "duration_s": 120 + 60 * (i % 5)}
            created = await client.post(f"{API}/workloads", json=body, headers=customer)
            assert created.status_code == 201, created.text

        plans: set[str] = set()
        beside: dict[str, float] = {}  # queued workload -> first seen beside idle GPUs that fit it
        unexplained: list[str] = []
        reasons: set[str] = set()
        unheld: set[tuple[str, str]] = set()
        end = time.monotonic() + 10  # ten market ticks at 60x
        while time.monotonic() < end:
            snap = await snapshot(client, admin)
            assert snap is not None
            plans.add(snap.plan["id"])
            assert served_but_not_in_plan(snap) == []
            assert not (running_not_held(snap) & unheld)  # /workloads and /resources agree
            unheld = running_not_held(snap)
            fits = idle_fits(snap)
            now = time.monotonic()
            beside = {wid: beside.get(wid, now) for wid in fits}
            for w in snap.queued:
                if w["wait_reason"]:
                    reasons.add(w["wait_reason"].split(":", 1)[0])
                if w["id"] in beside and now - beside[w["id"]] > 2 * CYCLE_S + 0.3 and not w["wait_reason"]:
                    unexplained.append(f"{w['id']} ({w['gpu_count']}x {w['gpu_model']}) beside {fits[w['id']]}")
            await asyncio.sleep(0.1)
        assert unexplained == []
        assert len(plans) >= 3  # it held across plans, not just one
        done = (await client.get(f"{API}/workloads", params={"status": "completed"}, headers=admin)).json()
        assert done["total"] >= 1  # work ended and freed GPUs meanwhile
        assert reasons, "queued work said why it waits"


@pytest.mark.slow
async def test_admitted_work_ends_a_spot_rental_with_its_notice_then_runs(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(
        sim={"enabled": True, "asics": 0, "gpus": 4, "asic_subnet": random_loopback_subnet(),
             "asic_web_port": free_port(), "speed": 60},
        orchestrator={"tick_s": CYCLE_S, "reconcile_s": 1.0},
        economics={"replan_s": 0.2, "spot_notice_s": 180},  # three seconds at 60x
    )
    async with running_app(create_app(settings)) as client:
        admin = await login_headers(client, *DEMO_CREDENTIALS["admin"])
        customer = await login_headers(client, *DEMO_CREDENTIALS["customer"])
        async def renting() -> tuple[Any, list[dict[str, Any]]]:
            snap = await snapshot(client, admin)
            rented = [d for d in snap.plan["decisions"] if d["mode"] == "spot"] if snap else []
            assert rented, snap and snap.plan
            return snap, rented

        # Idle GPUs earn more on spot than their power costs: the plan rents them out.
        snap, rented = await eventually(renting, 60, what="a GPU rented on spot", interval=0.1)
        gpus = {g["id"]: g for g in snap.gpus}
        first = gpus[rented[0]["unit_id"]]
        # Every GPU of that model there: none is free of a rental, so the workload needs them back.
        same = [g for g in snap.gpus if g["model"] == first["model"] and g["facility_id"] == first["facility_id"]]
        assert all(d["mode"] == "spot" for d in snap.plan["decisions"] if d["unit_id"] in {g["id"] for g in same})
        body = {"name": "needs-the-rented", "type": "ai_training", "priority": 5, "gpu_model": first["model"],
                "gpu_count": len(same), "duration_s": 600}
        submitted = await client.post(f"{API}/workloads", json=body, headers=customer)
        assert submitted.status_code == 201, submitted.text
        wid, asked = submitted.json()["id"], time.monotonic()
        said: set[str] = set()

        async def placed() -> dict[str, Any]:
            snap = await snapshot(client, admin)
            if snap is None or served_but_not_in_plan(snap) != []:  # the story broke: fail now
                raise RuntimeError(f"plan and fleet disagree: {snap and served_but_not_in_plan(snap)}")
            w = (await client.get(f"{API}/workloads/{wid}", headers=customer)).json()
            if w["wait_reason"]:
                said.add(w["wait_reason"].split(":", 1)[0])
            assert w["status"] in ("switching", "running"), (w, snap.plan["summary"])
            return dict(w)

        w = await eventually(placed, 30, what="the workload switching in", interval=0.05)
        assert "spot" in said  # it said what it waited for
        assert time.monotonic() - asked >= 2.0  # the rental's notice (3 s at 60x), not at once
        history = [h["to"] for h in w["history"]]
        assert history[-1] in ("switching", "running") and "scheduled" in history


@pytest.mark.slow
async def test_queued_work_over_its_owners_budget_waits_and_says_so(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        sim={"enabled": True, "asics": 0, "gpus": 1, "asic_subnet": random_loopback_subnet(),
             "asic_web_port": free_port(), "speed": 500},
        orchestrator={"tick_s": 0.05, "reconcile_s": 30},
        economics={"plan": False},
    )
    async with running_app(create_app(settings)) as client:
        customer = await login_headers(client, *DEMO_CREDENTIALS["customer"])
        async def gpu_online() -> bool:
            return (await client.get(f"{API}/resources", params={"kind": "gpu", "status": "online"},
                                     headers=customer)).json()["total"] >= 1

        await eventually(gpu_online, 30, what="the GPU online", interval=0.05)
        gpu = (await client.get(f"{API}/resources", params={"kind": "gpu"}, headers=customer)).json()["items"][0]
        body = {"type": "ai_training", "priority": 5, "gpu_model": gpu["model"], "gpu_count": 1}
        first = (await client.post(f"{API}/workloads", json={**body, "name": "first", "duration_s": 1800},
                                   headers=customer)).json()
        second = (await client.post(f"{API}/workloads", json={**body, "name": "second", "duration_s": 36_000},
                                    headers=customer)).json()
        assert second["status"] == "queued"  # admitted: the budget held it then
        # The customer lowers the month's budget below what the second would cost: it must not start.
        budget = (await client.get(f"{API}/billing/budget", headers=customer)).json()
        lowered = await client.put(f"{API}/billing/budget", headers=customer,
                                   json={"monthly_limit_usd": f"{float(budget['spent_usd']) + 5:.2f}"})
        assert lowered.status_code == 200, lowered.text
        async def held_back() -> bool:
            w1 = (await client.get(f"{API}/workloads/{first['id']}", headers=customer)).json()
            w2 = (await client.get(f"{API}/workloads/{second['id']}", headers=customer)).json()
            assert w1["status"] == "completed" and (w2["wait_reason"] or "").startswith("budget:"), \
                (w1["status"], w2["status"], w2["wait_reason"], w2["history"])
            return True

        # The first ends (1800 s at 500x), the GPU is free, the second says why it waits ...
        await eventually(held_back, 30, what="the second held back for its budget", interval=0.05)
        await asyncio.sleep(0.5)  # ... and ten more ticks (0.05 s) do not start it
        w2 = (await client.get(f"{API}/workloads/{second['id']}", headers=customer)).json()
        assert w2["status"] == "queued" and w2["units"] == [] and "budget exceeded" in w2["wait_reason"]
