"""Payments of invoices through a payment-provider interface, idempotent by `Idempotency-Key`.

A payment is recorded (pending) before the provider is called, under the tenant's key, in a
transaction that holds the invoice's lock: a second request with the same key finds that row
and returns its outcome, one with another key finds the invoice paid or being paid (409). The
provider is itself called with the key, so a retry after a timeout never charges twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Protocol

import structlog
from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hcp.billing import invoices
from hcp.billing.models import Payment, PaymentStatus
from hcp.billing.schemas import PaymentOut
from hcp.core.clock import Clock
from hcp.core.db import Database, new_id
from hcp.core.errors import Conflict, HCPError, InvalidInput
from hcp.core.metrics import REGISTRY
from hcp.core.money import to_cents
from hcp.core.security import Principal, ensure_visible
from hcp.kernel.enums import InvoiceStatus

log = structlog.get_logger(__name__)

PAYMENTS = Counter("hcp_billing_payments_total", "Invoice payment attempts by outcome", ["status"],
                   registry=REGISTRY)
ChargeStatus = Literal["succeeded", "declined"]
# How long a request waits for another request's payment with the same key to finish.
SAME_KEY_WAIT_S = 15.0
# A payment under way, or one whose outcome the provider has not told yet (retry with the key).
UNSETTLED = (PaymentStatus.PENDING, PaymentStatus.TIMED_OUT)


@dataclass(frozen=True)
class ChargeResult:
    status: ChargeStatus
    reference: str
    message: str | None = None


class PaymentProvider(Protocol):
    name: str

    async def charge(self, *, idempotency_key: str, amount_usd: Decimal, currency: str,
                     payment_method: str, description: str) -> ChargeResult:
        """Charge once per key; the same key again returns the first result. May raise TimeoutError."""


@dataclass
class SimulatedProvider:
    """A card processor in memory: `card_ok` succeeds, `card_declined` declines, `card_timeout`
    hangs past any sensible timeout (until `release_timeouts`)."""

    name: str = "simulated"
    charges: dict[str, ChargeResult] = field(default_factory=dict)
    calls: int = 0
    hang_s: float = 3600.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def charged(self) -> list[ChargeResult]:
        return [c for c in self.charges.values() if c.status == "succeeded"]

    async def charge(self, *, idempotency_key: str, amount_usd: Decimal, currency: str,
                     payment_method: str, description: str) -> ChargeResult:
        self.calls += 1
        if payment_method == "card_timeout":
            await asyncio.sleep(self.hang_s)
        async with self._lock:
            if idempotency_key in self.charges:
                return self.charges[idempotency_key]
            if payment_method == "card_declined":
                result = ChargeResult("declined", f"sim_{new_id()[:16]}", "card declined by the issuer")
            else:
                result = ChargeResult("succeeded", f"sim_{new_id()[:16]}")
            self.charges[idempotency_key] = result
            return result


class PaymentDeclined(HCPError):
    status_code = 402
    code = "payment_declined"


class PaymentTimedOut(HCPError):
    status_code = 504
    code = "payment_timeout"


class PaymentInProgress(Conflict):
    code = "payment_in_progress"


def payment_out(p: Payment) -> PaymentOut:
    return PaymentOut.model_validate({
        "id": p.id, "invoice_id": p.invoice_id, "tenant_id": p.tenant_id, "status": p.status,
        "amount_usd": to_cents(Decimal(p.amount_usd)), "provider": p.provider,
        "provider_reference": p.provider_reference, "message": p.message,
        "idempotency_key": p.idempotency_key, "created_at": p.created_at, "updated_at": p.updated_at})


def outcome(p: Payment) -> PaymentOut:
    """The payment as the API answers it, or the error its status maps to (with it as details)."""
    payment = payment_out(p)
    if p.status == PaymentStatus.DECLINED:
        raise PaymentDeclined(f"payment declined: {p.message or 'declined'}", details=payment.model_dump(mode="json"))
    if p.status == PaymentStatus.TIMED_OUT:
        raise PaymentTimedOut("the payment provider did not answer in time; retry with the same Idempotency-Key",
                              details=payment.model_dump(mode="json"))
    return payment


async def pay(
    *, db: Database, clock: Clock, provider: PaymentProvider, principal: Principal, invoice_id: str,
    idempotency_key: str, payment_method: str, timeout_s: float,
) -> PaymentOut:
    if not 1 <= len(idempotency_key) <= 128:
        raise InvalidInput("Idempotency-Key", "must be 1 to 128 characters")
    # 1. Claim the key (or find the earlier payment under it) while holding the invoice's lock.
    payment, fresh = await _claim(db, clock, provider, principal, invoice_id, idempotency_key)
    if not fresh:
        payment = await _settled(db, payment)
        if payment.status not in UNSETTLED:
            return outcome(payment)
    # 2. Charge (a first attempt, or a retry after a timeout: the provider dedups by key).
    try:
        result = await asyncio.wait_for(provider.charge(
            idempotency_key=f"{payment.tenant_id}:{idempotency_key}", amount_usd=to_cents(Decimal(payment.amount_usd)),
            currency="USD", payment_method=payment_method, description=f"invoice {invoice_id}"), timeout=timeout_s)
    except TimeoutError:
        result = None
    # 3. Record the outcome; a success pays the invoice in the same transaction.
    async with db.transaction() as session:
        row = (await session.execute(select(Payment).where(Payment.id == payment.id).with_for_update()
                                     .execution_options(populate_existing=True))).scalar_one()
        now = clock.now()
        row.updated_at = now
        if result is None:
            row.status, row.message = PaymentStatus.TIMED_OUT, f"no answer from {provider.name} within {timeout_s:g} s"
        else:
            row.status, row.provider_reference, row.message = result.status, result.reference, result.message
            if result.status == "succeeded":
                invoice = await invoices.lock(session, row.invoice_id)
                await invoices.mark_paid(session=session, invoice=invoice, now=now)
        await session.flush()
    PAYMENTS.labels(row.status).inc()
    log.info("invoice payment", invoice_id=invoice_id, status=row.status)
    return outcome(row)


async def _claim(db: Database, clock: Clock, provider: PaymentProvider, principal: Principal, invoice_id: str,
                 key: str) -> tuple[Payment, bool]:
    try:
        async with db.transaction() as session:
            invoice = await invoices.lock(session, invoice_id)
            ensure_visible(principal, invoice.tenant_id, what="invoice", id=invoice_id)
            existing = (await session.execute(select(Payment).where(
                Payment.tenant_id == invoice.tenant_id, Payment.idempotency_key == key))).scalar_one_or_none()
            if existing is not None:
                if existing.invoice_id != invoice_id:
                    raise Conflict("this Idempotency-Key was used for another invoice", code="idempotency_key_reused")
                return existing, False
            if invoice.status == InvoiceStatus.PAID:
                raise Conflict(f"invoice {invoice.number} is already paid", code="already_paid")
            if invoice.status != InvoiceStatus.ISSUED:
                raise Conflict(f"invoice {invoice.number} is {invoice.status}: only an issued invoice can be paid",
                               code="not_payable")
            busy = (await session.execute(select(Payment.id).where(
                Payment.invoice_id == invoice_id, Payment.status.in_(UNSETTLED)))).first()
            if busy is not None:
                raise PaymentInProgress(f"invoice {invoice.number} has a payment in progress under another key")
            now = clock.now()
            payment = Payment(id=new_id(), tenant_id=invoice.tenant_id, idempotency_key=key, invoice_id=invoice_id,
                              amount_usd=Decimal(invoice.total_usd), status=PaymentStatus.PENDING,
                              provider=provider.name, created_at=now, updated_at=now)
            session.add(payment)
            await session.flush()
            return payment, True
    except IntegrityError:
        # The same key raced in from another request (no invoice lock on SQLite reads): that one won.
        async with db.session() as session:
            found = (await session.execute(select(Payment).where(
                Payment.idempotency_key == key, Payment.invoice_id == invoice_id))).scalar_one()
            return found, False


async def _settled(db: Database, payment: Payment) -> Payment:
    """Wait for a payment another request is making to leave `pending`."""
    deadline = asyncio.get_running_loop().time() + SAME_KEY_WAIT_S
    while True:
        async with db.session() as session:
            row = await session.get(Payment, payment.id)
            assert row is not None
        if row.status != PaymentStatus.PENDING:
            return row
        if asyncio.get_running_loop().time() > deadline:
            raise PaymentInProgress("a payment with this Idempotency-Key is still in progress; retry shortly")
        await asyncio.sleep(0.02)


async def list_payments(*, db: Database, invoice_id: str) -> list[Payment]:
    async with db.session() as session:
        return list((await session.execute(select(Payment).where(Payment.invoice_id == invoice_id)
                                           .order_by(Payment.created_at))).scalars().all())
