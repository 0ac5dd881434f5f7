"""Billing as CSV: every invoice a filtered list would count (read in batches, so a long history
never sits in memory whole) and the rows of a usage report, each through core's one CSV writer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Final

from pydantic import BaseModel
from sqlalchemy import Select

from hcp.billing.invoices import invoice_summary
from hcp.billing.models import Invoice
from hcp.billing.schemas import UsageByDay, UsageByModel, UsageByWorkload, UsageGrouping, UsageReport
from hcp.core.csv_export import cell, lines
from hcp.core.db import Database

BATCH = 500
INVOICE_COLUMNS: Final = (
    "id", "number", "tenant_id", "customer", "period", "kind", "status", "currency", "subtotal_usd", "tax_rate",
    "tax_usd", "total_usd", "corrects_id", "created_at", "issued_at", "paid_at", "voided_at",
)
_USAGE_ITEMS: Final[Mapping[UsageGrouping, type[BaseModel]]] = {
    "workload": UsageByWorkload, "model": UsageByModel, "day": UsageByDay}


def invoice_row(invoice: Invoice, customer: str) -> list[str]:
    """One invoice (its fields as the API shows them: money as decimal strings) as a row of
    INVOICE_COLUMNS."""
    values = invoice_summary(invoice).model_dump(mode="json")
    values["customer"] = customer
    return [cell(values.get(c)) for c in INVOICE_COLUMNS]


async def invoices(*, db: Database, query: Select[Invoice], names: Mapping[str, str]) -> AsyncIterator[str]:
    """The header, then the invoices of `query` (in its order) in batches of BATCH, each batch
    read in a short session of its own; `names`: customer names by tenant id."""
    yield lines([list(INVOICE_COLUMNS)])
    offset = 0
    while True:
        async with db.read() as session:
            batch = list((await session.execute(query.limit(BATCH).offset(offset))).scalars().all())
        if batch:
            yield lines(invoice_row(i, names.get(i.tenant_id, i.tenant_id)) for i in batch)
        if len(batch) < BATCH:
            return
        offset += BATCH


def usage_columns(group_by: UsageGrouping) -> list[str]:
    return list(_USAGE_ITEMS[group_by].model_fields)


async def usage(report: UsageReport) -> AsyncIterator[str]:
    """The header of the report's grouping, then one row per item (the JSON report's `items`)."""
    columns = usage_columns(report.group_by)
    yield lines([columns])
    for start in range(0, len(report.items), BATCH):
        chunk = report.items[start:start + BATCH]
        yield lines([cell(item.model_dump(mode="json").get(c)) for c in columns] for item in chunk)
