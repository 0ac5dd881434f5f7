"""Typed answers of the fleet, workload and router routes: every 2xx JSON answer has a schema in
/openapi.json, statuses and kinds are the shared vocabularies, and a typed answer is exactly the
JSON the service built (the capacity report's, a command's)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.encoders import jsonable_encoder
from pydantic import TypeAdapter
from tests.resources.conftest import asic_identity, gpu_identity, register

from hcp.app import create_app
from hcp.core.db import Database
from hcp.core.settings import Settings
from hcp.resources import allocation, capacity
from hcp.resources.models import Unit
from hcp.resources.schemas import CapacityOut, CommandResult

DOMAINS = {"orchestrator", "resources", "router"}
REF = "#/components/schemas/"


def _json_answers(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    answers = []
    for path, operations in spec["paths"].items():
        if path.endswith("/health"):
            continue  # each domain's liveness, answered by core's router
        for method, operation in operations.items():
            if not DOMAINS & set(operation.get("tags", ())):
                continue
            for code, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json")
                if code.startswith("2") and content is not None:
                    answers.append((f"{method.upper()} {path} {code}", content["schema"]))
    return answers


def _typed(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """A named component with properties, or a list of them; never a bare object."""
    if "$ref" in schema:
        return bool(components[schema["$ref"].removeprefix(REF)].get("properties"))
    if schema.get("type") == "array":
        return _typed(schema["items"], components)
    return False


def test_every_json_answer_has_a_typed_schema(make_settings: Callable[..., Settings]) -> None:
    spec = create_app(make_settings()).openapi()
    components = spec["components"]["schemas"]
    answers = _json_answers(spec)
    assert len(answers) >= 20, answers
    assert [route for route, schema in answers if not _typed(schema, components)] == []
    # Statuses, health, modes and kinds are the shared vocabularies, not free text.
    unit = components["UnitOut"]["properties"]
    assert {name: unit[name] for name in ("kind", "status", "health", "mode")} == {
        "kind": {"$ref": f"{REF}UnitKind"}, "status": {"$ref": f"{REF}UnitStatus"},
        "health": {"$ref": f"{REF}Health"}, "mode": {"$ref": f"{REF}UnitMode"}}
    assert components["WorkloadOut"]["properties"]["status"] == {"$ref": f"{REF}WorkloadStatus"}
    assert components["WorkloadStatus"]["enum"][:2] == ["submitted", "queued"]
    # Money leaves as a decimal string.
    price = components["WorkloadOut"]["properties"]["max_price_usd_per_gpu_hour"]
    assert {"type": "string"} in price["anyOf"]


def _as_before(model: Any, built: Any, *, exclude_unset: bool = False) -> None:
    """The typed answer (as FastAPI serialises a response model) is the JSON FastAPI made of the
    service's dict when the route had none."""
    adapter = TypeAdapter(model)
    typed = adapter.dump_python(adapter.validate_python(built), mode="json", exclude_unset=exclude_unset)
    assert typed == jsonable_encoder(built)


async def test_the_capacity_report_is_the_json_it_was(db: Database) -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    mining = await register(db, asic_identity(1), facility_id="tx-north")
    await register(db, asic_identity(2), facility_id="tx-north")  # curtailed: power estimated
    busy = await register(db, gpu_identity(1), facility_id="tx-north")
    await register(db, gpu_identity(2, model="A100"), facility_id="tx-south")
    await register(db, gpu_identity(3))  # in no facility yet
    async with db.transaction() as session:
        unit = await session.get(Unit, mining)
        assert unit is not None
        unit.mode, unit.reading = "mining", {"hashrate_ths": 190.5, "expected_hashrate_ths": 200.0}
        await allocation.allocate(session=session, unit_ids=[busy], workload_id="w1",
                                  expected_end_at=now + timedelta(hours=2), at=now)
    async with db.read() as session:
        report = await capacity.capacity(session=session, now=now)
        one = await capacity.capacity(session=session, now=now, facility_id="tx-south")
    assert {f["facility_id"] for f in report["facilities"]} >= {"tx-north", "tx-south", capacity.UNASSIGNED}
    _as_before(CapacityOut, report)
    _as_before(CapacityOut, one)
    assert jsonable_encoder(report)["at"] == "2026-12-07T12:00:00+00:00"


def test_a_command_result_keeps_only_the_keys_its_action_has() -> None:
    _as_before(CommandResult, {"action": "set_power_target", "power_target_w": 3000.0}, exclude_unset=True)
    _as_before(CommandResult, {"action": "unload_workload", "latency_ms": 312.5, "phases": None}, exclude_unset=True)
    _as_before(CommandResult, {"action": "load_workload", "latency_ms": 401.0, "phases": {"load": 380.2}},
               exclude_unset=True)
    _as_before(CommandResult, {"action": "start_mining"}, exclude_unset=True)
