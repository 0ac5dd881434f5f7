"""Typed answers: the economics, market and simulator routes document every 2xx JSON answer with a
schema in /openapi.json, and the typed answer is exactly the JSON the services build (the models
add a schema, not a change: no key appears, disappears or changes its value)."""

from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter
from tests.conftest import DEMO_CREDENTIALS, free_port, login_headers, random_loopback_subnet, running_app
from tests.eventually import eventually

from hcp.app import create_app
from hcp.core.settings import Settings
from hcp.economics import service as economics
from hcp.economics.fleet import fleet_from_resources
from hcp.economics.planner import Prices
from hcp.economics.schemas import PlanOut, ProfitabilityOut, RecommendationsOut
from hcp.market import service as market
from hcp.sim.api import get_simulator
from hcp.sim.schemas import ClockOut, SimMarketTick, SimSwitchOut, SimUnitOut

API = "/api/v1"
TYPED_DOMAINS = ("economics", "market", "sim")
UNTYPED = TypeAdapter(Any)


def _json_answers(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    answers = []
    for path, operations in spec["paths"].items():
        if not path.startswith(tuple(f"{API}/{d}/" for d in TYPED_DOMAINS)) or path.endswith("/health"):
            continue
        if path.startswith(f"{API}/economics/backtest"):
            continue  # the backtest's own package answers for its schemas
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                content = response.get("content", {}).get("application/json")
                if code.startswith("2") and content is not None:
                    answers.append((f"{method.upper()} {path}", code, content["schema"]))
    return answers


def _typed(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """A named component with properties (or a union of them), never a bare object."""
    if "$ref" in schema:
        target = components[schema["$ref"].rsplit("/", 1)[1]]
        return _typed(target, components) if "$ref" in target or "oneOf" in target or "anyOf" in target \
            else bool(target.get("properties"))
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    return bool(alternatives) and all(_typed(s, components) for s in alternatives)


async def test_every_json_answer_has_a_typed_schema(make_settings: Callable[..., Settings]) -> None:
    spec = create_app(make_settings()).openapi()
    components = spec["components"]["schemas"]
    answers = _json_answers(spec)
    assert len(answers) >= 15, answers
    untyped = [(route, code) for route, code, schema in answers if not _typed(schema, components)]
    assert untyped == []
    # Modes and kinds are the shared vocabularies, not free text.
    assert components["PlanDecision"]["properties"]["mode"] == {"$ref": "#/components/schemas/PlanMode"}
    assert components["SimGpu"]["properties"]["status"] == {"$ref": "#/components/schemas/UnitStatus"}


def _same(model: Any, built: Any) -> None:
    """The model's answer (as the route gives it: keys the service leaves out stay out) is the JSON
    the service built."""
    adapter = TypeAdapter(model)
    typed = adapter.dump_python(adapter.validate_python(built), mode="json", exclude_unset=True, by_alias=True)
    assert typed == UNTYPED.dump_python(built, mode="json")


async def test_typed_answers_are_the_json_the_services_build(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        sim={"enabled": True, "gpus": 4, "asics": 4, "asic_subnet": random_loopback_subnet(),
             "asic_web_port": free_port(), "speed": 60, "market_interval_s": 5.0},
        economics={"replan_s": 0.2},
    )
    app = create_app(settings)
    async with running_app(app) as client:
        ops = await login_headers(client, *DEMO_CREDENTIALS["operator"])

        async def answered() -> bool:
            # A plan follows a market tick, and the prices it stored (each consumer in its own time).
            for route in ("plan", "profitability", "recommendations"):
                answer = await client.get(f"{API}/economics/{route}", headers=ops)
                assert answer.status_code == 200, answer.text
            return True

        await eventually(answered, 60, what="a first plan and the prices it was made at")

        platform = app.state.platform
        async with platform.db.read() as session:
            record = await economics.latest_plan_record(session=session)
            assert record is not None
            fleet = await fleet_from_resources(session)
            m = platform.settings.market
            latest = await market.latest_prices(session=session, now=platform.clock.now(),
                                                stale_after_s=m.stale_after_s,
                                                stale_after_by_kind_s=m.stale_after_by_kind_s)
            assert latest.btc_usd is not None and latest.network_difficulty is not None
            prices = Prices(btc_usd=latest.btc_usd, network_difficulty=latest.network_difficulty,
                            fees_btc_per_block=latest.fees_btc_per_block or 0.0,
                            gpu_spot_usd_per_hour=latest.gpu_spot_usd_per_hour, ts=latest.ts or platform.clock.now())
            facilities = await economics.facility_states(session=session, electricity=latest.electricity_usd_per_mwh)
        plan = economics.plan_as_it_stands(record, fleet)
        assert plan["decisions"] and plan["recommendations"]
        _same(PlanOut, plan)
        report = economics.profitability(prices=prices, facilities=facilities, units=fleet)
        assert {row["kind"] for f in report["facilities"] for row in f["models"]} == {"asic", "gpu"}
        _same(ProfitabilityOut, {**report, "stale": latest.stale})
        _same(RecommendationsOut, {"items": record.recommendations, "total": len(record.recommendations),
                                   "ts": record.ts.isoformat()})

        sim = get_simulator(platform)
        for unit_id in sim.units:
            _same(SimUnitOut, sim.describe(unit_id))
        sim.inject_fault("gpu-002", "fallen_off_bus")  # a GPU off the bus has no telemetry
        assert sim.describe("gpu-002")["telemetry"] is None
        _same(SimUnitOut, sim.describe("gpu-002"))
        _same(SimMarketTick, sim.last_tick.to_event())
        record_ = await sim.switch("gpu-001", "llama-70b", workload_type="ai_inference")
        _same(SimSwitchOut, {"unit_id": "gpu-001", **record_.to_dict()})
        _same(ClockOut, {"now": platform.clock.now().isoformat(), "speed": platform.clock.speed})

