"""Response models of the market API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SeriesPriceOut(BaseModel):
    series: str = Field(description="e.g. btc_usd, electricity_usd_per_mwh:HB_NORTH")
    kind: str
    key: str | None = Field(description="market node or GPU model of a keyed series")
    value: float
    ts: datetime = Field(description="when the value was observed (platform clock)")
    source: str = Field(description="sim, coinbase, kraken, mempool, blockchain_info, ercot, derived")
    received_at: datetime
    age_s: float
    stale_after_s: float
    stale: bool


class FeedOut(BaseModel):
    name: str
    series: list[str]
    interval_s: float
    fetches: int
    errors: int
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    failing: bool
    stale: bool


class PricesOut(BaseModel):
    """The latest market tick, assembled from the latest value of every series."""

    ts: datetime | None = Field(description="newest observation among the series")
    now: datetime = Field(description="the platform clock's time the staleness is judged at")
    stale: bool = Field(description="a series is older than its threshold, or a needed one is missing")
    missing: list[str]
    btc_usd: float | None
    network_difficulty: float | None
    network_hashrate_ths: float | None
    fees_btc_per_block: float | None
    hashprice_usd_per_th_day: float | None
    hashprice_usd_per_ph_day: float | None
    electricity_usd_per_mwh: dict[str, float] = Field(description="by market node")
    gpu_spot_usd_per_hour: dict[str, float] = Field(description="by GPU model")
    series: list[SeriesPriceOut]
    feeds: list[FeedOut] = Field(description="real feeds polled by this process (none by default)")


class RawPoint(BaseModel):
    series: str
    ts: datetime
    value: float
    source: str


class BucketPoint(BaseModel):
    series: str
    ts: datetime = Field(description="start of the bucket")
    value: float = Field(description="mean over the bucket")
    min: float
    max: float
    count: int


class PriceHistoryOut(BaseModel):
    items: list[RawPoint | BucketPoint]
    total: int
    series: list[str]
    since: datetime
    until: datetime
    step_s: int | None
