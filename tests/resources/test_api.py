"""The fleet API in the running platform: the demo's simulated fleet discovered at start, polled,
commanded and allocated over HTTP, and bad input refused with the field named."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import DEMO_CREDENTIALS, free_port, login_headers, random_loopback_subnet, running_app
from tests.eventually import eventually

from hcp.app import create_app
from hcp.core.bus import Event
from hcp.core.settings import Settings
from hcp.resources.runtime import ResourcesRuntime, simulator_of
from hcp.sim.asic.device import Mode
from hcp.sim.hybrid import HybridSimulator

POLL_S = 1.0
API = "/api/v1"


@pytest.fixture
async def fleet(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """`hcp up --demo` with the simulator on a subnet of its own, polled every second."""
    settings = make_settings(
        sim={"enabled": True, "asic_subnet": random_loopback_subnet(), "asic_web_port": free_port()},
        resources={"poll_interval_s": POLL_S, "confirm_retry_s": 0.2, "telemetry_maintenance_s": 0.5},
    )
    app = create_app(settings)
    async with running_app(app) as client:
        client.headers.update(await login_headers(client, *DEMO_CREDENTIALS["operator"]))
        runtime = app.state.platform.components.require(ResourcesRuntime)
        assert runtime.bootstrap is not None
        await asyncio.wait_for(asyncio.shield(runtime.bootstrap), timeout=30)
        await runtime.monitor.poll_once()  # the first readings of the units just discovered
        while await app.state.platform.relay.publish_pending():  # and their events out of the way
            pass
        yield client, app


def simulator(app: FastAPI) -> HybridSimulator:
    sim = simulator_of(app.state.platform)
    assert sim is not None
    return sim


async def unit_at(client: httpx.AsyncClient, address: str) -> dict[str, Any]:
    units = (await client.get(f"{API}/resources", params={"kind": "asic", "limit": 100})).json()["items"]
    return next(u for u in units if u["address"] == address)


async def test_the_demo_fleet_is_discovered_at_start_with_live_readings(
    fleet: tuple[httpx.AsyncClient, FastAPI]
) -> None:
    client, app = fleet
    asics = (await client.get(f"{API}/resources", params={"kind": "asic", "limit": 100})).json()
    # The demo's mix: 20 S21s, 14 S19 XPs and 10 Whatsminer M50Ss, each found by pyasic as itself.
    assert asics["total"] == 44
    models = [u["model"] for u in asics["items"]]
    assert {m: models.count(m) for m in set(models)} == {
        "Antminer S21": 20, "Antminer S19 XP": 14, "Whatsminer M50S VH30": 10}
    assert all(u["status"] == "online" and u["driver"] == "cgminer" for u in asics["items"])
    nameplate = {"Antminer S21": 200.0, "Antminer S19 XP": 141.0, "Whatsminer M50S VH30": 126.0}
    assert all(0.75 < u["reading"]["hashrate_ths"] / nameplate[u["model"]] < 1.25 for u in asics["items"])
    sim = simulator(app)
    placed = {u["address"]: u["facility_id"] for u in asics["items"]}
    assert placed == {s.address: s.facility_id for s in sim.units.values() if s.kind == "asic"}
    assert {u["mac"] for u in asics["items"]} == {sim.describe(s)["mac"] for s in sim.units if s.startswith("asic")}
    gpus = (await client.get(f"{API}/resources", params={"kind": "gpu"})).json()
    assert gpus["total"] == 10 and {u["id"] for u in gpus["items"]} == {f"gpu-{i:03d}" for i in range(1, 11)}
    assert all(u["driver"] == "sim" and u["reading"]["power_w"] > 0 for u in gpus["items"])

    topology = (await client.get(f"{API}/facilities/tx-north/topology")).json()
    racks = {r["id"]: r for r in topology["racks"]}
    assert {u["kind"] for u in racks["tx-north-a01"]["units"]} == {"asic"}
    assert {u["kind"] for u in racks["tx-north-g01"]["units"]} == {"gpu"}
    capacity = (await client.get(f"{API}/resources/capacity")).json()
    assert capacity["total"]["asic_online"] == 44 and capacity["total"]["hashrate_ths"] > 6000
    north = next(f for f in capacity["facilities"] if f["facility_id"] == "tx-north")
    assert 0 < north["power"]["used_kw"] and north["power"]["headroom_kw"] == pytest.approx(
        north["power"]["cap_kw"] - north["power"]["used_kw"], abs=0.01)
    assert sum(g["free"] for g in north["gpus"]) == 4 and len(north["forecast"]) == 3


async def test_an_offline_miner_is_marked_within_two_poll_intervals_and_comes_back(
    fleet: tuple[httpx.AsyncClient, FastAPI]
) -> None:
    client, app = fleet
    seen: list[Event] = []

    async def record(event: Event) -> None:
        seen.append(event)

    subscription = await app.state.platform.bus.subscribe("unit.state", record)
    sim = simulator(app)
    target = sim.units["asic-003"]
    unit = await unit_at(client, target.address or "")
    try:
        hit = await client.post(f"{API}/sim/units/asic-003/fault", json={"type": "offline"})
        assert hit.status_code == 200

        async def offline() -> bool:
            return bool((await client.get(f"{API}/resources/{unit['id']}")).json()["status"] == "offline")

        await eventually(offline, 2 * POLL_S, what="offline within two poll intervals", interval=0.05)
        await eventually(lambda: any(e.data["id"] == unit["id"] and e.data["status"] == "offline" for e in seen),
                         2.0, what="the offline unit.state event")
        offline = next(e for e in seen if e.data["id"] == unit["id"] and e.data["status"] == "offline")
        assert offline.data["previous"]["status"] == "online" and offline.data["health"] == "critical"

        after = seen.index(offline)
        await client.delete(f"{API}/sim/units/asic-003/fault")
        await eventually(lambda: any(e.data["status"] == "online" for e in seen[after:]), 5.0,
                         what="the unit back online")
        back = (await client.get(f"{API}/resources/{unit['id']}")).json()
        assert back["status"] == "online" and back["health"] == "ok" and back["missed_polls"] == 0
        others = {e.data["id"] for e in seen}
        assert others == {unit["id"]}  # nothing else changed, so nothing else was published
    finally:
        await subscription.stop()


async def test_units_are_commanded_through_their_drivers(fleet: tuple[httpx.AsyncClient, FastAPI]) -> None:
    client, app = fleet
    sim = simulator(app)
    stock, luxos = sim.units["asic-001"], sim.units["asic-004"]  # every 4th miner runs LuxOS
    stock_unit, luxos_unit = await unit_at(client, stock.address or ""), await unit_at(client, luxos.address or "")

    stop = await client.post(f"{API}/resources/{stock_unit['id']}/commands", json={"action": "stop_mining"})
    assert stop.status_code == 200 and stop.json()["unit"]["mode"] == "curtailed"
    assert sim.asic is not None and sim.asic.mode[stock.index] == Mode.SLEEPING
    start = await client.post(f"{API}/resources/{stock_unit['id']}/commands", json={"action": "start_mining"})
    assert start.json()["unit"]["mode"] == "mining" and sim.asic.mode[stock.index] == Mode.MINING

    refused = await client.post(f"{API}/resources/{stock_unit['id']}/commands",
                                json={"action": "set_power_target", "power_target_w": 3000})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "unsupported"
    target = await client.post(f"{API}/resources/{luxos_unit['id']}/commands",
                               json={"action": "set_power_target", "power_target_w": 3000})
    assert target.status_code == 200 and target.json()["result"]["power_target_w"] <= 3000
    missing = await client.post(f"{API}/resources/{luxos_unit['id']}/commands", json={"action": "set_power_target"})
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "power_target_w"

    load = await client.post(f"{API}/resources/gpu-002/commands",
                             json={"action": "load_workload", "workload_id": "llama-70b"})
    body = load.json()
    assert load.status_code == 200 and 350 <= body["result"]["latency_ms"] <= 480
    assert body["unit"]["mode"] == "workload" and body["unit"]["workload_id"] == "llama-70b"
    assert body["unit"]["status"] == "online"
    no_mining = await client.post(f"{API}/resources/gpu-002/commands", json={"action": "stop_mining"})
    assert no_mining.status_code == 409
    unload = await client.post(f"{API}/resources/gpu-002/commands", json={"action": "unload_workload"})
    assert unload.json()["unit"]["mode"] == "idle" and unload.json()["unit"]["workload_id"] is None


async def test_telemetry_allocations_and_agents(fleet: tuple[httpx.AsyncClient, FastAPI]) -> None:
    client, app = fleet
    runtime = app.state.platform.components.require(ResourcesRuntime)
    rounds = runtime.monitor.rounds
    await eventually(lambda: runtime.monitor.rounds >= rounds + 2, what="two more poll rounds")
    series = (await client.get(f"{API}/resources/gpu-001/telemetry", params={"metric": ["power_w", "temp_c"]})).json()
    assert [s["metric"] for s in series["series"]] == ["power_w", "temp_c"] and series["source"] == "raw"
    assert len(series["series"][0]["points"]) >= 3
    bucketed = (await client.get(f"{API}/resources/gpu-001/telemetry", params={"step": 60})).json()
    assert bucketed["step_s"] == 60 and all(p["count"] >= 1 for s in bucketed["series"] for p in s["points"])

    taken = await client.post(f"{API}/resources/allocations", json={
        "unit_ids": ["gpu-001", "gpu-002"], "workload_id": "wl-1", "tenant_id": "acme",
        "expected_end_at": "2099-01-01T00:00:00Z"})
    assert taken.status_code == 201 and len(taken.json()) == 2
    clash = await client.post(f"{API}/resources/allocations", json={"unit_ids": ["gpu-002", "gpu-003"],
                                                                     "workload_id": "wl-2"})
    assert clash.status_code == 409 and clash.json()["error"]["details"]["held"] == {"gpu-002": "wl-1"}
    assert (await client.get(f"{API}/resources/gpu-003")).json()["allocation"] is None  # nothing half-done
    capacity = (await client.get(f"{API}/resources/capacity")).json()
    assert sum(g["busy"] for g in capacity["total"]["gpus"]) == 2
    active = (await client.get(f"{API}/resources/allocations", params={"active": True})).json()
    assert active["total"] == 2
    released = await client.post(f"{API}/resources/allocations/release", json={"workload_id": "wl-1"})
    assert released.status_code == 200 and all(a["released_at"] for a in released.json())

    agent = await client.post(f"{API}/resources/agents/register", json={
        "id": "dgx-7-gpu-0", "driver": "nvml", "address": "nvml://GPU-0000", "push": True, "model": "H100",
        "serial": "GPU-0000", "memory_mib": 81559, "power_w": 700, "facility_id": "nd-ellendale"})
    assert agent.status_code == 200 and agent.json()["outcome"] == "added"
    again = await client.post(f"{API}/resources/agents/register", json={
        "id": "dgx-7-gpu-0", "driver": "nvml", "address": "nvml://GPU-0000", "push": True, "model": "H100",
        "serial": "GPU-0000", "memory_mib": 81559, "power_w": 700})
    assert again.json()["outcome"] == "unchanged" and again.json()["unit"]["facility_id"] == "nd-ellendale"
    await app.state.platform.bus.emit_raw("unit.telemetry", {"units": [
        {"unit_id": "dgx-7-gpu-0", "kind": "gpu", "online": True, "metrics": {"power_w": 512.5, "temp_c": 61}}]})

    async def pushed() -> bool:
        return bool((await client.get(f"{API}/resources/dgx-7-gpu-0")).json()["reading"].get("power_w") == 512.5)

    await eventually(pushed, 5, what="the pushed reading stored", interval=0.05)
    no_driver = await client.post(f"{API}/resources/agents/register", json={
        "driver": "nvml", "address": "nvml://GPU-1111"})
    assert no_driver.status_code == 422 and no_driver.json()["error"]["details"][0]["field"] == "address"


BAD_INPUT: list[tuple[str, str, dict[str, Any] | None, int, str | None]] = [
    ("post", "/resources/discover", {"cidr": "10.0.0.0/8"}, 422, "cidr"),
    ("post", "/resources/discover", {"cidr": "10.0.0.0/33"}, 422, "cidr"),
    ("post", "/resources/discover", {"cidr": "not-a-network"}, 422, "cidr"),
    ("post", "/resources/discover", {}, 422, "cidr"),
    ("post", "/resources/discover", {"cidr": "127.0.0.0/30", "facility_id": "atlantis"}, 422, "facility_id"),
    ("get", "/resources?limit=-1", None, 422, "limit"),
    ("get", "/resources?offset=-5", None, 422, "offset"),
    ("get", "/resources?limit=0", None, 422, "limit"),
    ("get", "/resources?kind=tpu", None, 422, "kind"),
    ("get", "/resources?status=happy", None, 422, "status"),
    ("get", "/resources/allocations?limit=-1", None, 422, "limit"),
    ("get", "/resources/nope", None, 404, None),
    ("get", "/resources/nope/telemetry", None, 404, None),
    ("get", "/facilities/nope", None, 404, None),
    ("get", "/facilities/nope/topology", None, 404, None),
    ("get", "/resources/capacity?facility_id=nope", None, 404, None),
    ("patch", "/resources/nope", {"maintenance": True}, 404, None),
    ("post", "/resources/nope/commands", {"action": "stop_mining"}, 404, None),
    ("post", "/resources/nope/commands", {"action": "explode"}, 422, "action"),
    ("post", "/resources/allocations", {"unit_ids": [], "workload_id": "w"}, 422, "unit_ids"),
    ("post", "/resources/allocations", {"unit_ids": ["nope"], "workload_id": "w"}, 404, None),
    ("post", "/resources/allocations", {"unit_ids": ["x"], "workload_id": "w", "expected_end_at": "2030-01-01T00:00"},
     422, "expected_end_at"),
    ("post", "/resources/allocations/release", {}, 422, "workload_id"),
    ("post", "/resources/agents/register", {"driver": "nvml", "address": "nvml://x", "push": True}, 422, "body"),
    ("put", "/facilities/tx-north/racks/r1", {"name": "R1", "position": -1}, 422, "position"),
    ("put", "/facilities/nope/racks/r1", {"name": "R1"}, 404, None),
]


async def test_bad_input_is_refused_with_the_field_named(client: httpx.AsyncClient) -> None:
    headers = await login_headers(client, *DEMO_CREDENTIALS["operator"])
    for method, path, body, status, field in BAD_INPUT:
        kwargs: dict[str, Any] = {"headers": headers}
        if body is not None:
            kwargs["json"] = body
        response = await client.request(method.upper(), API + path, **kwargs)
        assert response.status_code == status, f"{method} {path}: {response.text}"
        error = response.json()["error"]
        assert error["message"], path
        if field is not None:
            assert error["details"][0]["field"] == field, f"{method} {path}: {error}"
    # None of it wrote anything.
    listed = (await client.get(f"{API}/resources", headers=headers)).json()
    allocations = (await client.get(f"{API}/resources/allocations", headers=headers)).json()
    assert listed["total"] == 0 and allocations["total"] == 0


async def test_telemetry_ranges_are_checked(client: httpx.AsyncClient, role_headers: dict[str, dict[str, str]]) -> None:
    headers = role_headers["operator"]
    agent = await client.post(f"{API}/resources/agents/register", headers=headers, json={
        "id": "gpu-x", "driver": "nvml", "address": "nvml://GPU-x", "push": True, "model": "A100", "serial": "GPU-x"})
    assert agent.status_code == 200
    backwards = await client.get(f"{API}/resources/gpu-x/telemetry", headers=headers,
                                 params={"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"})
    assert backwards.status_code == 422 and backwards.json()["error"]["details"][0]["field"] == "since"
    zero = await client.get(f"{API}/resources/gpu-x/telemetry", headers=headers, params={"step": 0})
    assert zero.status_code == 422 and zero.json()["error"]["details"][0]["field"] == "step"
    fine = await client.get(f"{API}/resources/gpu-x/telemetry", headers=headers, params={"step": 1})
    assert fine.status_code == 200 and fine.json()["series"] == []
    unit = await client.get(f"{API}/resources/gpu-x", headers=role_headers["customer"])
    assert unit.status_code == 200  # every role reads the fleet
    maintenance = await client.patch(f"{API}/resources/gpu-x", headers=headers,
                                     json={"maintenance": True, "facility_id": "nope"})
    assert maintenance.status_code == 422 and maintenance.json()["error"]["details"][0]["field"] == "facility_id"
    assert (await client.get(f"{API}/resources/gpu-x", headers=headers)).json()["status"] == "online"
