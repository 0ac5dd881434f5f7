"""Money: `Decimal` in code, NUMERIC in SQL, decimal strings in JSON; rounded once, half up.

Amounts are carried at full precision through metering and rating and rounded to cents only
where an invoice line is written, so that sums of lines equal the invoice exactly.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Annotated

from pydantic import PlainSerializer
from sqlalchemy import Numeric

CENT = Decimal("0.01")

# 18 digits before the point is far more than any invoice; 10 after keeps rates exact.
MoneyColumn = Numeric(28, 10, asdecimal=True)


def to_cents(amount: Decimal) -> Decimal:
    """Round half up to cents: the one rounding step money goes through."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def parse_money(value: str | int | Decimal) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a string or Decimal")
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount of money: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError("money must be a finite amount")
    return amount


def rate_str(rate: Decimal) -> str:
    """A rate at least to cents, more places where it has them ("3.125")."""
    return f"{rate:.2f}" if rate == to_cents(rate) else str(rate.normalize())


# A Decimal that leaves the API as "1234.50" (two places), never as a float.
MoneyStr = Annotated[Decimal, PlainSerializer(lambda d: f"{to_cents(d):.2f}", return_type=str)]
# A price per unit (USD per GPU-hour), which may carry more places than cents: "2.50", "3.125".
RateStr = Annotated[Decimal, PlainSerializer(rate_str, return_type=str)]
# A price limit as its NUMERIC(12, 4) column keeps it, four places: "2.5000" (USD per GPU-hour).
PRICE_SCALE = Decimal("0.0001")
PriceStr = Annotated[Decimal, PlainSerializer(lambda d: f"{d.quantize(PRICE_SCALE)}", return_type=str)]
# A quantity that is not money (hours, a multiplier, a tax rate, a percentage, BTC), exactly as
# computed: "10.5", "0.0825".
DecimalStr = Annotated[Decimal, PlainSerializer(str, return_type=str)]
