"""Response bodies of the alerts API."""

from __future__ import annotations

from pydantic import BaseModel, Field

from hcp.kernel.events import AlertView

# The answer is the `alert.*` events' body: one model for both (it lives in the shared kernel,
# beside the other events, because the realtime domain types its alert channel with it too).
AlertOut = AlertView


class AlertList(BaseModel):
    items: list[AlertOut]
    total: int


class SeverityCounts(BaseModel):
    info: int = Field(ge=0)
    warning: int = Field(ge=0)
    critical: int = Field(ge=0)


class AlertSummary(BaseModel):
    """The alerts not yet resolved, by status and severity (a customer: their tenant's)."""

    open: SeverityCounts = Field(description="raised, nobody on them yet")
    acked: SeverityCounts = Field(description="acknowledged, not yet resolved")
