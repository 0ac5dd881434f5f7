"""The economics domain's own event: a demand-response window was created or cancelled.

Only the planner listens (every optimizer replica, so whichever holds the latest prices replans);
no other domain needs it, so it lives here rather than in the shared kernel's `events`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import AwareDatetime

from hcp.core.bus import Payload


class DemandResponseChanged(Payload):
    subject: ClassVar[str] = "demand.response"
    id: str
    change: Literal["created", "cancelled"]
    facility_id: str
    power_cap_kw: float
    starts_at: AwareDatetime
    ends_at: AwareDatetime
