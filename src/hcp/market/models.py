"""Tables of the market domain: every observed price (the history) and the latest per series.

Times are integer milliseconds since the epoch on the platform's clock, so that downsampling
buckets are plain integer arithmetic on SQLite and PostgreSQL alike. Prices are floats: they are
market data, not money owed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hcp.core.db import Base, UTCDateTime

SERIES_LENGTH = 96
SOURCE_LENGTH = 32


class MarketPrice(Base):
    """One observation of one series by one source. The key makes a repeated observation (a
    redelivered tick, a feed re-reading the same ERCOT interval) insert nothing."""

    __tablename__ = "market_prices"

    series: Mapped[str] = mapped_column(String(SERIES_LENGTH), primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(SOURCE_LENGTH), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # Retention deletes by time across every series.
    __table_args__ = (Index("ix_market_prices_ts", "ts_ms"),)


class MarketLatest(Base):
    """The newest observation of each series, whatever its source."""

    __tablename__ = "market_latest"

    series: Mapped[str] = mapped_column(String(SERIES_LENGTH), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(SOURCE_LENGTH))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
