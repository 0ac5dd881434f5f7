"""HTTP routes of the billing domain, mounted under /api/v1 (its background work is in
`hcp.billing.loop`).

Customers see their own tenant's usage, budget and invoices (another tenant's invoice is not
found); staff name a tenant where one is needed; admins draw, issue, void and correct invoices
and read the operator's revenue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import Body, Depends, Header, Query, Response
from fastapi.responses import StreamingResponse

from hcp.auth import service as auth
from hcp.auth.audit import record_audit
from hcp.billing import export, invoices, metering, payments, pdf, rates, revenue, service
from hcp.billing.loop import Payments
from hcp.billing.schemas import (
    BudgetIn,
    BudgetOut,
    Estimate,
    EstimateIn,
    InvoiceIn,
    InvoiceList,
    InvoiceOut,
    PayIn,
    PaymentOut,
    RateCard,
    RevenueReport,
    UsageGrouping,
    UsageReport,
)
from hcp.core import csv_export
from hcp.core.errors import InvalidInput, NotFound
from hcp.core.money import to_cents
from hcp.core.platform import Platform, PlatformDep, SessionDep
from hcp.core.routing import domain_router
from hcp.core.security import AdminUser, CurrentUser, Principal, acting_tenant, require_role
from hcp.kernel.enums import InvoiceStatus

log = structlog.get_logger(__name__)

router = domain_router("billing")
PAYERS = require_role("customer")  # customers (their own tenant's) and admins

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, description="items to skip")]


def provider_of(platform: Platform) -> payments.PaymentProvider:
    return platform.components.require(Payments).provider


# --- helpers -----------------------------------------------------------------------------------
async def _tenant(session: Any, principal: Principal, asked: str | None) -> str:
    return await acting_tenant(principal, asked, find=lambda tenant_id: auth.get_tenant(
        session=session, principal=principal, tenant_id=tenant_id))


def _stamp(platform: Platform) -> str:
    return platform.clock.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


# --- rates and estimates -----------------------------------------------------------------------
@router.get("/billing/rates", summary="The rate card: USD per GPU-hour per model, priority multipliers, tax")
async def get_rates(platform: PlatformDep) -> RateCard:
    return rates.rate_card(platform.settings.billing)


@router.post("/billing/estimate", summary="What a workload would cost (before tax and with it)")
async def estimate(body: EstimateIn, platform: PlatformDep) -> Estimate:
    return rates.estimate(platform.settings.billing, gpu_model=body.gpu_model, gpu_count=body.gpu_count,
                          hours=body.hours, priority=body.priority)


# --- usage -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class UsageFilter:
    tenant_id: str | None
    since: datetime
    until: datetime
    group_by: UsageGrouping


async def usage_filter(
    session: SessionDep, principal: CurrentUser, platform: PlatformDep,
    since: Annotated[datetime | None, Query(alias="from", description="default: the start of this month (UTC)")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="default: now")] = None,
    group_by: UsageGrouping = "workload",
    tenant_id: Annotated[str | None, Query(max_length=32, description="staff: one tenant's (default all)")] = None,
) -> UsageFilter:
    """The usage report's filters, shared by the report and its CSV export: a customer's own tenant."""
    now = platform.clock.now()
    until = until or now
    since = since or now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for name, value in (("from", since), ("to", until)):
        if value.tzinfo is None:
            raise InvalidInput(name, "give a time zone (e.g. 2026-11-01T00:00:00Z)")
    if since >= until:
        raise InvalidInput("from", "must be before to")
    if not principal.is_staff:
        tenant_id = await _tenant(session, principal, tenant_id)
    return UsageFilter(tenant_id=tenant_id, since=since.astimezone(UTC), until=until.astimezone(UTC),
                       group_by=group_by)


UsageWhere = Annotated[UsageFilter, Depends(usage_filter)]


async def _usage_report(session: Any, where: UsageFilter) -> UsageReport:
    return await metering.usage_report(session=session, tenant_id=where.tenant_id, since=where.since,
                                       until=where.until, group_by=where.group_by)


@router.get("/billing/usage", summary="Metered GPU usage in [from, to), grouped by workload, GPU model or day")
async def get_usage(session: SessionDep, where: UsageWhere) -> UsageReport:
    return await _usage_report(session, where)


@router.get("/billing/usage/export.csv", response_class=StreamingResponse,
            responses=csv_export.responses("one row per item of the report (its grouping's columns), header first"),
            summary="The usage report's items as CSV, with the report's filters (a customer's own)")
async def export_usage(session: SessionDep, where: UsageWhere, platform: PlatformDep) -> StreamingResponse:
    report = await _usage_report(session, where)
    return csv_export.response(export.usage(report), filename=f"hcp-usage-{where.group_by}-{_stamp(platform)}.csv")


# --- budget ------------------------------------------------------------------------------------
@router.get("/billing/budget", summary="The tenant's monthly budget and this month's spend")
async def get_budget(session: SessionDep, principal: CurrentUser, platform: PlatformDep,
                     tenant_id: str | None = None) -> BudgetOut:
    tenant = await _tenant(session, principal, tenant_id)
    return await service.budget_view(session=session, tenant_id=tenant, now=platform.clock.now())


@router.put("/billing/budget", dependencies=[PAYERS], summary="Set the tenant's monthly budget")
async def put_budget(body: BudgetIn, principal: CurrentUser, platform: PlatformDep) -> BudgetOut:
    async with platform.db.transaction() as session:
        tenant = await _tenant(session, principal, body.tenant_id)
        before = await service.get_budget(session=session, tenant_id=tenant)
        await service.set_budget(session=session, tenant_id=tenant, monthly_limit_usd=body.monthly_limit_usd)
        await record_audit(session, actor=principal, action="billing.budget.set", object_type="budget",
                           object_id=tenant, tenant_id=tenant, details={
                               "monthly_limit_usd": f"{body.monthly_limit_usd:.2f}",
                               "previous_usd": None if before is None else f"{to_cents(before.monthly_limit_usd):.2f}"})
        view = await service.budget_view(session=session, tenant_id=tenant, now=platform.clock.now())
    return view


# --- invoices ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class InvoiceFilter:
    tenant_id: str | None
    status: InvoiceStatus | None
    period: str | None


def invoice_filter(
    tenant_id: Annotated[str | None, Query(
        max_length=32, description="one customer's (a customer: only their own)")] = None,
    status: InvoiceStatus | None = None,
    period: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")] = None,
) -> InvoiceFilter:
    """The invoice list's filters, shared by the list and its CSV export."""
    return InvoiceFilter(tenant_id=tenant_id, status=status, period=period)


InvoiceWhere = Annotated[InvoiceFilter, Depends(invoice_filter)]


@router.get("/billing/invoices", summary="Invoices, newest first (a customer's own)")
async def list_invoices(
    session: SessionDep, principal: CurrentUser, where: InvoiceWhere, limit: Limit = 100, offset: Offset = 0,
) -> InvoiceList:
    rows, total = await invoices.list_invoices(session=session, principal=principal, tenant_id=where.tenant_id,
                                               status=where.status, period=where.period, limit=limit, offset=offset)
    return InvoiceList(items=[invoices.invoice_summary(r) for r in rows], total=total)


# Declared before /billing/invoices/{invoice_id}, which would take "export.csv" for an invoice id.
@router.get("/billing/invoices/export.csv", response_class=StreamingResponse,
            responses=csv_export.responses("one row per invoice, header first"),
            summary="Every invoice the list's filters pass, as CSV (streamed; newest first; a customer's own)")
async def export_invoices(session: SessionDep, principal: CurrentUser, where: InvoiceWhere,
                          platform: PlatformDep) -> StreamingResponse:
    query = invoices.invoices_query(principal=principal, tenant_id=where.tenant_id, status=where.status,
                                    period=where.period)
    tenants, _ = await auth.list_tenants(session=session, principal=principal, limit=10_000, offset=0)
    return csv_export.response(export.invoices(db=platform.db, query=query, names={t.id: t.name for t in tenants}),
                               filename=f"hcp-invoices-{_stamp(platform)}.csv")


@router.post("/billing/invoices", dependencies=[require_role("admin")], status_code=201,
             summary="Draw an invoice now of a tenant's unbilled usage (admin)")
async def create_invoice(body: InvoiceIn, principal: AdminUser, platform: PlatformDep) -> InvoiceOut:
    now = platform.clock.now()
    month = body.month or service.month_of(now)
    start, end = service.month_bounds(month)
    async with platform.db.transaction() as session:
        tenant = await _tenant(session, principal, body.tenant_id)
        invoice = await invoices.draw(session=session, settings=platform.settings.billing, tenant_id=tenant,
                                      start=start, end=min(end, now), now=now, period=month)
        if invoice is None:
            raise InvalidInput("tenant_id", f"no unbilled usage in {month}")
        if body.issue:
            await invoices.issue(session=session, invoice=invoice, now=now)
        await record_audit(session, actor=principal, action="billing.invoice.create", object_type="invoice",
                           object_id=invoice.id, tenant_id=tenant, details={"total_usd": f"{invoice.total_usd:.2f}"})
        view = invoices.invoice_out(invoice, await invoices.lines_of(session=session, invoice_id=invoice.id))
    return view


@router.get("/billing/invoices/{invoice_id}", summary="One invoice with its lines")
async def get_invoice(invoice_id: str, session: SessionDep, principal: CurrentUser) -> InvoiceOut:
    invoice = await invoices.get_invoice(session=session, principal=principal, invoice_id=invoice_id)
    return invoices.invoice_out(invoice, await invoices.lines_of(session=session, invoice_id=invoice.id))


@router.get("/billing/invoices/{invoice_id}/pdf", summary="The invoice as a PDF", response_class=Response,
            responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
async def get_invoice_pdf(invoice_id: str, session: SessionDep, principal: CurrentUser,
                          platform: PlatformDep) -> Response:
    invoice = await invoices.get_invoice(session=session, principal=principal, invoice_id=invoice_id)
    view = invoices.invoice_view(invoice, await invoices.lines_of(session=session, invoice_id=invoice.id))
    try:
        tenant = await auth.get_tenant(session=session, principal=principal, tenant_id=invoice.tenant_id)
        customer = tenant.name
    except NotFound:
        customer = invoice.tenant_id
    view["issued_at"] = invoice.issued_at.strftime("%Y-%m-%d") if invoice.issued_at else None
    body = pdf.render(invoice=view, platform_name=platform.settings.billing.platform_name, customer_name=customer)
    return Response(body, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{invoice.number}.pdf"'})


async def _admin_move(platform: Platform, principal: Principal, invoice_id: str, action: str) -> InvoiceOut:
    now = platform.clock.now()
    async with platform.db.transaction() as session:
        invoice = await invoices.lock(session, invoice_id)
        if action == "issue":
            result = await invoices.issue(session=session, invoice=invoice, now=now)
        elif action == "void":
            result = await invoices.void(session=session, invoice=invoice, now=now)
        else:
            result = await invoices.correct(session=session, settings=platform.settings.billing, invoice=invoice,
                                            now=now)
        await record_audit(session, actor=principal, action=f"billing.invoice.{action}", object_type="invoice",
                           object_id=invoice_id, tenant_id=invoice.tenant_id, details={"result": result.id})
        return invoices.invoice_out(result, await invoices.lines_of(session=session, invoice_id=result.id))


@router.post("/billing/invoices/{invoice_id}/issue", dependencies=[require_role("admin")],
             summary="Issue a draft invoice (admin); it is immutable from then on")
async def issue_invoice(invoice_id: str, principal: AdminUser, platform: PlatformDep) -> InvoiceOut:
    return await _admin_move(platform, principal, invoice_id, "issue")


@router.post("/billing/invoices/{invoice_id}/void", dependencies=[require_role("admin")],
             summary="Void a draft or issued invoice (admin); its usage can be billed again")
async def void_invoice(invoice_id: str, principal: AdminUser, platform: PlatformDep) -> InvoiceOut:
    return await _admin_move(platform, principal, invoice_id, "void")


@router.post("/billing/invoices/{invoice_id}/correct", dependencies=[require_role("admin")], status_code=201,
             summary="Void an issued invoice and issue a correcting one for the same usage (admin)")
async def correct_invoice(invoice_id: str, principal: AdminUser, platform: PlatformDep) -> InvoiceOut:
    return await _admin_move(platform, principal, invoice_id, "correct")


@router.post("/billing/invoices/{invoice_id}/pay", dependencies=[PAYERS],
             summary="Pay an issued invoice; the same Idempotency-Key returns the first result")
async def pay_invoice(
    invoice_id: str, principal: CurrentUser, platform: PlatformDep,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=128)],
    body: Annotated[PayIn | None, Body()] = None,
) -> PaymentOut:
    return await payments.pay(
        db=platform.db, clock=platform.clock, provider=provider_of(platform), principal=principal,
        invoice_id=invoice_id, idempotency_key=idempotency_key,
        payment_method=(body or PayIn()).payment_method, timeout_s=platform.settings.billing.payment_timeout_s)


# --- revenue -----------------------------------------------------------------------------------
@router.get("/billing/revenue", dependencies=[require_role("admin")],
            summary="The operator's monthly revenue by customer and source, energy costs, margin (admin)")
async def get_revenue(
    session: SessionDep, principal: AdminUser, platform: PlatformDep,
    month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None,
    months: Annotated[int, Query(ge=1, le=24, description="months in by_month, ending with `month`")] = 6,
) -> RevenueReport:
    tenants, _ = await auth.list_tenants(session=session, principal=principal, limit=10_000, offset=0)
    return await revenue.monthly_report(
        session=session, settings=platform.settings.billing, month=month or service.month_of(platform.clock.now()),
        tenant_names={t.id: t.name for t in tenants}, months=months)


