"""Invoices: a tenant's unbilled usage of a period, one line per workload, GPU model and rate,
each rounded half up to cents once; tax on the subtotal; draft -> issued -> paid | void.

An issued invoice never changes again except its status: a correction voids it (its usage is
released) and a new document bills the usage again. Usage rows point at the invoice that billed
them, so no GPU-second is billed twice, whichever replica or request draws an invoice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.billing import rates
from hcp.billing.models import Closing, Invoice, InvoiceLine, Usage
from hcp.billing.schemas import InvoiceLineOut, InvoiceOut, InvoiceSummary
from hcp.billing.service import month_bounds, month_of
from hcp.core.db import dialect_of, new_id
from hcp.core.errors import Conflict, NotFound
from hcp.core.money import to_cents
from hcp.core.outbox import add_event
from hcp.core.paging import page
from hcp.core.security import Principal, ensure_visible, tenant_filter
from hcp.core.settings import BillingSettings
from hcp.kernel.enums import InvoiceStatus
from hcp.kernel.events import InvoiceIssued

INVOICE_ISSUED = "invoice.issued"
HOURS_SCALE = Decimal("0.000001")
TRANSITIONS = {(InvoiceStatus.DRAFT, InvoiceStatus.ISSUED), (InvoiceStatus.DRAFT, InvoiceStatus.VOID),
               (InvoiceStatus.ISSUED, InvoiceStatus.PAID), (InvoiceStatus.ISSUED, InvoiceStatus.VOID)}


def line_amount(gpu_seconds: Decimal, rate: Decimal) -> Decimal:
    return to_cents(rates.cost_usd(gpu_seconds=gpu_seconds, rate_usd_per_gpu_hour=rate))


async def draw(
    *, session: AsyncSession, settings: BillingSettings, tenant_id: str, start: datetime, end: datetime,
    now: datetime, kind: str = "on_demand", period: str | None = None, corrects_id: str | None = None,
) -> Invoice | None:
    """A draft invoice of the tenant's unbilled usage within [start, end); None if there is none."""
    stmt = (select(Usage).where(Usage.tenant_id == tenant_id, Usage.invoice_id.is_(None),
                                Usage.started_at >= start, Usage.ended_at <= end)
            .order_by(Usage.started_at, Usage.id))
    if dialect_of(session) == "postgresql":
        # A concurrent draw waits here, then skips the rows this one billed.
        stmt = stmt.with_for_update()
    usage = list((await session.execute(stmt)).scalars().all())
    if not usage:
        return None
    invoice_id = new_id()
    groups: dict[tuple[str, str, Decimal], list[Usage]] = {}
    for u in usage:
        groups.setdefault((u.workload_id, u.gpu_model, Decimal(u.rate_usd_per_gpu_hour)), []).append(u)
    lines = []
    for position, ((workload_id, model, rate), rows) in enumerate(groups.items(), start=1):
        gpu_seconds = sum((Decimal(r.gpu_seconds) for r in rows), Decimal(0))
        first = rows[0]
        lines.append(InvoiceLine(
            id=new_id(), invoice_id=invoice_id, position=position, workload_id=workload_id, gpu_model=model,
            description=f"{first.workload_name or workload_id}: {model} GPU time, priority {first.priority}"[:300],
            gpu_seconds=gpu_seconds, quantity_hours=(gpu_seconds / rates.SECONDS_PER_HOUR).quantize(HOURS_SCALE),
            rate_usd=rate, amount_usd=line_amount(gpu_seconds, rate)))
    subtotal = sum((line.amount_usd for line in lines), Decimal(0))
    tax = to_cents(subtotal * settings.tax_rate)
    invoice = Invoice(
        id=invoice_id, number=f"INV-{(period or month_of(start)).replace('-', '')}-{invoice_id[:8].upper()}",
        tenant_id=tenant_id, period=period or month_of(start), kind=kind, status=InvoiceStatus.DRAFT,
        currency=settings.currency, subtotal_usd=subtotal, tax_rate=settings.tax_rate, tax_usd=tax,
        total_usd=subtotal + tax, corrects_id=corrects_id, created_at=now)
    session.add(invoice)
    await session.flush()
    session.add_all(lines)
    await session.execute(update(Usage).where(Usage.id.in_([u.id for u in usage]), Usage.invoice_id.is_(None))
                          .values(invoice_id=invoice_id))
    await session.flush()
    return invoice


async def lock(session: AsyncSession, invoice_id: str) -> Invoice:
    row = (await session.execute(
        select(Invoice).where(Invoice.id == invoice_id).with_for_update()
        .execution_options(populate_existing=True))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no invoice {invoice_id}")
    return row


def _move(invoice: Invoice, to: InvoiceStatus) -> None:
    if (invoice.status, to) not in TRANSITIONS:
        raise Conflict(f"invoice {invoice.number} is {invoice.status}: it cannot become {to}",
                       code="illegal_transition", details={"from": invoice.status, "to": to})
    invoice.status = to


async def issue(*, session: AsyncSession, invoice: Invoice, now: datetime) -> Invoice:
    _move(invoice, InvoiceStatus.ISSUED)
    invoice.issued_at = now
    await session.flush()
    lines = await lines_of(session=session, invoice_id=invoice.id)
    add_event(session, InvoiceIssued.model_validate(invoice_view(invoice, lines)), ts=now)
    return invoice


async def mark_paid(*, session: AsyncSession, invoice: Invoice, now: datetime) -> Invoice:
    _move(invoice, InvoiceStatus.PAID)
    invoice.paid_at = now
    await session.flush()
    return invoice


async def void(*, session: AsyncSession, invoice: Invoice, now: datetime) -> Invoice:
    """Void a draft or an issued invoice; its usage is unbilled again, for a correcting document."""
    _move(invoice, InvoiceStatus.VOID)
    invoice.voided_at = now
    await session.execute(update(Usage).where(Usage.invoice_id == invoice.id).values(invoice_id=None))
    await session.flush()
    return invoice


async def correct(*, session: AsyncSession, settings: BillingSettings, invoice: Invoice, now: datetime) -> Invoice:
    """Void `invoice` and issue a new document for the same usage (at today's settings, e.g. tax)."""
    start, end = month_bounds(invoice.period)
    usage_ids = list((await session.execute(select(Usage.id).where(Usage.invoice_id == invoice.id))).scalars())
    await void(session=session, invoice=invoice, now=now)
    rows = (await session.execute(select(Usage).where(Usage.id.in_(usage_ids)))).scalars().all()
    first = min((u.started_at for u in rows), default=start)
    last = max((u.ended_at for u in rows), default=end)
    new = await draw(session=session, settings=settings, tenant_id=invoice.tenant_id, start=first, end=last,
                     now=now, kind="correction", period=invoice.period, corrects_id=invoice.id)
    if new is None:
        raise Conflict(f"invoice {invoice.number} billed no usage: nothing to correct")
    return await issue(session=session, invoice=new, now=now)


async def close_month(
    *, session: AsyncSession, settings: BillingSettings, tenant_id: str, period: str, now: datetime,
) -> Invoice | None:
    """The tenant's monthly invoice of `period`, drawn and issued once (None when already closed or
    nothing was used). Safe to run on every replica: the closing row is the decider."""
    if await session.get(Closing, (tenant_id, period)) is not None:
        return None
    start, end = month_bounds(period)
    try:
        async with session.begin_nested():
            session.add(Closing(tenant_id=tenant_id, period=period, closed_at=now))
            await session.flush()
    except IntegrityError:
        return None
    invoice = await draw(session=session, settings=settings, tenant_id=tenant_id, start=start, end=end,
                         now=now, kind="monthly", period=period)
    if invoice is None:
        return None
    closing = await session.get(Closing, (tenant_id, period))
    assert closing is not None
    closing.invoice_id = invoice.id
    return await issue(session=session, invoice=invoice, now=now)


async def months_to_close(*, session: AsyncSession, now: datetime) -> list[tuple[str, str]]:
    """(tenant, month) pairs with unbilled usage in months that have ended."""
    current_start, _ = month_bounds(month_of(now))
    rows = (await session.execute(
        select(Usage.tenant_id, Usage.started_at).where(Usage.invoice_id.is_(None), Usage.ended_at <= current_start)
    )).all()
    return sorted({(t, month_of(s)) for t, s in rows})


async def lines_of(*, session: AsyncSession, invoice_id: str) -> Sequence[InvoiceLine]:
    return (await session.execute(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice_id)
                                  .order_by(InvoiceLine.position))).scalars().all()


async def get_invoice(*, session: AsyncSession, principal: Principal, invoice_id: str) -> Invoice:
    invoice = await session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound(f"no invoice {invoice_id}")
    ensure_visible(principal, invoice.tenant_id, what="invoice", id=invoice_id)
    return invoice


def invoices_query(
    *, principal: Principal, tenant_id: str | None = None, status: str | None = None, period: str | None = None,
) -> Select[Invoice]:
    """The invoices `principal` may see that pass the filters, newest first: the list's and the
    CSV export's one query."""
    filters: list[Any] = [tenant_filter(principal, Invoice.tenant_id)]
    if tenant_id is not None:
        filters.append(Invoice.tenant_id == tenant_id)
    if status is not None:
        filters.append(Invoice.status == status)
    if period is not None:
        filters.append(Invoice.period == period)
    return select(Invoice).where(*filters).order_by(Invoice.created_at.desc(), Invoice.id)


async def list_invoices(
    *, session: AsyncSession, principal: Principal, tenant_id: str | None = None, status: str | None = None,
    period: str | None = None, limit: int = 100, offset: int = 0,
) -> tuple[list[Invoice], int]:
    return await page(session, invoices_query(principal=principal, tenant_id=tenant_id, status=status, period=period),
                      limit=limit, offset=offset)


def line_out(line: InvoiceLine) -> InvoiceLineOut:
    return InvoiceLineOut(
        description=line.description, workload_id=line.workload_id, gpu_model=line.gpu_model,
        quantity_hours=Decimal(line.quantity_hours).quantize(HOURS_SCALE), rate_usd=Decimal(line.rate_usd),
        amount_usd=to_cents(Decimal(line.amount_usd)))


def invoice_summary(invoice: Invoice) -> InvoiceSummary:
    return InvoiceSummary.model_validate(_fields(invoice))


def invoice_out(invoice: Invoice, lines: Sequence[InvoiceLine]) -> InvoiceOut:
    return InvoiceOut.model_validate({**_fields(invoice), "lines": [line_out(li) for li in lines]})


def _fields(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id, "number": invoice.number, "tenant_id": invoice.tenant_id, "period": invoice.period,
        "kind": invoice.kind, "status": invoice.status, "currency": invoice.currency,
        "subtotal_usd": to_cents(Decimal(invoice.subtotal_usd)), "tax_rate": Decimal(invoice.tax_rate).normalize(),
        "tax_usd": to_cents(Decimal(invoice.tax_usd)), "total_usd": to_cents(Decimal(invoice.total_usd)),
        "corrects_id": invoice.corrects_id, "created_at": invoice.created_at, "issued_at": invoice.issued_at,
        "paid_at": invoice.paid_at, "voided_at": invoice.voided_at,
    }


def invoice_view(invoice: Invoice, lines: Sequence[InvoiceLine] | None = None) -> dict[str, Any]:
    """The invoice as a dict (money as strings, times as datetimes): the `invoice.issued` event's
    body and what the PDF is drawn from; with its lines when given."""
    return (invoice_summary(invoice) if lines is None else invoice_out(invoice, lines)).model_dump()
