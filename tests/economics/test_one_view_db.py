"""One view through the database, on SQLite and PostgreSQL: the planner reads the allocations
table (as the workload loop writes it) and the plan, as the API serves it, gives every GPU one
role, never `spot` or `idle` for a held one, names the workload and tenant, and keeps each
facility's power (running work included) under its cap."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hcp.core.clock import ScaledClock
from hcp.core.platform import Platform
from hcp.core.settings import Settings
from hcp.drivers.base import UnitIdentity
from hcp.economics import service
from hcp.economics.fleet import fleet_from_resources
from hcp.economics.planner import Hysteresis, Prices, WorkloadDemand
from hcp.migrations import migrate
from hcp.resources import allocation
from hcp.resources import service as resources

T0 = datetime(2026, 7, 1, 12, tzinfo=UTC)
GPUS = [(f"g{i}", "tx" if i < 6 else "nd", "H100" if i % 3 else "A100") for i in range(10)]
ASICS = [(f"a{i}", "tx" if i < 4 else "nd") for i in range(8)]
CAP_KW = 20.0


@pytest.fixture
async def platform(database_url: str, make_settings: Callable[..., Settings]):
    plat = Platform(make_settings(database_url=database_url), clock=ScaledClock(1.0, start=T0.timestamp()))
    await plat.start(migrate=migrate)
    async with plat.db.transaction() as session:
        for fid, node in (("tx", "HB_NORTH"), ("nd", "MISO")):
            await resources.upsert_facility(session=session, id=fid, name=fid, location="US", power_cap_kw=CAP_KW,
                                            market_node=node)
        for k, (uid, fac, model) in enumerate(GPUS):
            await resources.register_unit(session=session, facility_id=fac, unit_id=uid, identity=UnitIdentity(
                kind="gpu", model=model, address=f"127.0.9.{k + 1}:1", driver="sim", serial=f"gpu-{uid}"))
        for k, (uid, fac) in enumerate(ASICS):
            await resources.register_unit(session=session, facility_id=fac, unit_id=uid, identity=UnitIdentity(
                kind="asic", model="Antminer S21", address=f"127.0.9.{k + 100}:4028", driver="cgminer",
                mac=f"02:00:00:00:01:{k:02x}", hashrate_ths=200, power_w=3500))
    yield plat
    await plat.stop()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(held=st.lists(st.sampled_from(range(10)), unique=True, max_size=6),
       gangs=st.integers(1, 3),
       queued=st.lists(st.tuples(st.sampled_from(["H100", "A100", "any"]), st.integers(1, 3)), max_size=5),
       price=st.floats(10, 300), spot=st.floats(0.5, 4.0))
async def test_plan_as_served_agrees_with_the_allocations_table(platform: Platform, held, gangs, queued, price,
                                                                spot) -> None:
    at = platform.clock.now()
    async with platform.db.transaction() as session:
        await allocation.release(session=session, unit_ids=[uid for uid, _f, _m in GPUS], reason="next example",
                                 at=at)
        holders: dict[str, tuple[str, str]] = {}
        for n, k in enumerate(held):
            workload, tenant = f"run-{n % gangs}-{k}", f"tenant-{n % 2}"
            await allocation.allocate(session=session, unit_ids=[GPUS[k][0]], workload_id=workload,
                                      tenant_id=tenant, at=at)
            holders[GPUS[k][0]] = (workload, tenant)
    demand = [WorkloadDemand(f"q{j}", m, c, 2.0, tenant_id="tenant-q") for j, (m, c) in enumerate(queued)]

    async def workloads(_session: object) -> list[WorkloadDemand]:
        return demand

    loop = service.PlanLoop(platform, fleet=fleet_from_resources, workloads=workloads, hysteresis=Hysteresis())
    prices = Prices(btc_usd=65_000, network_difficulty=8.3e13, fees_btc_per_block=0.04,
                    gpu_spot_usd_per_hour={"H100": spot, "A100": spot / 2}, ts=at)
    async with platform.db.transaction() as session:
        previous = await service.latest_plan_record(session=session)
        before, last_change = service.plan_from_record(previous) if previous else (None, {})
        await loop.plan(session=session, prices=prices, electricity={"HB_NORTH": price, "MISO": price},
                        previous=before, last_change=last_change, now=at)
    async with platform.db.session() as session:
        record = await service.latest_plan_record(session=session)
        assert record is not None
        fleet = await fleet_from_resources(session)
        served = service.plan_as_it_stands(record, fleet)
        steer = service.plan_for_workloads(record, fleet, now=at, max_age_s=600)

    decisions = {d["unit_id"]: d for d in served["decisions"]}
    assert len(decisions) == len(served["decisions"]) == len(GPUS) + len(ASICS)  # one role per unit
    for uid, (workload, tenant) in holders.items():
        d = decisions[uid]
        assert (d["mode"], d["workload_id"], d["tenant_id"], d["held"]) == ("workload", workload, tenant, True)
    for uid, d in decisions.items():
        if d["mode"] == "workload" and uid not in holders:
            assert d["workload_id"] in {w.id for w in demand} and not d["held"]
    for row in served["summary"]["facilities"]:
        assert row["power_kw"] <= row["power_cap_kw"] + 1e-6, row
    assert steer is not None and steer.spot.isdisjoint(holders)
    assert all(room >= -1e-6 for room in steer.headroom_w.values()), steer.headroom_w
    assert {w["workload_id"] for w in served["summary"]["waiting"]} == set(served["summary"]["unplaced_workloads"])
