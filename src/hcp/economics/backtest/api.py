"""`POST /economics/backtest`: the route, and its work run in a worker thread."""

from __future__ import annotations

import anyio
from fastapi import APIRouter

from hcp.economics.backtest.engine import run_backtest
from hcp.economics.backtest.fleet import build_model
from hcp.economics.backtest.history import prices_from_rows, sample_prices, select_period
from hcp.economics.backtest.report import series
from hcp.economics.backtest.schemas import BacktestRequest, BacktestResponse, Period, SeriesOut


def run_request(body: BacktestRequest) -> BacktestResponse:
    """The route's work, synchronous (the route runs it in a worker thread)."""
    history = sample_prices() if body.prices.rows is None else prices_from_rows(body.prices.rows)
    chosen = select_period(history, body.from_, body.to)
    model = build_model(body.fleet, chosen, field_prefix="fleet.")
    strategies = list(dict.fromkeys(body.strategies))
    result = run_backtest(model, chosen, strategies, threshold_usd_per_mwh=body.threshold_usd_per_mwh,
                          asic_ramp_s=body.asic_ramp_s, gpu_switch_s=body.gpu_switch_s, min_dwell_s=body.min_dwell_s)
    return BacktestResponse(
        period=Period(start=chosen.start(), end=chosen.end(), steps=len(chosen),
                      hours=round(float(chosen.dt_h.sum()), 4)),
        prices_source=chosen.source, synthetic_prices=chosen.synthetic,
        threshold_usd_per_mwh=None if result.threshold_usd_per_mwh is None
        else round(result.threshold_usd_per_mwh, 2),
        strategies=result.summaries(),
        notes=result.notes(),
        series=SeriesOut(**series(result, body.series_points)) if body.series_points else None,
        elapsed_ms=round(result.elapsed_s * 1000, 1),
    )


router = APIRouter()


@router.post("/economics/backtest", response_model=BacktestResponse, summary="Backtest strategies over a price history")
async def backtest(body: BacktestRequest) -> BacktestResponse:
    """Run hybrid / mine-always / ai-first / price-threshold over a price history (the shipped
    synthetic year, or rows given inline) and compare profit (before and after switching costs),
    revenue by source, energy, curtailment, switches and contracted work not delivered."""
    return await anyio.to_thread.run_sync(run_request, body)
