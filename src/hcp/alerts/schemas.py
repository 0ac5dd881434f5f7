"""Response bodies of the alerts API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from hcp.kernel.enums import AlertStatus, Severity


class AlertOut(BaseModel):
    id: str
    cause: str
    rule: str
    severity: Severity
    status: AlertStatus
    subject_kind: str
    subject_id: str
    tenant_id: str | None
    message: str
    details: dict[str, Any]
    raised_at: datetime
    updated_at: datetime
    acked_at: datetime | None
    acked_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None


class AlertList(BaseModel):
    items: list[AlertOut]
    total: int
