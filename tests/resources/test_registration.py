"""Registering units: once per identity, updated by rescans, placed in facilities and racks."""

from __future__ import annotations

import pytest
from tests.resources.conftest import asic_identity, events, gpu_identity, register

from hcp.core.db import Database
from hcp.core.errors import Conflict, InvalidInput, NotFound
from hcp.resources import service


async def test_a_unit_is_registered_once_and_updated_by_rescans(db: Database) -> None:
    async with db.transaction() as session:
        unit, outcome = await service.register_unit(session=session, identity=asic_identity(1),
                                                    facility_id="tx-north", rack_id="tx-north-a01")
        assert (unit.id, outcome) == ("asic-020000000001", "added")
    async with db.transaction() as session:
        again, outcome = await service.register_unit(session=session, identity=asic_identity(1))
        assert outcome == "unchanged" and again.facility_id == "tx-north"  # placement kept
    async with db.transaction() as session:
        moved, outcome = await service.register_unit(
            session=session, identity=asic_identity(1, address="10.9.1.77", firmware="luxos"))
        assert outcome == "updated" and moved.address == "10.9.1.77" and moved.firmware == "luxos"
    async with db.session() as session:
        items, total = await service.list_units(session=session)
    assert total == 1 and items[0]["status"] == "online"
    added = await events(db)
    assert len(added) == 1 and added[0]["id"] == "asic-020000000001" and added[0]["previous"] is None


async def test_identity_falls_back_to_serial_then_address(db: Database) -> None:
    gpu = await register(db, gpu_identity(1))
    assert gpu.startswith("gpu-") and await register(db, gpu_identity(1)) == gpu
    anonymous = asic_identity(9, mac=None)
    assert anonymous.key == "address:cgminer:10.9.0.9"
    assert await register(db, anonymous) == await register(db, anonymous)


async def test_a_new_miner_at_an_old_address_takes_it_over(db: Database) -> None:
    old = await register(db, asic_identity(1))
    new = await register(db, asic_identity(2, address="10.9.0.1"))
    async with db.session() as session:
        before = await service.get_unit(session=session, unit_id=old)
        after = await service.get_unit(session=session, unit_id=new)
    assert before.address is None and before.status == "offline" and after.address == "10.9.0.1"
    assert any(e["id"] == old and e["status"] == "offline" for e in await events(db))


async def test_placement_is_checked(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(InvalidInput) as bad:
            await service.register_unit(session=session, identity=asic_identity(1), facility_id="mars")
        assert bad.value.details[0]["field"] == "facility_id"
    async with db.transaction() as session:
        with pytest.raises(InvalidInput, match="is in facility tx-south"):
            await service.register_unit(session=session, identity=asic_identity(1), facility_id="tx-north",
                                        rack_id="tx-south-a01")
    async with db.transaction() as session:
        unit, _ = await service.register_unit(session=session, identity=asic_identity(1), rack_id="tx-south-a01")
        assert unit.facility_id == "tx-south"  # the rack says where


async def test_agent_ids_are_kept_and_never_stolen(db: Database) -> None:
    assert await register(db, gpu_identity(1), unit_id="gpu-001") == "gpu-001"
    async with db.transaction() as session:
        with pytest.raises(Conflict, match="taken"):
            await service.register_unit(session=session, identity=gpu_identity(2), unit_id="gpu-001")
    async with db.transaction() as session:
        with pytest.raises(Conflict, match="registered as gpu-001"):
            await service.register_unit(session=session, identity=gpu_identity(1), unit_id="gpu-009")
    async with db.transaction() as session:
        with pytest.raises(InvalidInput):
            await service.register_unit(session=session, identity=gpu_identity(3), unit_id="capacity")


async def test_lists_filter_and_page(db: Database) -> None:
    for n in range(1, 6):
        await register(db, asic_identity(n), facility_id="tx-north" if n < 4 else "tx-south")
    await register(db, gpu_identity(1, model="A100"), facility_id="tx-north")
    async with db.session() as session:
        _, total = await service.list_units(session=session)
        page, asics = await service.list_units(session=session, kind="asic", limit=2, offset=1)
        north, _ = await service.list_units(session=session, facility_id="tx-north", kind="asic")
        a100, _ = await service.list_units(session=session, model="A100")
        none, zero = await service.list_units(session=session, status="maintenance")
    assert total == 6 and asics == 5 and len(page) == 2 and len(north) == 3
    assert [u["kind"] for u in a100] == ["gpu"] and (none, zero) == ([], 0)


async def test_topology_and_maintenance(db: Database) -> None:
    uid = await register(db, asic_identity(1), rack_id="tx-north-a01")
    await register(db, gpu_identity(1), facility_id="tx-north")
    async with db.transaction() as session:
        view = await service.update_unit(session=session, unit_id=uid, fields={"maintenance": True})
        assert view["status"] == "maintenance"
    async with db.session() as session:
        plan = await service.topology(session=session, facility_id="tx-north")
    assert [r["id"] for r in plan["racks"]] == ["tx-north-a01", "tx-north-g01"]
    assert plan["racks"][0]["units"][0]["status"] == "maintenance"
    assert [u["kind"] for u in plan["unracked"]] == ["gpu"] and plan["units_total"] == 2
    async with db.transaction() as session:
        view = await service.update_unit(session=session, unit_id=uid,
                                         fields={"maintenance": False, "rack_id": "tx-north-g01"})
        assert view["status"] == "online" and view["rack_id"] == "tx-north-g01"
    states = [e["status"] for e in await events(db) if e["id"] == uid]
    assert states == ["online", "maintenance", "online"]
    async with db.session() as session:
        with pytest.raises(NotFound):
            await service.topology(session=session, facility_id="nowhere")
