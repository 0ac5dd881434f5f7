"""Backtests: the CLI on the shipped sample, the strategies against each other, the fast path
against the exact optimizer, conservation of money and energy, the price file, the HTTP route."""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from hcp.core.errors import InvalidInput, install_error_handlers
from hcp.economics import backtest as bt
from hcp.economics.backtest import (
    SAMPLE_FLEET,
    SAMPLE_PRICES,
    STRATEGIES,
    Fleet,
    FleetFileError,
    PriceHistory,
    build_model,
    evaluate,
    fast_path,
    load_fleet,
    load_prices,
    run_backtest,
)
from hcp.economics.backtest.api import router as backtest_router
from hcp.economics.backtest.outcome import _state_changes
from hcp.economics.backtest.report import format_table, render_html, to_json
from hcp.economics.backtest.strategies import _decide_exact
from hcp.kernel.prices import MarketCsvError, write_csv
from hcp.sim.market import MarketReplay, MarketSimulator

T0 = datetime(2026, 7, 1, tzinfo=UTC)
# $65k, 8.3e13, 0.04 BTC fees: ~$49.9/PH/day, so an S21 breaks even near $118.7/MWh and an
# S19 (95 TH/s at 3,250 W) near $60.7/MWh.
BTC, DIFFICULTY, FEES = 65_000.0, 8.3e13, 0.04


def history(electricity: dict[str, list[float]], *, spot: dict[str, float] | None = None,
            step_h: float = 1.0) -> PriceHistory:
    steps = len(next(iter(electricity.values())))
    ts = T0.timestamp() + 3600.0 * step_h * np.arange(steps)
    return PriceHistory(
        ts_s=ts, dt_h=np.full(steps, step_h), btc_usd=np.full(steps, BTC),
        network_difficulty=np.full(steps, DIFFICULTY), fees_btc_per_block=np.full(steps, FEES),
        electricity_usd_per_mwh={k: np.asarray(v, dtype=float) for k, v in electricity.items()},
        gpu_spot_usd_per_hour={k: np.full(steps, v) for k, v in (spot or {}).items()},
    )


def small_fleet(*, cap_kw: float = 100.0, contracts: bool = True) -> Fleet:
    return Fleet.model_validate({
        "facilities": [{"id": "tx", "power_cap_kw": cap_kw, "market_node": "N"}],
        "units": [
            {"id": "s21", "count": 10, "kind": "asic", "facility_id": "tx", "power_w": 3500, "hashrate_ths": 200},
            {"id": "s19", "count": 5, "kind": "asic", "facility_id": "tx", "power_w": 3250, "hashrate_ths": 95},
            {"id": "h100", "count": 4, "kind": "gpu", "facility_id": "tx", "model": "H100", "power_w": 700,
             "idle_power_w": 80},
        ],
        "workloads": [{"id": "acme", "gpu_model": "H100", "gpu_count": 2, "price_usd_per_gpu_hour": 3.0}]
        if contracts else [],
    })


# ------------------------------------------------------------------------------------------------
# The command line on the shipped sample


def hcp(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HCP_")}
    return subprocess.run([sys.executable, "-m", "hcp", "backtest", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_cli_on_the_sample_prints_the_comparison_and_writes_the_plot(tmp_path: Path) -> None:
    done = hcp("--prices", str(SAMPLE_PRICES), "--fleet", str(SAMPLE_FLEET), "--out", "report", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "105,120 steps (8,760.0 h)" in out and "SYNTHETIC" in out
    header = next(line for line in out.splitlines() if line.startswith("strategy"))
    for column in ("profit", "switching cost", "after switching", "mining", "AI contracted", "SLO shortfall", "spot",
                   "energy MWh", "energy cost", "curtailed ASIC-h", "switches"):
        assert column in header
    rows = {line.split()[0]: line for line in out.splitlines() if line.split() and line.split()[0] in STRATEGIES}
    assert set(rows) == set(STRATEGIES)
    assert "\x1b" not in done.stderr  # no progress bar when stderr is not a terminal

    report = json.loads((tmp_path / "report" / "backtest.json").read_text())
    assert report["prices"]["synthetic"] is True and report["period"]["steps"] == 105_120
    by_name = {s["strategy"]: s for s in report["strategies"]}
    for name, line in rows.items():
        assert f"${by_name[name]['profit_usd']:,.0f}" in line
    # Over a year of spikes the hybrid beats mining blindly, and renting spare GPUs beats idling them.
    assert by_name["hybrid"]["profit_usd"] > by_name["mine-always"]["profit_usd"]
    assert by_name["ai-first"]["revenue_usd"]["spot"] > 0 == by_name["mine-always"]["revenue_usd"]["spot"]
    # It delivers every contracted GPU-hour, and earns more than any single mode after paying for
    # its switches: the report says so and has nothing to warn about.
    hybrid = by_name.pop("hybrid")
    assert hybrid["slo_shortfall_gpu_hours"] == 0 and hybrid["switching_cost_usd"] > 0
    for name, other in by_name.items():
        assert hybrid["profit_after_switching_usd"] > other["profit_after_switching_usd"], name
        assert f"${other['profit_after_switching_usd']:,.0f}" in rows[name]
    assert "Best: hybrid after switching costs" in out and "Note:" not in out and report["notes"] == []

    page = (tmp_path / "report" / "backtest.html").read_text()
    assert page.count("<svg") >= 7 and "SYNTHETIC" in page
    for name in STRATEGIES:
        assert f"Power by mode: {name}" in page
    for title in ("Cumulative profit", "Electricity", "Hashprice", "GPU spot"):
        assert title in page


@pytest.mark.slow
def test_cli_defaults_to_the_sample_and_takes_a_period_and_strategies(tmp_path: Path) -> None:
    done = hcp("--from", "2026-03-01", "--to", "2026-03-08T00:00:00Z", "-s", "hybrid,mine-always",
               "--strategy", "price-threshold", "--threshold-usd-per-mwh", "60", "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "2026-03-01 00:00 to 2026-03-08 00:00 UTC, 2,016 steps (168.0 h)" in done.stdout
    assert "strike $60.00/MWh" in done.stdout
    names = [s["strategy"] for s in json.loads((tmp_path / "backtest.json").read_text())["strategies"]]
    assert names == ["hybrid", "mine-always", "price-threshold"]


@pytest.mark.slow
@pytest.mark.parametrize(("args", "message"), [
    (["-s", "hodl"], "--strategy: unknown 'hodl'"),
    (["--from", "yesterday"], "--from: 'yesterday' is not an ISO 8601"),
    (["--from", "2030-01-01"], "--from: no price rows in the period"),
    (["--prices", "missing.csv"], "missing.csv: cannot open"),
    (["--asic-ramp-s", "-1"], "--asic-ramp-s: -1.0 is not a number of seconds from 0 to 86,400"),
])
def test_cli_refuses_bad_input_with_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    done = hcp(*args, cwd=tmp_path)
    assert done.returncode == 2 and message in done.stderr, done.stderr


@pytest.mark.slow
def test_cli_names_the_fleet_field_and_the_csv_line(tmp_path: Path) -> None:
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("facilities:\n  - {id: tx, power_cap_kw: 10, market_node: ERCOT_X}\n"
                     "units:\n  - {id: a, kind: asic, facility_id: tx, power_w: 3500, hashrate_ths: 200}\n")
    done = hcp("--fleet", str(fleet), cwd=tmp_path)
    assert done.returncode == 2 and "facilities[0].market_node: no electricity prices for 'ERCOT_X'" in done.stderr
    fleet.write_text("facilities:\n  - {id: tx, power_cap_kw: 10, market_node: HB_NORTH}\n"
                     "units:\n  - {id: a, kind: asic, facility_id: tx, power_w: -1, hashrate_ths: 200}\n")
    done = hcp("--fleet", str(fleet), cwd=tmp_path)
    assert done.returncode == 2 and "units[0].power_w: Input should be greater than 0" in done.stderr
    prices = tmp_path / "prices.csv"
    prices.write_text("ts,btc_usd,network_difficulty,fees_btc_per_block,electricity_usd_per_mwh:HB_NORTH\n"
                      "2026-01-01T00:00:00Z,65000,8.3e13,0.04,40\n2026-01-01T00:05:00Z,65000,8.3e13,0.04,cheap\n")
    done = hcp("--prices", str(prices), "--fleet", str(fleet), cwd=tmp_path)
    assert done.returncode == 2
    assert "prices.csv: line 3: column 'electricity_usd_per_mwh:HB_NORTH': 'cheap' is not a number" in done.stderr


def test_exact_option_agrees_with_the_fast_path_on_the_demo_fleet() -> None:
    prices = bt.sample_prices().between(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 1, 12, tzinfo=UTC))
    model = build_model(load_fleet(SAMPLE_FLEET), prices)
    fast = run_backtest(model, prices, ["hybrid"]).outcomes[0]
    exact = run_backtest(model, prices, ["hybrid"], exact=True).outcomes[0]
    assert exact.exact_steps == len(prices) == 144
    np.testing.assert_allclose(fast.profit_usd, exact.profit_usd, rtol=1e-9, atol=1e-9)


# ------------------------------------------------------------------------------------------------
# Strategies


def spiky_day() -> PriceHistory:
    # Cheap, then a spike over every ASIC's break-even, then a price only the S21s beat.
    prices = [30.0] * 10 + [400.0] * 3 + [80.0] * 5 + [30.0] * 6
    return history({"N": prices}, spot={"H100": 2.5})


def test_price_spike_above_break_even_makes_hybrid_curtail_and_beat_mine_always() -> None:
    prices = spiky_day()
    model = build_model(small_fleet(), prices)
    result = run_backtest(model, prices, threshold_usd_per_mwh=100.0)
    by = {o.strategy: o for o in result.outcomes}
    hybrid = by["hybrid"]
    # $400: everything curtailed; $80: the S19s (break-even ~$61) curtailed, the S21s mine.
    assert hybrid.curtailed_asics.tolist() == [0] * 10 + [15] * 3 + [5] * 5 + [0] * 6
    assert by["mine-always"].curtailed_asics.tolist() == [0] * 24
    assert by["price-threshold"].curtailed_asics.tolist() == [0] * 10 + [15] * 3 + [0] * 11
    summary = {s.strategy: s for s in result.summaries()}
    assert summary["hybrid"].profit_usd > summary["price-threshold"].profit_usd > summary["mine-always"].profit_usd
    assert summary["hybrid"].curtailed_asic_hours == 3 * 15 + 5 * 5
    assert summary["hybrid"].switches == 15 + 10 + 5  # curtail all; resume the S21s; resume the S19s
    # Renting the spare GPUs: ai-first earns the most spot; mine-always leaves them idle.
    spot = {name: s.revenue_usd.spot for name, s in summary.items()}
    assert spot["ai-first"] == max(spot.values()) == pytest.approx(2 * 2.5 * 24)
    assert spot["mine-always"] == spot["price-threshold"] == 0
    assert all(s.revenue_usd.ai_contracted == pytest.approx(2 * 3.0 * 24) for s in summary.values())


def test_hybrid_is_never_worse_than_another_strategy_at_any_step() -> None:
    # Every strategy runs the same contracts (commitments), so each step's decision of another
    # strategy is a plan hybrid's optimum could have chosen: with switching free, it is never
    # worse at any step. With switching priced hybrid may hold a step's count to save a ramp;
    # then it is never worse over the run, after switching costs.
    rng = np.random.default_rng(5)
    prices = history({"N": rng.uniform(-10, 300, 200).tolist()}, spot={"H100": 2.2})
    prices.gpu_spot_usd_per_hour["H100"][:] = rng.uniform(0.5, 4.0, 200)
    for cap_kw in (100.0, 40.0, 9.0):
        model = build_model(small_fleet(cap_kw=cap_kw), prices)
        result = run_backtest(model, prices, asic_ramp_s=0.0, gpu_switch_s=0.0)
        hybrid = result.outcomes[0]
        for other in result.outcomes[1:]:
            assert (hybrid.profit_usd >= other.profit_usd - 1e-3 * np.abs(hybrid.profit_usd) - 1e-9).all(), \
                (cap_kw, other.strategy)
            np.testing.assert_array_equal(hybrid.decision.placed, other.decision.placed)
        priced = run_backtest(model, prices).summaries()
        for other in priced[1:]:
            assert priced[0].profit_after_switching_usd >= other.profit_after_switching_usd, (cap_kw, other.strategy)


def test_over_the_cap_mine_always_keeps_the_most_efficient_asics() -> None:
    prices = history({"N": [30.0, 30.0]})
    model = build_model(small_fleet(cap_kw=40.0, contracts=False), prices)
    mine = run_backtest(model, prices, ["mine-always"]).outcomes[0]
    s21 = next(c for c, cls in enumerate(model.classes) if cls.stock == (3500.0, 200.0))
    s19 = next(c for c, cls in enumerate(model.classes) if cls.stock == (3250.0, 95.0))
    # 40 kW less 320 W of idle GPUs: the ten S21s (35 kW), then one S19.
    assert mine.decision.mining_units[:, s21].tolist() == [10, 10]
    assert mine.decision.mining_units[:, s19].tolist() == [1, 1]
    assert (mine.facility_power_w <= 40_000 + 1e-6).all()


def test_default_strike_price_is_the_fleets_break_even_at_the_first_hashprice() -> None:
    prices = history({"N": [30.0, 30.0]})
    fleet = Fleet.model_validate({
        "facilities": [{"id": "tx", "power_cap_kw": 50, "market_node": "N"}],
        "units": [{"id": "s21", "kind": "asic", "facility_id": "tx", "power_w": 3500, "hashrate_ths": 200}]})
    result = run_backtest(build_model(fleet, prices), prices, ["price-threshold"])
    hashprice = (3.125 + FEES) * 144 * BTC / (DIFFICULTY * 2**32 / 600 / 1e12)
    assert result.threshold_usd_per_mwh == pytest.approx(200 * hashprice / 24 * 1e6 / 3500)
    assert 118 < (result.threshold_usd_per_mwh or 0) < 119.5


def test_luxos_curve_lowers_power_under_a_tight_cap() -> None:
    fleet = load_fleet(SAMPLE_FLEET)
    fleet.facilities[0].power_cap_kw = 15.0  # tx-north: 7 S21s (2 on LuxOS) and 4 H100s
    prices = history({"HB_NORTH": [30.0], "HB_WEST": [30.0], "MISO_MINN_HUB": [30.0]},
                     spot={"H100": 2.5, "A100": 1.6})
    model = build_model(fleet, prices)
    hybrid = run_backtest(model, prices, ["hybrid"]).outcomes[0]
    luxos = next(c for c, cls in enumerate(model.classes) if cls.facility == 0 and len(cls.hull) > 1)
    per_unit = hybrid.decision.mining_w[0, luxos] / max(hybrid.decision.mining_units[0, luxos], 1)
    assert hybrid.decision.mining_units[0, luxos] == 2 and per_unit < 3500  # the efficient end of the curve
    assert hybrid.facility_power_w[0, 0] <= 15_000 + 1e-6


# ------------------------------------------------------------------------------------------------
# Commitments, SLO shortfall and switching


HASHPRICE_USD_PER_TH_HOUR = (3.125 + FEES) * 144 * BTC / (DIFFICULTY * 2**32 / 600 / 1e12) / 24
S21 = {"kind": "asic", "facility_id": "tx", "power_w": 3500, "hashrate_ths": 200}
H100 = {"kind": "gpu", "facility_id": "tx", "model": "H100", "power_w": 700, "idle_power_w": 80}


def one_site(cap_kw: float, units: list[dict[str, Any]], workloads: list[dict[str, Any]] | None = None) -> Fleet:
    return Fleet.model_validate({"facilities": [{"id": "tx", "power_cap_kw": cap_kw, "market_node": "N"}],
                                 "units": units, "workloads": workloads or []})


def test_hybrid_runs_a_contracted_gang_even_where_mining_its_power_would_earn_more() -> None:
    # 11 kW holds the idle GPUs (160 W) and three S21s (10.5 kW), or two S21s and the gang
    # (1,240 W more). At $30/MWh the third S21 nets $0.31/h, the gang $0.06/h: a trader of
    # revenue would drop the gang; admitted work runs whenever GPUs and power allow.
    fleet = one_site(11.0, [{"id": "s21", "count": 3, **S21}, {"id": "h100", "count": 2, **H100}],
                     [{"id": "cheap", "gpu_model": "H100", "gpu_count": 2, "price_usd_per_gpu_hour": 0.05}])
    prices = history({"N": [30.0] * 24}, spot={"H100": 0.02})
    model = build_model(fleet, prices)
    result = run_backtest(model, prices)
    for outcome, summary in zip(result.outcomes, result.summaries(), strict=True):
        assert outcome.decision.placed.all(), outcome.strategy
        assert summary.slo_shortfall_gpu_hours == 0 == summary.slo_shortfall_usd, outcome.strategy
        assert summary.revenue_usd.ai_contracted == pytest.approx(2 * 0.05 * 24)
    hybrid = result.outcomes[0]
    assert hybrid.decision.mining_units.sum(axis=1).tolist() == [2] * 24  # the ASICs take what is left
    exact = run_backtest(model, prices, ["hybrid"], exact=True).outcomes[0]  # the optimizer agrees
    assert exact.decision.placed.all()
    np.testing.assert_allclose(exact.profit_usd, hybrid.profit_usd, rtol=1e-9)


def test_a_contract_the_fleet_cannot_power_is_a_shortfall_of_every_strategy_and_a_note() -> None:
    # 1 kW: the idle GPUs fit, a 1,240 W gang never does, whatever the ASICs do.
    fleet = one_site(1.0, [{"id": "s21", **S21}, {"id": "h100", "count": 2, **H100}],
                     [{"id": "big", "gpu_model": "H100", "gpu_count": 2, "price_usd_per_gpu_hour": 3.0}])
    prices = history({"N": [30.0] * 10})
    result = run_backtest(build_model(fleet, prices), prices)
    for summary in result.summaries():
        assert summary.slo_shortfall_gpu_hours == 20 and summary.slo_shortfall_usd == 60
    assert any("big" in note and "cannot run" in note for note in result.notes())


def test_a_fleet_workload_is_always_a_commitment() -> None:
    raw = small_fleet().model_dump()
    assert raw["workloads"][0]["committed"] is True
    raw["workloads"][0]["committed"] = False
    with pytest.raises(ValidationError) as caught:
        Fleet.model_validate(raw)
    assert caught.value.errors()[0]["loc"] == ("workloads", 0, "committed")


def test_switching_is_counted_and_priced() -> None:
    # 100 S21s and two H100s on spot; for one hour power costs $400/MWh and spot pays $0.10.
    prices = history({"N": [30.0, 30.0, 400.0, 30.0, 30.0]}, spot={"H100": 2.5})
    prices.gpu_spot_usd_per_hour["H100"][2] = 0.1
    model = build_model(one_site(1000.0, [{"id": "s21", "count": 100, **S21}, {"id": "h100", "count": 2, **H100}]),
                        prices)
    result = run_backtest(model, prices, ["hybrid", "price-threshold"], threshold_usd_per_mwh=100.0)
    ramp = 100 * 200 * HASHPRICE_USD_PER_TH_HOUR * 600 / 3600  # 100 restarts: 10 minutes of 200 TH/s each
    gpu = 2 * 2.5 * 0.5 / 3600  # two GPUs back on spot: half a second of $2.50/h each
    hybrid, threshold = result.outcomes
    assert hybrid.asic_stops.tolist() == threshold.asic_stops.tolist() == [0, 0, 100, 0, 0]
    assert hybrid.asic_starts.tolist() == threshold.asic_starts.tolist() == [0, 0, 0, 100, 0]
    assert hybrid.gpu_switches.tolist() == [0, 0, 2, 2, 0]  # to idle (free), back to spot (priced)
    assert threshold.gpu_switches.tolist() == [0] * 5
    np.testing.assert_allclose(hybrid.switching_usd, [0, 0, 0, ramp + gpu, 0], rtol=1e-12, atol=0)
    np.testing.assert_allclose(threshold.switching_usd, [0, 0, 0, ramp, 0], rtol=1e-12, atol=0)
    summary = {s.strategy: s for s in result.summaries()}
    hybrid_counts = summary["hybrid"].asic_starts, summary["hybrid"].asic_stops, summary["hybrid"].gpu_switches
    assert hybrid_counts == (100, 100, 4)
    assert summary["hybrid"].switches == 204 and summary["price-threshold"].switches == 200
    assert summary["hybrid"].switching_cost_usd == round(ramp + gpu, 2) == 6.93
    assert summary["price-threshold"].switching_cost_usd == round(ramp, 2)
    for s in summary.values():
        assert s.profit_after_switching_usd == pytest.approx(s.profit_usd - s.switching_cost_usd, abs=0.011)
    # The seconds are parameters: no ramp, no cost.
    free = run_backtest(model, prices, ["price-threshold"], threshold_usd_per_mwh=100.0, asic_ramp_s=0.0)
    assert free.summaries()[0].switching_cost_usd == 0


def test_hybrid_does_not_flap_asics_for_a_blip_worth_less_than_the_ramp() -> None:
    # Five-minute steps. One at $150/MWh, over an S21's break-even (~$118.7): curtailing for it
    # saves 3.5 kW x $31/MWh x 5 min = $0.009 an S21, its restart loses 10 minutes of $0.42/h = $0.069.
    fleet = one_site(100.0, [{"id": "s21", "count": 10, **S21}])
    calm, dear = [30.0] * 12, [400.0] * 12
    blip = history({"N": [*calm, 150.0, *calm]}, step_h=1 / 12)
    model = build_model(fleet, blip)
    hybrid = run_backtest(model, blip, ["hybrid"]).outcomes[0]
    assert hybrid.curtailed_asics.tolist() == [0] * 25 and hybrid.switches.sum() == 0
    # Without a ramp to pay for, the step's optimum curtails; with it, that loses money.
    free = run_backtest(model, blip, ["hybrid"], asic_ramp_s=0.0).outcomes[0]
    assert free.curtailed_asics.tolist() == [0] * 12 + [10] + [0] * 12
    priced = evaluate(model, blip, free.decision, "hybrid without switching costs")
    assert priced.asic_starts.sum() == 10
    assert priced.switching_usd.sum() == pytest.approx(10 * 200 * HASHPRICE_USD_PER_TH_HOUR / 6, rel=1e-12)
    assert hybrid.profit_after_switching_usd.sum() > priced.profit_after_switching_usd.sum()
    # A spike worth more than the restart is still curtailed ($2,000/MWh saves $0.55 an S21).
    spike = history({"N": [*calm, 2000.0, *calm]}, step_h=1 / 12)
    assert run_backtest(model, spike, ["hybrid"]).outcomes[0].curtailed_asics.tolist() == [0] * 12 + [10] + [0] * 12
    # Nor does it start the curtailed S21s for a five-minute dip in a long spike ($0.026 each).
    dip = history({"N": [*dear, 30.0, *dear]}, step_h=1 / 12)
    assert run_backtest(model, dip, ["hybrid"]).outcomes[0].curtailed_asics.tolist() == [10] * 25
    assert run_backtest(model, dip, ["hybrid"], asic_ramp_s=0.0).outcomes[0].curtailed_asics[12] == 0


def test_the_report_says_so_when_a_single_mode_strategy_beats_hybrid_after_switching() -> None:
    # A start that loses a day of revenue, weighed over one step only: hybrid curtails for the
    # three-hour spike and pays for the restarts ($123); ai-first never switches.
    prices = spiky_day()
    result = run_backtest(build_model(small_fleet(), prices), prices, asic_ramp_s=86_400.0, min_dwell_s=0.0)
    summary = {s.strategy: s for s in result.summaries()}
    lead = summary["ai-first"].profit_after_switching_usd - summary["hybrid"].profit_after_switching_usd
    assert lead > 0 and summary["hybrid"].switching_cost_usd > 100
    assert result.notes() == [f"On this price path ai-first beat hybrid by ${lead:,.2f} after switching costs "
                              f"(${summary['ai-first'].profit_after_switching_usd:,.2f} against "
                              f"${summary['hybrid'].profit_after_switching_usd:,.2f})."]
    table = format_table(result)
    assert "Best: ai-first after switching costs" in table and "Note: On this price path ai-first" in table
    assert "On this price path ai-first beat hybrid" in render_html(result)
    assert to_json(result)["notes"] == result.notes()


def test_hybrid_keeps_every_contract_and_earns_the_most_after_switching_on_a_week_of_the_sample() -> None:
    week = bt.sample_prices().between(datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 7, 8, tzinfo=UTC))
    result = run_backtest(build_model(load_fleet(SAMPLE_FLEET), week), week)
    summary = {s.strategy: s for s in result.summaries()}
    hybrid = summary.pop("hybrid")
    assert hybrid.slo_shortfall_gpu_hours == 0 == hybrid.slo_shortfall_usd
    assert hybrid.switching_cost_usd > 0 and hybrid.asic_starts > 0
    for other in summary.values():
        assert other.revenue_usd.ai_contracted == hybrid.revenue_usd.ai_contracted  # the same work delivered
        assert hybrid.profit_after_switching_usd > other.profit_after_switching_usd, other.strategy
    assert result.notes() == []


# ------------------------------------------------------------------------------------------------
# The fast path against the exact optimizer


def random_fleet(rng: np.random.Generator, units: int, facilities: int) -> dict[str, Any]:
    """Mixed ASIC models (some with power curves) and GPU pools, caps from 20% to 120% of full power."""
    specs = [(200.0, 3500.0), (95.0, 3250.0), (335.0, 5360.0)]
    fac_ids = [f"f{i}" for i in range(facilities)]
    full, idle = np.zeros(facilities), np.zeros(facilities)
    rows: list[dict[str, Any]] = []
    asics = int(units * rng.uniform(0.4, 0.9))
    for i in range(asics):
        f = int(rng.integers(facilities))
        hs, pw = specs[int(rng.integers(len(specs)))]
        unit: dict[str, Any] = {"id": f"a{i}", "kind": "asic", "facility_id": fac_ids[f], "hashrate_ths": hs,
                                "power_w": pw}
        if rng.random() < 0.3:
            unit["curve"] = [[pw * k, hs * k**0.66] for k in (0.6, 0.8)]
        rows.append(unit)
        full[f] += pw
    for i in range(units - asics):
        f = int(rng.integers(facilities))
        model, pw, ip = ("H100", 700.0, 80.0) if rng.random() < 0.6 else ("A100", 400.0, 50.0)
        rows.append({"id": f"g{i}", "kind": "gpu", "facility_id": fac_ids[f], "model": model, "power_w": pw,
                     "idle_power_w": ip})
        full[f] += pw
        idle[f] += ip
    workloads = [{"id": f"w{j}", "gpu_model": ["H100", "A100", "any"][int(rng.integers(3))],
                  "gpu_count": int(rng.integers(1, 9)), "price_usd_per_gpu_hour": round(float(rng.uniform(0.2, 4)), 2)}
                 for j in range(int(rng.integers(0, 10)))]
    return {"facilities": [{"id": fid, "power_cap_kw": max(idle[f], full[f] * float(rng.uniform(0.2, 1.2))) / 1000,
                            "market_node": f"N{f}"} for f, fid in enumerate(fac_ids)],
            "units": rows, "workloads": workloads}


def random_steps(rng: np.random.Generator, steps: int, facilities: int) -> PriceHistory:
    """Independent random markets, one per step, with spikes and negative prices."""
    ts = T0.timestamp() + 300.0 * np.arange(steps)
    power = {f"N{f}": np.where(rng.random(steps) < 0.1, rng.uniform(100, 3000, steps), rng.uniform(-10, 160, steps))
             for f in range(facilities)}
    return PriceHistory(ts_s=ts, dt_h=np.full(steps, 1 / 12), btc_usd=rng.uniform(55e3, 75e3, steps),
                        network_difficulty=rng.uniform(7e13, 1.5e14, steps),
                        fees_btc_per_block=rng.uniform(0, 0.1, steps), electricity_usd_per_mwh=power,
                        gpu_spot_usd_per_hour={"H100": rng.uniform(1.5, 3, steps), "A100": rng.uniform(0.8, 2, steps)})


def contracted_fleet(raw: dict[str, Any], prices: PriceHistory) -> bt.FleetModel:
    """The model of `raw`, dropping the contracts that would oversell a pool."""
    while True:
        try:
            return build_model(Fleet.model_validate(raw), prices)
        except InvalidInput as exc:
            field = exc.details[0]["field"]
            assert field.startswith("workloads["), exc.message
            del raw["workloads"][int(field[len("workloads["):field.index("]")])]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), units=st.integers(100, 250), facilities=st.integers(1, 3))
def test_fast_path_reaches_999_per_mille_of_the_exact_optimizer_and_keeps_the_caps(
    seed: int, units: int, facilities: int,
) -> None:
    rng = np.random.default_rng(seed)
    prices = random_steps(rng, 10, facilities)
    model = contracted_fleet(random_fleet(rng, units, facilities), prices)
    decision, objective, _ = fast_path(model, prices)  # no step handed to the exact optimizer
    fast = evaluate(model, prices, decision, "fast")
    free = {"asic_ramp_s": 0.0, "gpu_switch_s": 0.0}  # each step's optimum, nothing held for switching
    exact = run_backtest(model, prices, ["hybrid"], exact=True, **free).outcomes[0]
    best = exact.profit_usd / prices.dt_h  # USD/h, as the optimizer's objective
    ours = fast.profit_usd / prices.dt_h
    np.testing.assert_allclose(ours, objective, rtol=1e-9, atol=1e-9)
    assert (ours >= best - 1e-3 * np.abs(best) - 1e-9).all(), (ours - best) / np.abs(best)
    assert (fast.facility_power_w <= model.cap_w + 1e-6).all()
    # run_backtest's hybrid (the fast path, and the exact optimizer for any step it cannot
    # prove) holds to the same standard.
    hybrid = run_backtest(model, prices, ["hybrid"], **free).outcomes[0].profit_usd / prices.dt_h
    assert (hybrid >= best - 1e-3 * np.abs(best) - 1e-9).all()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), units=st.integers(5, 250), facilities=st.integers(1, 3))
def test_fast_path_bound_holds_so_what_it_proves_is_true(seed: int, units: int, facilities: int) -> None:
    rng = np.random.default_rng(seed)
    prices = random_steps(rng, 10, facilities)
    model = contracted_fleet(random_fleet(rng, units, facilities), prices)
    _, objective, gap = fast_path(model, prices)
    exact = evaluate(model, prices, _decide_exact(model, prices, range(len(prices))), "exact")
    best = exact.profit_usd / prices.dt_h
    assert (best <= objective + gap + 1e-6).all()  # the optimum is never above the bound
    assert (objective <= best + 1e-6).all()  # and the fast path never claims more than it can


def test_fast_path_proves_a_thousand_unit_fleet_and_a_tight_small_one_on_its_own() -> None:
    rng = np.random.default_rng(11)
    prices = random_steps(rng, 200, 3)
    model = contracted_fleet(random_fleet(rng, 1000, 3), prices)
    assert run_backtest(model, prices, ["hybrid"]).outcomes[0].exact_steps == 0
    # The demo fleet under caps that bind every step, for a week of the sample.
    fleet = load_fleet(SAMPLE_FLEET)
    for facility, cap_kw in zip(fleet.facilities, (18, 14, 12), strict=True):
        facility.power_cap_kw = cap_kw
    week = bt.sample_prices().between(None, datetime(2026, 1, 8, tzinfo=UTC))
    model = build_model(fleet, week)
    _, objective, gap = fast_path(model, week)
    assert (gap <= 1e-3 * np.abs(objective)).all()
    assert run_backtest(model, week, ["hybrid"]).outcomes[0].exact_steps == 0


# ------------------------------------------------------------------------------------------------
# Conservation


def test_totals_are_the_sums_of_the_steps_and_power_is_accounted_for() -> None:
    prices = bt.sample_prices().between(datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 2, 8, tzinfo=UTC))
    model = build_model(load_fleet(SAMPLE_FLEET), prices)
    result = run_backtest(model, prices)
    report = to_json(result)
    for outcome, summary in zip(result.outcomes, report["strategies"], strict=True):
        dt = prices.dt_h
        revenue = outcome.mining_usd + outcome.ai_usd + outcome.spot_usd
        assert summary["profit_usd"] == pytest.approx(float((revenue - outcome.energy_usd).sum()), abs=0.01)
        assert summary["revenue_usd"]["total"] == pytest.approx(float(revenue.sum()), abs=0.01)
        assert summary["revenue_usd"]["mining"] + summary["revenue_usd"]["ai_contracted"] + \
            summary["revenue_usd"]["spot"] == pytest.approx(summary["revenue_usd"]["total"], abs=0.02)
        assert summary["energy_cost_usd"] == pytest.approx(float(outcome.energy_usd.sum()), abs=0.01)
        # Power by mode adds up to the facilities' power; energy is power times time.
        by_mode = sum(outcome.power_w.values())
        np.testing.assert_allclose(by_mode, outcome.facility_power_w.sum(axis=1), rtol=1e-12)
        np.testing.assert_allclose(outcome.energy_mwh, by_mode * dt / 1e6, rtol=1e-12)
        assert summary["energy_mwh"] == pytest.approx(float((by_mode * dt).sum()) / 1e6, abs=1e-4)
        # Energy cost is each facility's power at its own node's price.
        cost = sum(outcome.facility_power_w[:, f] * prices.electricity_usd_per_mwh[node] * dt / 1e6
                   for f, node in enumerate(model.market_nodes))
        np.testing.assert_allclose(outcome.energy_usd, cost, rtol=1e-9)
        assert summary["curtailed_asic_hours"] == pytest.approx(float((outcome.curtailed_asics * dt).sum()), abs=1e-3)
        assert summary["switches"] == int(outcome.switches.sum())
        assert summary["switches"] == summary["asic_starts"] + summary["asic_stops"] + summary["gpu_switches"]
        assert summary["asic_starts"] == int(outcome.asic_starts.sum())
        assert summary["switching_cost_usd"] == pytest.approx(float(outcome.switching_usd.sum()), abs=0.01)
        assert summary["profit_after_switching_usd"] == pytest.approx(
            float((revenue - outcome.energy_usd - outcome.switching_usd).sum()), abs=0.01)
        # Switches are the fewest units that must move, group by group.
        counted = sum(_state_changes(np.column_stack([outcome.decision.mining_units[:, c],
                                                         cls.n - outcome.decision.mining_units[:, c]]))
                      for c, cls in enumerate(model.classes))
        np.testing.assert_array_equal(outcome.asic_starts + outcome.asic_stops, counted)
        assert summary["slo_shortfall_gpu_hours"] == pytest.approx(float(outcome.shortfall_gpu_h.sum()), abs=1e-3)
        # The series' last cumulative profit is the total.
        assert report["series"]["cumulative_profit_usd"][outcome.strategy][-1] == pytest.approx(
            summary["profit_usd"], abs=0.02)
        assert (outcome.facility_power_w <= model.cap_w + 1e-6).all()


def test_switches_count_the_fewest_units_that_change_state() -> None:
    counts = np.array([[5, 0], [3, 2], [3, 2], [5, 0], [0, 5]])  # mining, curtailed
    assert _state_changes(counts).tolist() == [0, 2, 0, 2, 5]


def test_the_report_page_stands_alone() -> None:
    prices = spiky_day()
    result = run_backtest(build_model(small_fleet(), prices), prices)
    page = render_html(result)
    assert "<script" not in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "SYNTHETIC" not in page  # only said of synthetic prices
    table = format_table(result)
    assert table.splitlines()[0].startswith("Backtest 2026-07-01 00:00 to 2026-07-02 00:00 UTC, 24 steps")
    assert "Best: hybrid" in table


# ------------------------------------------------------------------------------------------------
# Price files and fleet files


def test_loader_reads_what_the_market_simulator_writes_plain_and_gzipped(tmp_path: Path) -> None:
    sim = MarketSimulator(seed=3, facilities=[("tx", "HB_NORTH"), ("nd", "MISO_MINN_HUB")], start=T0)
    ticks = [sim.current(), *sim.run_for(6 * 3600, 300)]
    plain, packed = tmp_path / "m.csv", tmp_path / "m.csv.gz"
    write_csv(ticks, plain)
    bt.write_prices(ticks, packed)
    replay = MarketReplay(plain)
    for path in (plain, packed):
        prices = load_prices(path)
        assert len(prices) == len(replay) == 73
        assert prices.ts_s.tolist() == [t.ts.timestamp() for t in replay]
        assert prices.electricity_usd_per_mwh["MISO_MINN_HUB"].tolist() == [
            t.electricity_usd_per_mwh["MISO_MINN_HUB"] for t in replay]
        np.testing.assert_allclose(prices.hashprice_usd_per_th_day, [t.hashprice_usd_per_th_day for t in replay],
                                   rtol=1e-12)
        assert prices.dt_h.tolist() == [300 / 3600] * 73
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty file"),
    ("ts,btc_usd,network_difficulty\n", "line 1: missing column(s): fees_btc_per_block"),
    ("ts,btc_usd,network_difficulty,fees_btc_per_block,price\n", "line 1: column 5 'price' is not a market column"),
    ("ts,btc_usd,network_difficulty,fees_btc_per_block\n2026-01-01T00:00:00Z,65000,8e13,0\n",
     "1 data row(s); a backtest needs at least two"),
    ("ts,btc_usd,network_difficulty,fees_btc_per_block\n2026-01-01T00:00:00Z,65000,8e13,0\n"
     "2026-01-01T00:00:00Z,65000,8e13,0\n", "line 3: column 'ts': '2026-01-01T00:00:00Z' is not after"),
    ("ts,btc_usd,network_difficulty,fees_btc_per_block\n2026-01-01T00:00:00,65000,8e13,0\n"
     "2026-01-01T01:00:00Z,65000,8e13,0\n", "line 2: column 'ts': '2026-01-01T00:00:00' has no UTC offset"),
    ("ts,btc_usd,network_difficulty,fees_btc_per_block\n2026-01-01T00:00:00Z,65000,8e13,0\n"
     "2026-01-01T01:00:00Z,65000,0,0\n",
     "line 3: column 'network_difficulty': '0' is not a finite number (must be > 0)"),
    ("ts,btc_usd,network_difficulty,fees_btc_per_block\n2026-01-01T00:00:00Z,nan,8e13,0\n"
     "2026-01-01T01:00:00Z,65000,8e13,0\n", "line 2: column 'btc_usd': 'nan' is not a finite number"),
    ("ts,btc_usd,network_difficulty,fees_btc_per_block\n2026-01-01T00:00:00Z,65000,8e13\n",
     "line 2: 3 fields, the header has 4"),
])
def test_loader_names_the_line_and_column_of_a_bad_price_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(MarketCsvError, match=r"bad\.csv") as caught:
        load_prices(path)
    assert message in str(caught.value)


def test_sample_file_is_the_market_simulator_as_its_readme_says() -> None:
    sample = load_prices(SAMPLE_PRICES)
    assert sample.synthetic and "SYNTHETIC" in SAMPLE_PRICES.name and "SYNTHETIC" in (
        SAMPLE_PRICES.parent / "README.md").read_text()
    assert len(sample) == 105_120 and sample.start() == datetime(2026, 1, 1, tzinfo=UTC)
    assert sample.end() == datetime(2027, 1, 1, tzinfo=UTC)
    assert set(sample.electricity_usd_per_mwh) == {"HB_NORTH", "HB_WEST", "MISO_MINN_HUB"}
    assert set(sample.gpu_spot_usd_per_hour) == {"H100", "A100"}
    # The simulator is deterministic: its first day regenerated is the file's first day.
    day = bt.simulated_ticks(seed=bt.SAMPLE_SEED, start=bt.SAMPLE_START, steps=288, step_s=300.0)
    rounded = [bt.rounded_tick(t) for t in day]
    assert sample.btc_usd[:288].tolist() == [t.btc_usd for t in rounded]
    assert sample.electricity_usd_per_mwh["HB_WEST"][:288].tolist() == [
        t.electricity_usd_per_mwh["HB_WEST"] for t in rounded]
    with gzip.open(SAMPLE_PRICES, "rt") as fh:
        assert next(csv.reader(fh))[0] == "ts"


def test_fleet_file_counts_expand_and_errors_name_the_field(tmp_path: Path) -> None:
    prices = history({"N": [30.0, 30.0]}, spot={"H100": 2.5})
    model = build_model(small_fleet(), prices)
    assert model.asic_count == 15 and model.gpu_count == 4 and len(model.classes) == 2
    assert [u.id for u in model.units][:3] == ["s21-01", "s21-02", "s21-03"]
    bad = small_fleet().model_dump()
    bad["workloads"].append({"id": "big", "gpu_model": "H100", "gpu_count": 3, "price_usd_per_gpu_hour": 2.0,
                             "facility_id": None})
    with pytest.raises(InvalidInput) as caught:
        build_model(Fleet.model_validate(bad), prices)
    assert caught.value.details[0]["field"] == "workloads[1].gpu_count"  # 2 + 3 > 4 H100s: never sold twice
    dup = small_fleet().model_dump()
    dup["units"][1]["id"] = "s21"
    dup["units"][1]["count"] = 12
    with pytest.raises(InvalidInput, match=r"units\[1\].id: duplicate unit id 's21-01'"):
        build_model(Fleet.model_validate(dup), prices)
    path = tmp_path / "f.yaml"
    path.write_text("facilities: [{id: tx, power_cap_kw: 1, market_node: N}]\nunits: [{id: a, kind: tpu}]\n")
    with pytest.raises(FleetFileError, match=r"f.yaml: units\[0\].kind: Input should be 'asic' or 'gpu'"):
        load_fleet(path)
    path.write_text("- just a list\n")
    with pytest.raises(FleetFileError, match="expected a mapping"):
        load_fleet(path)


# ------------------------------------------------------------------------------------------------
# POST /economics/backtest


@pytest.fixture
async def client() -> Any:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(backtest_router, prefix="/api/v1")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


def demo_fleet_json() -> dict[str, Any]:
    return load_fleet(SAMPLE_FLEET).model_dump(exclude_none=True)


async def test_route_runs_the_sample_for_a_week(client: httpx.AsyncClient) -> None:
    resp = await client.post("/api/v1/economics/backtest", json={
        "fleet": demo_fleet_json(), "prices": "sample", "from": "2026-05-01T00:00:00Z",
        "to": "2026-05-08T00:00:00Z", "series_points": 50})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["period"]["steps"] == 7 * 288 and body["period"]["hours"] == 168
    assert body["synthetic_prices"] is True
    assert [s["strategy"] for s in body["strategies"]] == list(STRATEGIES)
    assert len(body["series"]["ts"]) == 50 and set(body["series"]["cumulative_profit_usd"]) == set(STRATEGIES)
    hybrid = body["strategies"][0]
    assert hybrid["profit_usd"] == pytest.approx(hybrid["revenue_usd"]["total"] - hybrid["energy_cost_usd"], abs=0.02)
    assert hybrid["slo_shortfall_gpu_hours"] == 0 == hybrid["slo_shortfall_usd"]
    assert hybrid["switching_cost_usd"] > 0 and hybrid["asic_starts"] > 0
    assert hybrid["profit_after_switching_usd"] == pytest.approx(
        hybrid["profit_usd"] - hybrid["switching_cost_usd"], abs=0.011)
    assert body["notes"] == []
    # The seconds a switch takes are the request's: with none, switching is free.
    resp = await client.post("/api/v1/economics/backtest", json={
        "fleet": demo_fleet_json(), "from": "2026-05-01T00:00:00Z", "to": "2026-05-02T00:00:00Z",
        "strategies": ["hybrid"], "asic_ramp_s": 0, "gpu_switch_s": 0, "min_dwell_s": 300})
    assert resp.status_code == 200, resp.text
    assert resp.json()["strategies"][0]["switching_cost_usd"] == 0


async def test_route_takes_inline_prices(client: httpx.AsyncClient) -> None:
    rows = [{"ts": (T0 + timedelta(hours=k)).isoformat(), "btc_usd": BTC, "network_difficulty": DIFFICULTY,
             "fees_btc_per_block": FEES, "electricity_usd_per_mwh": {"N": p}, "gpu_spot_usd_per_hour": {"H100": 2.5}}
            for k, p in enumerate([30.0] * 10 + [400.0] * 3 + [80.0] * 5 + [30.0] * 6)]
    fleet = small_fleet().model_dump(exclude_none=True)
    resp = await client.post("/api/v1/economics/backtest", json={
        "fleet": fleet, "prices": {"rows": rows}, "strategies": ["hybrid", "mine-always", "hybrid"]})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [s["strategy"] for s in body["strategies"]] == ["hybrid", "mine-always"]
    assert body["strategies"][0]["curtailed_asic_hours"] == 70 and body["series"] is None
    assert body["prices_source"] == "inline" and body["synthetic_prices"] is False


@pytest.mark.parametrize(("change", "field"), [
    ({"strategies": ["hodl"]}, "strategies[0]"),
    ({"fleet": {"facilities": [{"id": "tx", "power_cap_kw": 10, "market_node": "HB_NORTH"}],
                "units": [{"id": "a", "kind": "asic", "facility_id": "tx", "power_w": -5, "hashrate_ths": 1}]}},
     "fleet.units[0].power_w"),
    ({"fleet": {"facilities": [{"id": "tx", "power_cap_kw": 10, "market_node": "NOWHERE"}]}},
     "fleet.facilities[0].market_node"),
    ({"fleet": {"facilities": [{"id": "tx", "power_cap_kw": 10, "market_node": "HB_NORTH"}],
                "units": [{"id": "a", "kind": "asic", "facility_id": "nd", "power_w": 5, "hashrate_ths": 1}]}},
     "fleet.units[0].facility_id"),
    ({"from": "2026-05-08T00:00:00Z", "to": "2026-05-01T00:00:00Z"}, "to"),
    ({"from": "2031-01-01T00:00:00Z", "to": None}, "from"),
    ({"from": "2026-05-01T00:00:00"}, "from"),
    ({"prices": "yesterday"}, "prices"),
    ({"prices": {"sample": True, "rows": []}}, "prices"),
    ({"prices": {"rows": [{"ts": "2026-01-01T00:00:00Z", "btc_usd": 1, "network_difficulty": 1,
                           "electricity_usd_per_mwh": {"HB_NORTH": 1}}]}}, "prices.rows"),
    ({"prices": {"rows": [
        {"ts": "2026-01-01T00:00:00Z", "btc_usd": 1, "network_difficulty": 1, "electricity_usd_per_mwh": {"A": 1}},
        {"ts": "2026-01-01T01:00:00Z", "btc_usd": 1, "network_difficulty": 1, "electricity_usd_per_mwh": {"B": 1}},
    ]}}, "prices.rows[1].electricity_usd_per_mwh"),
    ({"threshold_usd_per_mwh": math.inf}, "threshold_usd_per_mwh"),
    ({"series_points": 5000}, "series_points"),
    ({"asic_ramp_s": -1}, "asic_ramp_s"),
    ({"asic_ramp_s": "ten minutes"}, "asic_ramp_s"),
    ({"gpu_switch_s": 1e9}, "gpu_switch_s"),
    ({"min_dwell_s": -5}, "min_dwell_s"),
    ({"fleet": {"facilities": [{"id": "tx", "power_cap_kw": 10, "market_node": "HB_NORTH"}],
                "units": [{"id": "g", "kind": "gpu", "facility_id": "tx", "power_w": 700, "model": "H100"}],
                "workloads": [{"id": "w", "gpu_model": "H100", "gpu_count": 1, "price_usd_per_gpu_hour": 2,
                               "committed": False}]}},
     "fleet.workloads[0].committed"),
])
async def test_route_answers_422_naming_the_field(client: httpx.AsyncClient, change: dict[str, Any],
                                                  field: str) -> None:
    body: dict[str, Any] = {"fleet": demo_fleet_json(), "from": "2026-05-01T00:00:00Z", "to": "2026-05-02T00:00:00Z"}
    body.update(change)
    resp = await client.post("/api/v1/economics/backtest", content=json.dumps(body),
                             headers={"content-type": "application/json"})
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][0]["field"].startswith(field), error
