"""The hybrid simulator through its HTTP API, inside the platform, as `hcp up` runs it."""

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from tests.conftest import DEMO_CREDENTIALS, free_port, login_headers, random_loopback_subnet, running_app
from tests.eventually import eventually

from hcp.app import create_app
from hcp.core.bus import Event
from hcp.core.settings import Settings


@pytest.fixture
async def sim_client(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(sim={
        "enabled": True, "gpus": 10, "asics": 20, "asic_subnet": random_loopback_subnet(),
        "asic_web_port": free_port(), "speed": 50.0, "telemetry_interval_s": 1.0,
        "market_interval_s": 5.0,
    })
    app = create_app(settings)
    async with running_app(app) as client:
        client.app = app  # type: ignore[attr-defined]
        # The simulator is for staff: every request here is an operator's.
        client.headers.update(await login_headers(client, *DEMO_CREDENTIALS["operator"]))
        yield client


async def test_units_listed_with_live_readings(sim_client: httpx.AsyncClient) -> None:
    body = (await sim_client.get("/api/v1/sim/units")).json()
    assert body["total"] == 30
    kinds = [u["kind"] for u in body["items"]]
    assert kinds.count("gpu") == 10 and kinds.count("asic") == 20
    asic = (await sim_client.get("/api/v1/sim/units", params={"kind": "asic", "limit": 1})).json()
    miner = asic["items"][0]
    assert asic["total"] == 20 and len(asic["items"]) == 1
    assert miner["model"] == "Antminer S21" and miner["status"] == "online"
    assert 180 < miner["hashrate_ths"] < 220 and miner["address"].startswith("127.")
    gpu = (await sim_client.get("/api/v1/sim/units/gpu-001")).json()
    assert gpu["telemetry"]["DCGM_FI_DEV_POWER_USAGE"] > 0
    assert {"H100", "A100"} <= {u["model"] for u in body["items"] if u["kind"] == "gpu"}


async def test_faults_inject_and_clear(sim_client: httpx.AsyncClient) -> None:
    hit = await sim_client.post("/api/v1/sim/units/asic-003/fault", json={"type": "offline"})
    assert hit.status_code == 200 and hit.json()["status"] == "offline" and hit.json()["faults"] == ["offline"]
    cleared = await sim_client.delete("/api/v1/sim/units/asic-003/fault")
    assert cleared.json()["status"] == "online" and cleared.json()["faults"] == []
    gpu = await sim_client.post("/api/v1/sim/units/gpu-002/fault", json={"type": "fallen_off_bus"})
    assert gpu.json()["status"] == "offline"
    wrong = await sim_client.post("/api/v1/sim/units/gpu-002/fault", json={"type": "overheat"})
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["field"] == "type"
    missing = await sim_client.post("/api/v1/sim/units/nope/fault", json={"type": "offline"})
    assert missing.status_code == 404
    empty = await sim_client.post("/api/v1/sim/units/asic-001/fault", json={})
    assert empty.status_code == 422 and empty.json()["error"]["details"][0]["field"] == "type"


async def test_switch_records_phases_and_stats(sim_client: httpx.AsyncClient) -> None:
    switched = await sim_client.post("/api/v1/sim/switch", json={"unit_id": "gpu-001", "workload": "llama-70b"})
    record = switched.json()
    assert switched.status_code == 200 and record["to"] == "llama-70b" and record["from"] is None
    phases = record["phases"]
    assert set(phases) == {"save_state_ms", "clear_memory_ms", "load_ms", "initialize_ms"}
    assert sum(phases.values()) == record["latency_ms"] and 350 <= record["latency_ms"] <= 480
    stats = (await sim_client.get("/api/v1/sim/switching/stats")).json()
    assert stats["count"] == 1 and stats["p99_ms"] == record["latency_ms"]
    asic = await sim_client.post("/api/v1/sim/switch", json={"unit_id": "asic-001", "workload": "x"})
    assert asic.status_code == 422 and asic.json()["error"]["details"][0]["field"] == "unit_id"
    await sim_client.post("/api/v1/sim/units/gpu-004/fault", json={"type": "xid_error"})
    faulted = await sim_client.post("/api/v1/sim/switch", json={"unit_id": "gpu-004", "workload": "x"})
    assert faulted.status_code == 409
    metrics = (await sim_client.get("/metrics")).text
    assert "hcp_sim_switch_latency_seconds_count 1.0" in metrics
    assert 'hcp_sim_unit_power_watts{facility="tx-north",kind="asic",model="Antminer S21",unit="asic-001"}' in metrics
    assert "hcp_sim_fleet_hashrate_ths" in metrics


async def test_clock_speed_and_bus_events(sim_client: httpx.AsyncClient) -> None:
    clock = (await sim_client.put("/api/v1/sim/clock", json={"speed": 200})).json()
    assert clock["speed"] == 200
    bad = await sim_client.put("/api/v1/sim/clock", json={"speed": -1})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "speed"
    bus = sim_client.app.state.platform.bus  # type: ignore[attr-defined]
    seen: dict[str, Event] = {}

    async def record(event: Event) -> None:
        seen.setdefault(event.subject, event)

    sub = await bus.subscribe(">", record)
    await eventually(lambda: {"unit.telemetry", "market.tick"} <= set(seen), what="telemetry and a market tick")
    await sub.stop()
    units = seen["unit.telemetry"].data["units"]
    assert len(units) == 30 and {u["kind"] for u in units} == {"gpu", "asic"}
    assert seen["market.tick"].data["btc_usd"] > 0
    market = (await sim_client.get("/api/v1/sim/market")).json()
    assert "hashprice_usd_per_th_day" in market


async def test_sim_disabled_answers_503(
    client: httpx.AsyncClient, role_headers: dict[str, dict[str, str]]
) -> None:
    off = await client.get("/api/v1/sim/units", headers=role_headers["operator"])
    assert off.status_code == 503 and off.json()["error"]["code"] == "unavailable"


async def test_simulator_is_for_staff_only(sim_client: httpx.AsyncClient) -> None:
    customer = await login_headers(sim_client, *DEMO_CREDENTIALS["customer"])
    denied = await sim_client.get("/api/v1/sim/units", headers=customer)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "forbidden"
    anonymous = await sim_client.put("/api/v1/sim/clock", json={"speed": 2},
                                     headers={"Authorization": ""})
    assert anonymous.status_code == 401
