"""What `/ws` sends and takes, as models: the envelope, the server's own messages, one message per
channel and event with its payload, the client's actions, and `GET /realtime/channels`' answer.

Payloads are the REST API's models where the event carries what REST shows (a workload, an
invoice), otherwise the bus event's model (`hcp.kernel.events`). `openapi_components()` names them
for the OpenAPI document, so that clients of the WebSocket are typed like those of the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from hcp.billing.schemas import InvoiceOut
from hcp.kernel import events

Channel = Literal["workloads", "resources", "metrics", "prices", "plan", "alerts", "billing"]


# --- the envelope -------------------------------------------------------------------------------
class WsEnvelope(BaseModel):
    """Every message the server sends: a bus event on a channel, or one of its own (no id, no
    channel)."""

    id: str | None = Field(description="The event's id: give it as `last_id` to resume after it")
    channel: Channel | None
    event: str = Field(description="The bus subject (`workload.state`), or the server's message")
    ts: datetime = Field(description="When it happened (ISO 8601 with an offset)")
    data: Any


# --- the server's own messages ------------------------------------------------------------------
class WsControl(WsEnvelope):
    id: None = None
    channel: None = None


class WsSubscription(BaseModel):
    channels: list[Channel] = Field(description="All the channels the client now receives")
    denied: list[str] = Field(default_factory=list, description="Asked for but not allowed (absent: none)")


class WsSubscribedData(WsSubscription):
    unknown: list[str] = Field(default_factory=list, description="No such channel (absent: none)")


class WsSubscribed(WsControl):
    """The answer to a subscribe; what the client missed since `last_id` follows it."""

    event: Literal["subscribed"]
    data: WsSubscribedData


class WsUnsubscribed(WsControl):
    """The answer to an unsubscribe, or channels taken away (`denied`) after a role change."""

    event: Literal["unsubscribed"]
    data: WsSubscription


class WsResetData(BaseModel):
    last_id: str
    reason: str


class WsReset(WsControl):
    """What was missed since `last_id` cannot be replayed: reload the state over the API."""

    event: Literal["reset"]
    data: WsResetData


class WsErrorData(BaseModel):
    code: Literal["invalid_message"]
    message: str


class WsError(WsControl):
    event: Literal["error"]
    data: WsErrorData


class WsEmpty(BaseModel):
    pass


class WsPong(WsControl):
    event: Literal["pong"]
    data: WsEmpty


class WsHeartbeat(WsControl):
    """Sent every `heartbeat_s` so that idle connections stay open through proxies."""

    event: Literal["heartbeat"]
    data: WsEmpty


# --- channel messages ---------------------------------------------------------------------------
# The workloads channel carries the `workload.state` event's body: the workload as `/workloads`
# shows it, what it was before, and the placed GPUs' model.
WorkloadChange = events.WorkloadState


class WsEvent(WsEnvelope):
    id: str


class WsWorkloadEvent(WsEvent):
    channel: Literal["workloads"]
    event: Literal["workload.state"]
    data: WorkloadChange


class WsUnitEvent(WsEvent):
    channel: Literal["resources"]
    event: Literal["unit.state"]
    data: events.UnitState


class WsFleetMetricsEvent(WsEvent):
    channel: Literal["metrics"]
    event: Literal["fleet.metrics"]
    data: events.FleetMetricsSnapshot


class WsPriceEvent(WsEvent):
    channel: Literal["prices"]
    event: Literal["market.tick"]
    data: events.MarketTick


class WsPlanEvent(WsEvent):
    channel: Literal["plan"]
    event: Literal["plan.decided"]
    data: events.PlanDecided


class WsAlertEvent(WsEvent):
    channel: Literal["alerts"]
    event: Literal["alert.raised", "alert.acked", "alert.resolved"]
    data: events.AlertView


class WsUsageEvent(WsEvent):
    channel: Literal["billing"]
    event: Literal["billing.usage"]
    data: events.BillingUsage


class WsInvoiceEvent(WsEvent):
    channel: Literal["billing"]
    event: Literal["invoice.issued"]
    data: InvoiceOut


class WsBudgetEvent(WsEvent):
    channel: Literal["billing"]
    event: Literal["billing.budget"]
    data: events.BudgetThreshold


CONTROLS: tuple[type[WsControl], ...] = (WsSubscribed, WsUnsubscribed, WsReset, WsError, WsPong, WsHeartbeat)
CHANNEL_EVENTS: tuple[type[WsEvent], ...] = (
    WsWorkloadEvent, WsUnitEvent, WsFleetMetricsEvent, WsPriceEvent, WsPlanEvent, WsAlertEvent, WsUsageEvent,
    WsInvoiceEvent, WsBudgetEvent,
)
# Anything the server sends, told apart by `event`.
WsServerMessage = Annotated[
    WsSubscribed | WsUnsubscribed | WsReset | WsError | WsPong | WsHeartbeat | WsWorkloadEvent | WsUnitEvent
    | WsFleetMetricsEvent | WsPriceEvent | WsPlanEvent | WsAlertEvent | WsUsageEvent | WsInvoiceEvent
    | WsBudgetEvent,
    Field(discriminator="event"),
]


# --- the client's actions -----------------------------------------------------------------------
class WsSubscribe(BaseModel):
    action: Literal["subscribe"]
    channels: list[str]
    last_id: str | None = Field(None, description="Replay what these channels had after this event")


class WsUnsubscribe(BaseModel):
    action: Literal["unsubscribe"]
    channels: list[str]


class WsPing(BaseModel):
    action: Literal["ping"]


# --- GET /realtime/channels ---------------------------------------------------------------------
class ChannelOut(BaseModel):
    name: Channel
    events: list[str] = Field(description="The bus subjects it carries")
    allowed: bool = Field(description="Whether you may subscribe to it")


class ChannelList(BaseModel):
    items: list[ChannelOut]
    total: int


def openapi_components() -> dict[str, type[BaseModel]]:
    """The WebSocket's models by component name, for the app's OpenAPI document."""
    payloads = (WorkloadChange, events.UnitState, events.FleetMetricsSnapshot, events.MarketTick,
                events.PlanDecided, events.AlertView, events.BillingUsage, InvoiceOut, events.BudgetThreshold)
    models: tuple[type[BaseModel], ...] = (
        WsEnvelope, *CONTROLS, *CHANNEL_EVENTS, *payloads, WsSubscribe, WsUnsubscribe, WsPing)
    return {model.__name__: model for model in models}
