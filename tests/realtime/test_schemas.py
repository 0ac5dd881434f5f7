"""The WebSocket's models say what the server sends: one per channel and event, each channel of
the hub named, every component with a JSON schema, and real control messages parsed by them."""

from __future__ import annotations

from typing import get_args

from pydantic import TypeAdapter

from hcp.realtime import schemas
from hcp.realtime.hub import CHANNELS

MESSAGES: TypeAdapter[object] = TypeAdapter(schemas.WsServerMessage)


def test_every_channel_and_event_of_the_hub_has_its_message() -> None:
    assert set(get_args(schemas.Channel)) == set(CHANNELS)
    described = {(get_args(m.model_fields["channel"].annotation)[0], event)
                 for m in schemas.CHANNEL_EVENTS for event in get_args(m.model_fields["event"].annotation)}
    assert described == {(channel, subject) for channel, subjects in CHANNELS.items() for subject in subjects}


def test_the_components_have_json_schemas() -> None:
    components = schemas.openapi_components()
    assert {"WsEnvelope", "WsSubscribed", "WsHeartbeat", "WsWorkloadEvent", "WsInvoiceEvent"} <= set(components)
    for name, model in components.items():
        assert model.model_json_schema(mode="serialization")["title"], name


def test_control_messages_parse() -> None:
    ts = "2026-12-07T10:00:00+00:00"
    for event, data in (("subscribed", {"channels": ["alerts"], "denied": ["prices"], "unknown": ["x"]}),
                        ("unsubscribed", {"channels": []}), ("pong", {}), ("heartbeat", {}),
                        ("reset", {"last_id": "e1", "reason": "gone"}),
                        ("error", {"code": "invalid_message", "message": "not JSON"})):
        parsed = MESSAGES.validate_python({"id": None, "channel": None, "event": event, "ts": ts, "data": data})
        assert type(parsed).__name__.lower() == f"ws{event}"
