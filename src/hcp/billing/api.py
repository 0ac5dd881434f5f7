"""HTTP routes of the billing domain, mounted under /api/v1; `start`/`stop` run the metering
consumer and the billing loop (monthly close, mining accrual).

Customers see their own tenant's usage, budget and invoices (another tenant's invoice is not
found); staff name a tenant where one is needed; admins draw, issue, void and correct invoices
and read the operator's revenue.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

import structlog
from fastapi import Body, Header, Query, Response

from hcp.auth import service as auth
from hcp.auth.audit import record_audit
from hcp.billing import invoices, metering, payments, pdf, rates, revenue, service
from hcp.billing.schemas import BudgetIn, EstimateIn, InvoiceIn, PayIn
from hcp.core.bus import Event, Subscription
from hcp.core.errors import InvalidInput, NotFound
from hcp.core.money import to_cents
from hcp.core.platform import Platform, PlatformDep, SessionDep
from hcp.core.routing import domain_router
from hcp.core.security import AdminUser, CurrentUser, Principal, acting_tenant, require_role
from hcp.core.tasks import cancel_tasks

log = structlog.get_logger(__name__)

router = domain_router("billing")
PAYERS = require_role("customer")  # customers (their own tenant's) and admins
STATE_KEY = "billing"
PROVIDER_KEY = "billing.provider"

Limit = Annotated[int, Query(ge=1, le=1000, description="page size")]
Offset = Annotated[int, Query(ge=0, description="items to skip")]


# --- the consumer and the loop -----------------------------------------------------------------
class BillingLoop:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.settings = platform.settings.billing
        self.subscription: Subscription | None = None
        self.tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        # Durable: replicas share one consumer group (each event to one of them) and a restart
        # resumes; `first_delivery` in `apply_event` absorbs redeliveries.
        self.subscription = await self.platform.bus.subscribe(
            "workload.state", self.on_workload_state, durable=metering.CONSUMER)
        self.tasks.append(asyncio.create_task(self._run(), name="billing-loop"))

    async def stop(self) -> None:
        if self.subscription is not None:
            await self.subscription.stop()
        await cancel_tasks(self.tasks)

    async def on_workload_state(self, event: Event) -> None:
        data = event.data
        if metering.mark_kind(data.get("previous_status"), str(data.get("status"))) is None:
            return  # not a start or an end of billable time: nothing to record, nor to de-duplicate
        async with self.platform.db.transaction() as session:
            created = await metering.apply_event(session=session, event=event, settings=self.settings)
            for tenant_id, when in {(u.tenant_id, u.ended_at) for u in created}:
                await service.check_thresholds(session=session, tenant_id=tenant_id, when=when)

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("billing loop failed; retrying", exc_info=True)
            await self.platform.clock.sleep(
                min(self.settings.close_interval_s, self.settings.mining_accrual_interval_s))

    async def tick(self) -> None:
        now = self.platform.clock.now()
        async with self.platform.db.session() as session:
            due = await invoices.months_to_close(session=session, now=now)
        for tenant_id, period in due:
            async with self.platform.db.transaction() as session:
                await invoices.close_month(session=session, settings=self.settings, tenant_id=tenant_id,
                                           period=period, now=now)
        await self.accrue_mining(now)

    async def accrue_mining(self, now: datetime) -> None:
        current = now.replace(minute=0, second=0, microsecond=0)
        async with self.platform.db.session() as session:
            until = await revenue.accrued_until(session=session)
        # At most a day back: telemetry samples are kept for two days.
        hour = max(until or current, current - timedelta(hours=24))
        while hour < current:
            async with self.platform.db.transaction() as session:
                await revenue.accrue_hour(session=session, settings=self.settings, hour=hour)
            hour += revenue.HOUR


async def start(platform: Platform) -> None:
    platform.state.setdefault(PROVIDER_KEY, payments.SimulatedProvider())
    if not platform.settings.billing.run:
        return
    loop = BillingLoop(platform)
    platform.state[STATE_KEY] = loop
    await loop.start()


async def stop(platform: Platform) -> None:
    loop = platform.state.pop(STATE_KEY, None)
    if isinstance(loop, BillingLoop):
        await loop.stop()


def provider_of(platform: Platform) -> payments.PaymentProvider:
    provider = platform.state.get(PROVIDER_KEY)
    if provider is None:
        provider = platform.state[PROVIDER_KEY] = payments.SimulatedProvider()
    return provider


# --- helpers -----------------------------------------------------------------------------------
def _money(value: Any) -> Any:
    """Decimals leave as decimal strings (money at least to cents), recursively."""
    if isinstance(value, Decimal):
        return invoices.rate_str(value)
    if isinstance(value, dict):
        return {k: _money(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_money(v) for v in value]
    return value


async def _tenant(session: Any, principal: Principal, asked: str | None) -> str:
    return await acting_tenant(principal, asked, find=lambda tenant_id: auth.get_tenant(
        session=session, principal=principal, tenant_id=tenant_id))


# --- rates and estimates -----------------------------------------------------------------------
@router.get("/billing/rates", summary="The rate card: USD per GPU-hour per model, priority multipliers, tax")
async def get_rates(platform: PlatformDep) -> dict[str, Any]:
    return _money(rates.rate_card(platform.settings.billing))  # type: ignore[no-any-return]


@router.post("/billing/estimate", summary="What a workload would cost (before tax and with it)")
async def estimate(body: EstimateIn, platform: PlatformDep) -> dict[str, Any]:
    return _money(rates.estimate(platform.settings.billing, gpu_model=body.gpu_model,  # type: ignore[no-any-return]
                                 gpu_count=body.gpu_count, hours=body.hours, priority=body.priority))


# --- usage -------------------------------------------------------------------------------------
@router.get("/billing/usage", summary="Metered GPU usage in [from, to), grouped by workload, GPU model or day")
async def get_usage(
    session: SessionDep, principal: CurrentUser, platform: PlatformDep,
    since: Annotated[datetime | None, Query(alias="from")] = None,
    until: Annotated[datetime | None, Query(alias="to")] = None,
    group_by: Literal["workload", "model", "day"] = "workload",
    tenant_id: str | None = None,
) -> dict[str, Any]:
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
    return _money(await metering.usage_report(  # type: ignore[no-any-return]
        session=session, tenant_id=tenant_id, since=since.astimezone(UTC), until=until.astimezone(UTC),
        group_by=group_by))


# --- budget ------------------------------------------------------------------------------------
@router.get("/billing/budget", summary="The tenant's monthly budget and this month's spend")
async def get_budget(session: SessionDep, principal: CurrentUser, platform: PlatformDep,
                     tenant_id: str | None = None) -> dict[str, Any]:
    tenant = await _tenant(session, principal, tenant_id)
    return _money(await service.budget_view(  # type: ignore[no-any-return]
        session=session, tenant_id=tenant, now=platform.clock.now()))


@router.put("/billing/budget", dependencies=[PAYERS], summary="Set the tenant's monthly budget")
async def put_budget(body: BudgetIn, principal: CurrentUser, platform: PlatformDep) -> dict[str, Any]:
    async with platform.db.transaction() as session:
        tenant = await _tenant(session, principal, body.tenant_id)
        before = await service.get_budget(session=session, tenant_id=tenant)
        await service.set_budget(session=session, tenant_id=tenant, monthly_limit_usd=body.monthly_limit_usd)
        await record_audit(session, actor=principal, action="billing.budget.set", object_type="budget",
                           object_id=tenant, tenant_id=tenant, details={
                               "monthly_limit_usd": f"{body.monthly_limit_usd:.2f}",
                               "previous_usd": None if before is None else f"{to_cents(before.monthly_limit_usd):.2f}"})
        view = await service.budget_view(session=session, tenant_id=tenant, now=platform.clock.now())
    return _money(view)  # type: ignore[no-any-return]


# --- invoices ----------------------------------------------------------------------------------
@router.get("/billing/invoices", summary="Invoices, newest first (a customer's own)")
async def list_invoices(
    session: SessionDep, principal: CurrentUser, tenant_id: str | None = None,
    status: Literal["draft", "issued", "paid", "void"] | None = None, limit: Limit = 100, offset: Offset = 0,
) -> dict[str, Any]:
    rows, total = await invoices.list_invoices(session=session, principal=principal, tenant_id=tenant_id,
                                               status=status, limit=limit, offset=offset)
    return {"items": [invoices.invoice_view(r) for r in rows], "total": total}


@router.post("/billing/invoices", dependencies=[require_role("admin")], status_code=201,
             summary="Draw an invoice now of a tenant's unbilled usage (admin)")
async def create_invoice(body: InvoiceIn, principal: AdminUser, platform: PlatformDep,
                         response: Response) -> dict[str, Any]:
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
        view = invoices.invoice_view(invoice, await invoices.lines_of(session=session, invoice_id=invoice.id))
    return view


@router.get("/billing/invoices/{invoice_id}", summary="One invoice with its lines")
async def get_invoice(invoice_id: str, session: SessionDep, principal: CurrentUser) -> dict[str, Any]:
    invoice = await invoices.get_invoice(session=session, principal=principal, invoice_id=invoice_id)
    return invoices.invoice_view(invoice, await invoices.lines_of(session=session, invoice_id=invoice.id))


@router.get("/billing/invoices/{invoice_id}/pdf", summary="The invoice as a PDF", response_class=Response,
            responses={200: {"content": {"application/pdf": {}}}})
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


async def _admin_move(platform: Platform, principal: Principal, invoice_id: str, action: str) -> dict[str, Any]:
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
        return invoices.invoice_view(result, await invoices.lines_of(session=session, invoice_id=result.id))


@router.post("/billing/invoices/{invoice_id}/issue", dependencies=[require_role("admin")],
             summary="Issue a draft invoice (admin); it is immutable from then on")
async def issue_invoice(invoice_id: str, principal: AdminUser, platform: PlatformDep) -> dict[str, Any]:
    return await _admin_move(platform, principal, invoice_id, "issue")


@router.post("/billing/invoices/{invoice_id}/void", dependencies=[require_role("admin")],
             summary="Void a draft or issued invoice (admin); its usage can be billed again")
async def void_invoice(invoice_id: str, principal: AdminUser, platform: PlatformDep) -> dict[str, Any]:
    return await _admin_move(platform, principal, invoice_id, "void")


@router.post("/billing/invoices/{invoice_id}/correct", dependencies=[require_role("admin")], status_code=201,
             summary="Void an issued invoice and issue a correcting one for the same usage (admin)")
async def correct_invoice(invoice_id: str, principal: AdminUser, platform: PlatformDep) -> dict[str, Any]:
    return await _admin_move(platform, principal, invoice_id, "correct")


@router.post("/billing/invoices/{invoice_id}/pay", dependencies=[PAYERS],
             summary="Pay an issued invoice; the same Idempotency-Key returns the first result")
async def pay_invoice(
    invoice_id: str, principal: CurrentUser, platform: PlatformDep,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=128)],
    body: Annotated[PayIn | None, Body()] = None,
) -> dict[str, Any]:
    return await payments.pay(
        db=platform.db, clock=platform.clock, provider=provider_of(platform), principal=principal,
        invoice_id=invoice_id, idempotency_key=idempotency_key,
        payment_method=(body or PayIn()).payment_method, timeout_s=platform.settings.billing.payment_timeout_s)


# --- revenue -----------------------------------------------------------------------------------
@router.get("/billing/revenue", dependencies=[require_role("admin")],
            summary="The operator's monthly revenue by customer and source, energy costs, margin (admin)")
async def get_revenue(session: SessionDep, principal: AdminUser, platform: PlatformDep,
                      month: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}$")] = None) -> dict[str, Any]:
    tenants, _ = await auth.list_tenants(session=session, principal=principal, limit=10_000, offset=0)
    report = await revenue.monthly_report(
        session=session, settings=platform.settings.billing, month=month or service.month_of(platform.clock.now()),
        tenant_names={t.id: t.name for t in tenants})
    return _money(report)  # type: ignore[no-any-return]
