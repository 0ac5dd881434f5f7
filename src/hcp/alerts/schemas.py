"""Response bodies of the alerts API."""

from __future__ import annotations

from pydantic import BaseModel

from hcp.kernel.events import AlertView

# The answer is the `alert.*` events' body: one model for both (it lives in the shared kernel,
# beside the other events, because the realtime domain types its alert channel with it too).
AlertOut = AlertView


class AlertList(BaseModel):
    items: list[AlertOut]
    total: int
