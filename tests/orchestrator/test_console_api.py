"""The workloads API as the operator console reads it: list filters and orders, the CSV export of the
filtered set, queues per class, what runs where, and switches by workload with latency percentiles."""

from __future__ import annotations

import csv
import io
import statistics
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from tests.conftest import DEMO_CREDENTIALS, login_headers, running_app

from hcp.app import create_app
from hcp.core.platform import Platform
from hcp.core.settings import Settings
from hcp.orchestrator import lifecycle
from hcp.orchestrator.lifecycle import Change
from hcp.orchestrator.models import Switch

API = "/api/v1"
BASE: dict[str, Any] = {"name": "job", "type": "ai_training", "priority": 5, "gpu_model": "H100",
                        "gpu_count": 1, "duration_s": 3600}


@pytest.fixture
async def app(make_settings: Callable[..., Settings]) -> AsyncIterator[FastAPI]:
    # The loop stays off: what is queued stays queued, and placements are made by the test.
    yield create_app(make_settings(orchestrator={"run": False}))


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(app) as client:
        headers = {role: await login_headers(client, *creds) for role, creds in DEMO_CREDENTIALS.items()}
        headers["globex"] = await login_headers(client, "maria@globex.com", "customer123")
        for i in range(2):
            registered = await client.post(f"{API}/resources/agents/register", headers=headers["admin"], json={
                "driver": "nvml", "address": f"nvml://GPU-{i}", "facility_id": "tx-north", "push": True,
                "model": "H100", "serial": f"GPU-{i}"})
            assert registered.status_code == 200, registered.text
        client.headers_of = headers  # type: ignore[attr-defined]
        yield client


def roles(http: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    return http.headers_of  # type: ignore[attr-defined,no-any-return]


async def submit(http: httpx.AsyncClient, who: str, **change: Any) -> dict[str, Any]:
    made = await http.post(f"{API}/workloads", json={**BASE, **change}, headers=roles(http)[who])
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


async def mixed(http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """Five workloads: three of Acme's (training, inference, batch), two of Globex's."""
    return {
        "train": await submit(http, "customer", name="llama-finetune", priority=3),
        "infer": await submit(http, "customer", name="chat-serve", type="ai_inference", priority=9),
        "batch": await submit(http, "customer", name="=HYPERLINK(1)", type="batch", priority=1),
        "g1": await submit(http, "globex", name="globex-train", priority=7),
        "g2": await submit(http, "globex", name="globex-serve", type="ai_inference", priority=5),
    }


async def listed(http: httpx.AsyncClient, who: str, **params: Any) -> dict[str, Any]:
    answer = await http.get(f"{API}/workloads", params=params, headers=roles(http)[who])
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


async def test_the_list_filters_by_type_tenant_and_text_and_sorts(http: httpx.AsyncClient) -> None:
    w = await mixed(http)
    acme, globex = w["train"]["tenant_id"], w["g1"]["tenant_id"]
    inference = await listed(http, "operator", type="ai_inference")
    assert inference["total"] == 2 and {i["id"] for i in inference["items"]} == {w["infer"]["id"], w["g2"]["id"]}
    theirs = await listed(http, "operator", tenant_id=globex, sort="-priority")
    assert [i["id"] for i in theirs["items"]] == [w["g1"]["id"], w["g2"]["id"]]
    by_priority = await listed(http, "admin", sort="priority")
    assert [i["priority"] for i in by_priority["items"]] == [1, 3, 5, 7, 9]
    assert (await listed(http, "operator", q="GLOBEX"))["total"] == 2
    assert [i["id"] for i in (await listed(http, "operator", q=w["infer"]["id"][:12]))["items"]] == [w["infer"]["id"]]
    assert (await listed(http, "operator", q="%"))["total"] == 0  # a wildcard is text, not a pattern
    newest = await listed(http, "operator")
    assert [i["id"] for i in newest["items"]] == [w[k]["id"] for k in ("g2", "g1", "batch", "infer", "train")]
    # A customer sees their own only, whatever they ask for.
    assert (await listed(http, "customer"))["total"] == 3
    assert (await listed(http, "customer", tenant_id=globex))["total"] == 0
    assert (await listed(http, "customer", tenant_id=acme, type="batch"))["total"] == 1


@pytest.mark.parametrize(("params", "field"), [
    ({"sort": "colour"}, "sort"), ({"sort": "priority;drop"}, "sort"), ({"type": "mining"}, "type"),
    ({"gpu_model": "V100"}, "gpu_model"), ({"q": "x" * 101}, "q"),
])
async def test_bad_list_input_is_422_naming_the_field(
    http: httpx.AsyncClient, params: dict[str, str], field: str,
) -> None:
    for path in ("/workloads", "/workloads/export.csv"):
        refused = await http.get(f"{API}{path}", params=params, headers=roles(http)["operator"])
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["details"][0]["field"] == field


def parsed(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="hcp-workloads-' in answer.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(answer.text)))


async def test_the_export_is_the_whole_filtered_set_and_a_customer_gets_only_their_own(
    http: httpx.AsyncClient,
) -> None:
    w = await mixed(http)
    for params in ({}, {"type": "ai_inference"}, {"tenant_id": w["g1"]["tenant_id"]}, {"q": "serve"}):
        rows = parsed(await http.get(f"{API}/workloads/export.csv", params=params, headers=roles(http)["operator"]))
        page = await listed(http, "operator", **params)
        assert len(rows) == page["total"] and [r["id"] for r in rows] == [i["id"] for i in page["items"]]
    everyone = parsed(await http.get(f"{API}/workloads/export.csv", params={"sort": "priority"},
                                     headers=roles(http)["admin"]))
    assert [r["priority"] for r in everyone] == ["1", "3", "5", "7", "9"]
    batch = next(r for r in everyone if r["id"] == w["batch"]["id"])
    assert batch["name"] == "'=HYPERLINK(1)" and batch["status"] == "queued" and batch["type"] == "batch"
    own = parsed(await http.get(f"{API}/workloads/export.csv", headers=roles(http)["customer"]))
    assert len(own) == 3 and {r["tenant_id"] for r in own} == {w["train"]["tenant_id"]}
    sneaky = parsed(await http.get(f"{API}/workloads/export.csv", params={"tenant_id": w["g1"]["tenant_id"]},
                                   headers=roles(http)["customer"]))
    assert sneaky == []


async def place(app: FastAPI, workload_id: str, units: tuple[str, ...], *, run: bool = True) -> None:
    platform: Platform = app.state.platform
    async with platform.db.transaction() as session:
        w = await lifecycle.lock(session, workload_id)
        now = platform.clock.now()
        await lifecycle.transition(session, w, "scheduled", change=Change(at=now, units=units, facility_id="tx-north"))
        if run:
            for step in ("switching", "running"):
                await lifecycle.transition(session, w, step, change=Change(at=now))


def seconds(at: str, since: str) -> float:
    return (datetime.fromisoformat(at) - datetime.fromisoformat(since)).total_seconds()


async def test_queues_per_class_and_what_runs_where(http: httpx.AsyncClient, app: FastAPI) -> None:
    w = await mixed(http)
    await place(app, w["g1"]["id"], ("gpu-a",))
    await place(app, w["infer"]["id"], ("gpu-b",), run=False)
    answer = await http.get(f"{API}/workloads/queues", headers=roles(http)["operator"])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    classes = {c["name"]: c for c in body["classes"]}
    assert list(classes) == ["inference", "training", "batch"]
    assert (classes["training"]["depth"], classes["training"]["placed"]) == (1, 1)
    assert (classes["inference"]["depth"], classes["inference"]["placed"], classes["inference"]["gpus_placed"]) \
        == (1, 1, 1)
    assert (classes["batch"]["depth"], classes["batch"]["placed"]) == (1, 0)
    assert classes["inference"]["start_slo_s"] == 5.0 and classes["batch"]["gpus_waiting"] == 1
    # Waits by the platform's clock, from when each entered the queue.
    queued = [i for i in (await listed(http, "operator", status="queued"))["items"] if i["type"] == "ai_training"]
    waits = [seconds(body["at"], i["queued_at"]) for i in queued]
    assert classes["training"]["oldest_wait_s"] == pytest.approx(max(waits), abs=1e-3)
    assert classes["training"]["median_wait_s"] == pytest.approx(statistics.median(waits), abs=1e-3)
    assert (await http.get(f"{API}/workloads/queues", headers=roles(http)["operator"])).json()["classes"][0] \
        ["oldest_wait_s"] >= classes["inference"]["oldest_wait_s"]
    # A customer's queues count their own only.
    mine = {c["name"]: c for c in (await http.get(f"{API}/workloads/queues",
                                                   headers=roles(http)["customer"])).json()["classes"]}
    assert (mine["training"]["depth"], mine["training"]["placed"], mine["inference"]["placed"]) == (1, 0, 1)
    assert mine["inference"]["depth"] == 0 and mine["inference"]["oldest_wait_s"] is None

    where = (await http.get(f"{API}/workloads/placements", headers=roles(http)["operator"])).json()
    assert where["total"] == 2
    assert {(p["workload_id"], p["status"], p["facility_id"], tuple(p["units"])) for p in where["items"]} == {
        (w["g1"]["id"], "running", "tx-north", ("gpu-a",)), (w["infer"]["id"], "scheduled", "tx-north", ("gpu-b",))}
    own = (await http.get(f"{API}/workloads/placements", headers=roles(http)["customer"])).json()
    assert [p["workload_id"] for p in own["items"]] == [w["infer"]["id"]]


async def test_switches_filter_by_workload_and_time_and_summarise_latency(
    http: httpx.AsyncClient, app: FastAPI,
) -> None:
    platform: Platform = app.state.platform
    start = platform.clock.now()
    latencies = [350.0, 380.0, 410.0, 420.0, 455.0, 470.0, 520.0]
    async with platform.db.transaction() as session:
        for i, ms in enumerate(latencies):
            owner = "w-one" if i < 4 else "w-two"
            session.add(Switch(unit_id=f"gpu-{i % 2}", workload_id=owner, from_workload=None, to_workload=owner,
                               phases={"save_state_ms": 50.0, "load_ms": ms - 50.0}, latency_ms=ms,
                               at=start + timedelta(seconds=i)))
    operator = roles(http)["operator"]
    one = (await http.get(f"{API}/orchestrator/switches", params={"workload_id": "w-one"}, headers=operator)).json()
    assert one["total"] == 4 and {s["workload_id"] for s in one["items"]} == {"w-one"}
    assert one["items"][0]["latency_ms"] == 420.0  # newest first
    later = (start + timedelta(seconds=5)).isoformat()
    assert (await http.get(f"{API}/orchestrator/switches", params={"since": later},
                           headers=operator)).json()["total"] == 2

    summary = (await http.get(f"{API}/orchestrator/switches/summary", headers=operator)).json()
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    assert summary["count"] == 7 and summary["over_target"] == 1 and summary["target_ms"] == 500.0
    assert (summary["p50_ms"], summary["min_ms"], summary["max_ms"]) == (420.0, 350.0, 520.0)
    assert summary["p95_ms"] == pytest.approx(p95) and summary["p99_ms"] == pytest.approx(p99)
    assert summary["p50_ms"] == pytest.approx(p50)
    two = (await http.get(f"{API}/orchestrator/switches/summary", params={"workload_id": "w-two"},
                          headers=operator)).json()
    assert two["count"] == 3 and two["p50_ms"] == 470.0
    empty = (await http.get(f"{API}/orchestrator/switches/summary", params={"workload_id": "nope"},
                            headers=operator)).json()
    assert empty["count"] == 0 and empty["p95_ms"] is None

    for params, field in (({"since": "2026-01-01T00:00:00"}, "since"),
                          ({"since": later, "until": start.isoformat()}, "until"), ({"since": "soon"}, "since")):
        for path in ("/orchestrator/switches", "/orchestrator/switches/summary"):
            refused = await http.get(f"{API}{path}", params=params, headers=operator)
            assert refused.status_code == 422, refused.text
            assert refused.json()["error"]["details"][0]["field"] == field
    customer = roles(http)["customer"]
    assert (await http.get(f"{API}/orchestrator/switches/summary", headers=customer)).status_code == 403
