"""Capacity per facility: hashrate online, GPUs free and busy by model, power against the cap,
and when busy GPUs are expected back (from their allocations' expected end times)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.kernel.enums import UnitKind, UnitMode, UnitStatus
from hcp.resources.models import Allocation, Facility, Unit

FORECAST_HOURS = (1, 6, 24)
# A stock miner reports no wattage; while mining it draws about its nameplate power scaled by how
# much of its expected hashrate it delivers, and its control board alone when curtailed.
IDLE_ASIC_W = 15.0
UNASSIGNED = "unassigned"


def estimated_power_w(unit: Unit) -> tuple[float, bool]:
    """The unit's power now, and whether it is an estimate."""
    reading = unit.reading or {}
    if "power_w" in reading:
        return float(reading["power_w"]), False
    if unit.kind == UnitKind.ASIC:
        if unit.mode != UnitMode.MINING:
            return IDLE_ASIC_W, True
        nominal = unit.power_w or 0.0
        expected = reading.get("expected_hashrate_ths") or unit.hashrate_ths
        if expected and "hashrate_ths" in reading:
            return nominal * min(1.0, float(reading["hashrate_ths"]) / float(expected)), True
        return nominal, True
    return float(unit.power_w or 0.0), True


def _empty(facility_id: str, name: str, cap_kw: float | None) -> dict[str, Any]:
    return {
        "facility_id": facility_id, "name": name,
        "asic": {"units": 0, "online": 0, "mining": 0, "hashrate_ths": 0.0, "nominal_hashrate_ths": 0.0},
        "gpus": {},
        "power": {"cap_kw": cap_kw, "used_kw": 0.0, "headroom_kw": cap_kw, "estimated_units": 0},
        "_ends": [],
    }


async def capacity(*, session: AsyncSession, now: datetime, facility_id: str | None = None) -> dict[str, Any]:
    facilities = (await session.execute(select(Facility).order_by(Facility.id))).scalars().all()
    if facility_id is not None:
        facilities = [f for f in facilities if f.id == facility_id]
    report = {f.id: _empty(f.id, f.name, f.power_cap_kw) for f in facilities}
    stmt = select(Unit)
    if facility_id is not None:
        stmt = stmt.where(Unit.facility_id == facility_id)
    units = (await session.execute(stmt)).scalars().all()
    held = {a.unit_id: a for a in (await session.execute(
        select(Allocation).where(Allocation.released_at.is_(None))
    )).scalars()}
    for unit in units:
        key = unit.facility_id or UNASSIGNED
        entry = report.get(key)
        if entry is None:
            entry = report[key] = _empty(key, "no facility", None)
        online = unit.status in (UnitStatus.ONLINE, UnitStatus.SWITCHING)
        reading = unit.reading or {}
        if unit.kind == UnitKind.ASIC:
            asic = entry["asic"]
            asic["units"] += 1
            if online:
                asic["online"] += 1
                asic["nominal_hashrate_ths"] += unit.hashrate_ths or 0.0
                asic["hashrate_ths"] += float(reading.get("hashrate_ths", 0.0))
                asic["mining"] += unit.mode == UnitMode.MINING
        else:
            gpus = entry["gpus"].setdefault(unit.model, {"model": unit.model, "total": 0, "online": 0,
                                                         "free": 0, "busy": 0})
            gpus["total"] += 1
            allocation = held.get(unit.id)
            if online:
                gpus["online"] += 1
                if allocation is not None:
                    gpus["busy"] += 1
                    entry["_ends"].append((unit.model, allocation.expected_end_at))
                elif unit.status == UnitStatus.ONLINE:
                    gpus["free"] += 1
        if online:
            watts, estimated = estimated_power_w(unit)
            entry["power"]["used_kw"] += watts / 1000.0
            entry["power"]["estimated_units"] += estimated
    out = [_finish(entry, now) for entry in report.values()]
    return {"at": now, "facilities": out, "total": _total(out)}


def _finish(entry: dict[str, Any], now: datetime) -> dict[str, Any]:
    power = entry["power"]
    power["used_kw"] = round(power["used_kw"], 3)
    if power["cap_kw"] is not None:
        power["headroom_kw"] = round(power["cap_kw"] - power["used_kw"], 3)
    entry["asic"]["hashrate_ths"] = round(entry["asic"]["hashrate_ths"], 3)
    gpus = sorted(entry["gpus"].values(), key=lambda g: g["model"])
    ends: list[tuple[str, datetime | None]] = entry.pop("_ends")
    forecast = []
    for hours in FORECAST_HOURS:
        at = now + timedelta(hours=hours)
        free = {g["model"]: g["free"] for g in gpus}
        for model, end in ends:
            if end is not None and end <= at:
                free[model] = free.get(model, 0) + 1
        forecast.append({"at": at, "hours": hours, "free_gpus": free})
    entry["gpus"] = gpus
    entry["forecast"] = forecast
    return entry


def _total(entries: list[dict[str, Any]]) -> dict[str, Any]:
    gpus: dict[str, dict[str, Any]] = defaultdict(lambda: {"total": 0, "online": 0, "free": 0, "busy": 0})
    for entry in entries:
        for g in entry["gpus"]:
            for k in ("total", "online", "free", "busy"):
                gpus[g["model"]][k] += g[k]
    caps = [e["power"]["cap_kw"] for e in entries if e["power"]["cap_kw"] is not None]
    used = round(sum(e["power"]["used_kw"] for e in entries), 3)
    return {
        "asic_online": sum(e["asic"]["online"] for e in entries),
        "hashrate_ths": round(sum(e["asic"]["hashrate_ths"] for e in entries), 3),
        "gpus": [{"model": m, **v} for m, v in sorted(gpus.items())],
        "power": {"cap_kw": round(sum(caps), 3), "used_kw": used, "headroom_kw": round(sum(caps) - used, 3)},
    }
