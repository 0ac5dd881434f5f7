"""The platform's contract as a client sees it: every JSON answer in /openapi.json has a typed
schema, the WebSocket's messages are components, /metrics is text; and each service of split
mode runs exactly the background components of the domains it serves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from tests.conftest import running_app

from hcp.app import SERVICE_DOMAINS, create_app, register_components
from hcp.core.platform import Platform
from hcp.core.settings import Settings


def json_answers(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    answers = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {}).get("application/json")
                if code.startswith("2") and content is not None:
                    answers.append((f"{method.upper()} {path}", code, content["schema"]))
    return answers


def typed(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """A schema that says what is in it: a component with properties, a list or page of such, a
    union of typed alternatives, or a map of typed values. A bare object (`dict[str, Any]`) is not."""
    if "$ref" in schema:
        return typed(components[schema["$ref"].rsplit("/", 1)[1]], components)
    for union in ("oneOf", "anyOf", "allOf"):
        if union in schema:
            return all(typed(s, components) for s in schema[union] if s.get("type") != "null")
    if schema.get("type") == "array":
        return typed(schema.get("items", {}), components)
    if schema.get("type") == "object" or "properties" in schema:
        if schema.get("properties"):
            return True
        extra = schema.get("additionalProperties")
        return isinstance(extra, dict) and bool(extra) and typed(extra, components)
    return schema.get("type") in ("string", "integer", "number", "boolean") or "enum" in schema


def test_every_json_answer_of_the_monolith_has_a_typed_schema(make_settings: Callable[..., Settings]) -> None:
    spec = create_app(make_settings()).openapi()
    components = spec["components"]["schemas"]
    answers = json_answers(spec)
    assert len(answers) >= 80, len(answers)
    untyped = sorted(f"{route} {code}" for route, code, schema in answers if not typed(schema, components))
    assert untyped == []


def test_websocket_messages_are_components_and_metrics_is_text(make_settings: Callable[..., Settings]) -> None:
    spec = create_app(make_settings()).openapi()
    components = spec["components"]["schemas"]
    envelope = components["WsEnvelope"]["properties"]
    assert {"id", "channel", "event", "ts", "data"} <= set(envelope)
    for payload in ("UnitState", "FleetMetricsSnapshot", "MarketTick", "PlanDecided", "BillingUsage"):
        assert components[payload]["properties"], payload
    metrics = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert "application/json" not in metrics and all(c.startswith("text/plain") for c in metrics)
    assert spec["paths"]["/health"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/HealthOut"}


# What each service of `hcp up --split` runs in the background (demo mode, simulator on).
EXPECTED = {
    "orchestrator": {"fleet-metrics", "workload-loop", "demo-demand"},
    "optimizer": {"economics-metrics", "planner", "market"},
    "router": set(),
    "resources": {"resources"},
    "billing": {"payments", "billing"},
    "auth": {"bootstrap-admin"},
    "websocket": {"realtime-hub", "alerts"},
    "simulator": {"simulator"},
}


@pytest.mark.parametrize("service", sorted(SERVICE_DOMAINS))
def test_a_service_runs_exactly_the_components_of_its_domains(
    service: str, make_settings: Callable[..., Settings],
) -> None:
    platform = Platform(make_settings(sim={"enabled": True}, orchestrator={"demo_demand": True}))
    register_components(platform, SERVICE_DOMAINS[service])
    assert {c.name for c in platform.components} == EXPECTED[service]
    assert platform.authenticator is not None  # every process checks credentials the same way


async def test_health_reports_every_component_of_the_monolith(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with running_app(app) as client:
        body = (await client.get("/health")).json()
    assert body["status"] == "ok" and set(body["components"]) >= {"planner", "workload-loop", "billing", "alerts"}
    assert set(body["components"].values()) == {"ok"}
