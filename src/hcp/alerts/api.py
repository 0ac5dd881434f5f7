"""HTTP routes of the alerts domain, mounted under /api/v1 (the engine is a
component: `hcp.alerts.components`).

Everyone lists, reads and acks the alerts they may see (customers: their tenant's budget alerts);
staff resolve by hand. In split mode the websocket service serves this domain.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query

from hcp.alerts import service
from hcp.alerts.schemas import AlertList, AlertOut, AlertSummary
from hcp.auth.audit import record_audit
from hcp.core.platform import PlatformDep, SessionDep
from hcp.core.routing import domain_router
from hcp.core.security import CurrentUser, OperatorUser
from hcp.kernel.enums import AlertStatus, Severity

router = domain_router("alerts")

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, description="items to skip")]


SubjectKind = Annotated[str | None, Query(min_length=1, max_length=16,
                                          description="what the alerts are about: unit, market or tenant")]
SubjectId = Annotated[str | None, Query(min_length=1, max_length=64,
                                        description="the unit (market node, tenant) they are about")]
TenantId = Annotated[str | None, Query(min_length=1, max_length=32,
                                       description="one customer's alerts (budgets); a customer sees their own only")]


@router.get("/alerts", response_model=AlertList,
            summary="Alerts, newest first, by status, severity, subject (a unit's) and tenant")
async def list_alerts(
    principal: CurrentUser, session: SessionDep, status: AlertStatus | None = None,
    severity: Severity | None = None, subject_kind: SubjectKind = None, subject_id: SubjectId = None,
    tenant_id: TenantId = None,
    limit: Limit = 100, offset: Offset = 0,
) -> dict[str, Any]:
    rows, total = await service.list_alerts(session=session, principal=principal, status=status,
                                            severity=severity, subject_kind=subject_kind, subject_id=subject_id,
                                            tenant_id=tenant_id, limit=limit, offset=offset)
    return {"items": [service.alert_view(a) for a in rows], "total": total}


# Declared before /alerts/{alert_id}, which would take "summary" for an alert id.
@router.get("/alerts/summary", response_model=AlertSummary,
            summary="Alerts not yet resolved, counted by status (open, acked) and severity")
async def alert_summary(principal: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return await service.summarize(session=session, principal=principal)


@router.get("/alerts/{alert_id}", response_model=AlertOut, summary="One alert")
async def get_alert(alert_id: str, principal: CurrentUser, session: SessionDep) -> dict[str, Any]:
    return service.alert_view(await service.get_alert(session=session, principal=principal, alert_id=alert_id))


@router.post("/alerts/{alert_id}/ack", response_model=AlertOut,
             summary="Acknowledge an alert: someone is on it (customers: their tenant's)")
async def ack_alert(alert_id: str, principal: CurrentUser, platform: PlatformDep) -> dict[str, Any]:
    async with platform.db.transaction() as session:
        alert = await service.ack(session=session, principal=principal, alert_id=alert_id,
                                  now=platform.clock.now())
        await record_audit(session, actor=principal, action="alert.ack", object_type="alert", object_id=alert_id)
        return service.alert_view(alert)


@router.post("/alerts/{alert_id}/resolve", response_model=AlertOut, summary="Resolve an alert by hand")
async def resolve_alert(alert_id: str, principal: OperatorUser, platform: PlatformDep) -> dict[str, Any]:
    async with platform.db.transaction() as session:
        alert = await service.resolve(session=session, principal=principal, alert_id=alert_id,
                                      now=platform.clock.now())
        await record_audit(session, actor=principal, action="alert.resolve", object_type="alert",
                           object_id=alert_id)
        view = service.alert_view(alert)
    await service.refresh_gauge(platform.db)
    return view
