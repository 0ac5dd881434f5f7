"""The simulated GPU fleet: DCGM telemetry, power and thermals, faults, and switch latency."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hcp.core.clock import ScaledClock, SteppedClock
from hcp.kernel.gpus import GPU_MODELS, resolve_model
from hcp.sim import gpu
from hcp.sim.gpu import (
    DCGM_FIELDS,
    PHASES,
    GpuFaulted,
    GpuFleet,
    GpuUnavailable,
    SwitchAborted,
    SwitchInProgress,
    SwitchRecord,
    switching,
)

H100, A100 = 0, 1


def fleet(**kwargs: Any) -> GpuFleet:
    kwargs.setdefault("seed", 7)
    return GpuFleet(["H100", "A100"], **kwargs)


async def switch_now(
    f: GpuFleet, clock: SteppedClock, i: int, workload: str | None, **kwargs: Any
) -> SwitchRecord:
    """Run a switch to completion by stepping the clock."""
    task = asyncio.create_task(f.switch(i, workload, clock=clock, **kwargs))
    while not task.done():
        await clock.advance(0.1)
    return task.result()


def run_ticks(f: GpuFleet, seconds: int, dt_s: float = 1.0) -> None:
    for _ in range(int(seconds / dt_s)):
        f.tick(dt_s)


# --------------------------------------------------------------------------------------------------
# Telemetry


async def test_telemetry_uses_dcgm_names_and_units() -> None:
    f = fleet()
    clock = SteppedClock()
    await switch_now(f, clock, H100, "llama-train", workload_type="ai_training")
    run_ticks(f, 120)

    t = f.telemetry(H100)
    assert set(t) == set(DCGM_FIELDS)
    assert {
        "DCGM_FI_DEV_GPU_UTIL",
        "DCGM_FI_DEV_MEM_COPY_UTIL",
        "DCGM_FI_DEV_POWER_USAGE",
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_DEV_MEMORY_TEMP",
        "DCGM_FI_DEV_FB_USED",
        "DCGM_FI_DEV_FB_FREE",
        "DCGM_FI_DEV_SM_CLOCK",
        "DCGM_FI_DEV_MEM_CLOCK",
        "DCGM_FI_DEV_XID_ERRORS",
    } <= set(t)
    # Integer fields are integers, as DCGM reports them; power is watts with decimals.
    for name in DCGM_FIELDS:
        if name in ("DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_POWER_MGMT_LIMIT"):
            assert isinstance(t[name], float)
        else:
            assert type(t[name]) is int, name
    assert 88 <= t["DCGM_FI_DEV_GPU_UTIL"] <= 100
    assert 0 <= t["DCGM_FI_DEV_MEM_COPY_UTIL"] <= 100
    assert 600.0 <= t["DCGM_FI_DEV_POWER_USAGE"] <= 700.0  # ~700 W at full load
    assert t["DCGM_FI_DEV_FB_USED"] + t["DCGM_FI_DEV_FB_FREE"] == 81559  # 80 GB HBM3 in MiB
    assert t["DCGM_FI_DEV_SM_CLOCK"] == 1980
    assert t["DCGM_FI_DEV_MEM_CLOCK"] == 2619
    assert 55 <= t["DCGM_FI_DEV_GPU_TEMP"] <= 80
    assert t["DCGM_FI_DEV_MEMORY_TEMP"] > t["DCGM_FI_DEV_GPU_TEMP"]
    assert t["DCGM_FI_DEV_XID_ERRORS"] == 0
    assert t["DCGM_FI_DEV_POWER_MGMT_LIMIT"] == 700.0
    # Energy in millijoules: about 120 s at ~400-700 W.
    assert 120 * 300 * 1000 < t["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"] < 120 * 700 * 1000
    json.dumps(t)


def test_idle_power_clocks_and_memory_by_model() -> None:
    f = GpuFleet(["H100"] * 50 + ["A100"] * 50, seed=3)
    run_ticks(f, 300)
    arrays = f.telemetry_arrays()
    h100, a100 = slice(0, 50), slice(50, 100)
    power = arrays["DCGM_FI_DEV_POWER_USAGE"]
    assert np.all((power[h100] >= 60) & (power[h100] <= 100))
    assert np.all((power[a100] >= 45) & (power[a100] <= 62))
    assert np.all(arrays["DCGM_FI_DEV_GPU_UTIL"] == 0)
    assert np.all(arrays["DCGM_FI_DEV_FB_USED"] == 0)
    assert np.all(arrays["DCGM_FI_DEV_FB_FREE"][h100] == 81559)
    assert np.all(arrays["DCGM_FI_DEV_SM_CLOCK"][h100] == 345)
    assert np.all(arrays["DCGM_FI_DEV_SM_CLOCK"][a100] == 210)
    # Idle GPUs sit a few degrees above the 25 C inlet.
    assert np.all((arrays["DCGM_FI_DEV_GPU_TEMP"] >= 25) & (arrays["DCGM_FI_DEV_GPU_TEMP"] <= 35))


async def test_telemetry_arrays_match_per_unit_telemetry() -> None:
    f = GpuFleet(["H100", "A100"] * 4, seed=11)
    clock = SteppedClock()
    await switch_now(f, clock, 0, "chat-inference")
    await switch_now(f, clock, 3, "nightly-batch")
    f.inject_fault(5, "XID_ERROR", xid=13)
    run_ticks(f, 30)
    arrays = f.telemetry_arrays()
    assert set(arrays) == set(DCGM_FIELDS)
    for i in range(len(f)):
        t = f.telemetry(i)
        for name, value in t.items():
            assert arrays[name][i] == value, (i, name)


async def test_a100_full_load_power() -> None:
    f = GpuFleet(["A100"], seed=1)
    clock = SteppedClock()
    await switch_now(f, clock, 0, "bert-train", workload_type="ai_training")
    run_ticks(f, 120)
    t = f.telemetry(0)
    assert 340.0 <= t["DCGM_FI_DEV_POWER_USAGE"] <= 400.0
    assert t["DCGM_FI_DEV_FB_USED"] + t["DCGM_FI_DEV_FB_FREE"] == 81920
    assert t["DCGM_FI_DEV_SM_CLOCK"] == 1410


def test_energy_counter_is_monotonic_and_integrates_power() -> None:
    f = GpuFleet(["H100", "A100"] * 10, seed=5)
    f.inject_fault(2, "THERMAL_THROTTLE")
    previous = f.energy_mj.copy()
    for k in range(1000):
        dt_s = 0.5 if k % 2 else 2.0
        f.tick(dt_s)
        assert np.all(f.energy_mj >= previous)
        # Each tick adds exactly the new power times the step, in millijoules.
        np.testing.assert_allclose(f.energy_mj - previous, f.power_w * dt_s * 1000.0, rtol=1e-9)
        previous = f.energy_mj.copy()
    reported = f.telemetry_arrays()["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"]
    assert np.all(reported == np.floor(f.energy_mj))


def test_tick_of_100k_gpus_runs() -> None:
    models = np.array(["H100", "A100"])[np.arange(100_000) % 2]
    f = GpuFleet(models, seed=1)
    for _ in range(3):
        f.tick(1.0)
    arrays = f.telemetry_arrays()
    assert arrays["DCGM_FI_DEV_POWER_USAGE"].shape == (100_000,)
    assert np.all(np.isfinite(arrays["DCGM_FI_DEV_POWER_USAGE"]))


# --------------------------------------------------------------------------------------------------
# Determinism


async def exercise(seed: int) -> dict[str, np.ndarray]:
    f = GpuFleet(["H100", "A100", "H100", "A100"], seed=seed)
    clock = SteppedClock()
    for k in range(1000):
        if k == 10:
            await switch_now(f, clock, 0, "train-a")
        if k == 200:
            await switch_now(f, clock, 1, "serve-b")
        if k == 300:
            f.inject_fault(2, "THERMAL_THROTTLE")
        if k == 600:
            f.inject_fault(1, "XID_ERROR")
        if k == 700:
            f.clear_fault(1)
        f.tick(1.0)
    arrays = f.state_arrays()
    arrays.update({f"dcgm:{k}": v for k, v in f.telemetry_arrays().items()})
    arrays["latency_ms"] = np.array([r.latency_ms for r in f.switch_history])
    return arrays


async def test_same_seed_gives_byte_identical_arrays() -> None:
    a, b = await exercise(42), await exercise(42)
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].tobytes() == b[name].tobytes(), name


async def test_different_seed_gives_different_arrays() -> None:
    a, b = await exercise(42), await exercise(43)
    assert a["power_w"].tobytes() != b["power_w"].tobytes()
    assert a["latency_ms"].tobytes() != b["latency_ms"].tobytes()


# --------------------------------------------------------------------------------------------------
# Switching


async def test_a_thousand_switches_meet_the_latency_budget() -> None:
    f = GpuFleet(["H100"] * 4 + ["A100"] * 4, seed=2026)
    clock = SteppedClock()
    workloads = ["llama-70b-inference", "gpt-train", "etl-batch", None]
    records = []
    for k in range(1000):
        records.append(await switch_now(f, clock, k % 8, workloads[(k // 8) % 4]))

    for r in records:
        assert 350.0 <= r.latency_ms <= 480.0
        assert list(r.phases) == [f"{p}_ms" for p in PHASES]
        assert sum(r.phases.values()) == r.latency_ms  # exactly, not approximately
        assert math.fsum(r.phases.values()) == r.latency_ms
        assert all(v > 0 for v in r.phases.values())
        assert r.finished_at - r.started_at == pytest.approx(r.latency_ms / 1000.0, abs=1e-6)

    stats = f.switching_stats()
    assert stats["count"] == 1000
    ms = {k: float(v) for k, v in stats.items() if k != "count" and v is not None}
    assert ms["p99_ms"] < 500.0
    assert 350.0 <= ms["min_ms"] <= ms["p50_ms"] <= ms["p95_ms"] <= ms["p99_ms"] <= ms["max_ms"] <= 480.0
    # Centred on the nominal 50 + 80 + 120 + 150 ms.
    assert 385.0 <= ms["p50_ms"] <= 415.0
    mean_phases = {p: np.mean([r.phases[f"{p}_ms"] for r in records]) for p in PHASES}
    for p, nominal in zip(PHASES, (50.0, 80.0, 120.0, 150.0), strict=True):
        assert mean_phases[p] == pytest.approx(nominal, rel=0.05)


async def test_switches_on_a_scaled_clock_take_clock_time() -> None:
    f = fleet()
    clock = ScaledClock(speed=1000)
    for k in range(10):
        r = await f.switch(k % 2, f"job-{k}", clock=clock)
        assert 350.0 <= r.latency_ms <= 480.0
        assert r.finished_at - r.started_at >= r.latency_ms / 1000.0 - 1e-6


async def test_switch_record_chains_workloads_and_serialises() -> None:
    f = fleet()
    clock = SteppedClock()
    first = await switch_now(f, clock, H100, "chat-inference")
    second = await switch_now(f, clock, H100, "pretrain-7b")
    assert (first.from_workload, first.to_workload) == (None, "chat-inference")
    assert (second.from_workload, second.to_workload) == ("chat-inference", "pretrain-7b")
    assert second.workload_type == "ai_training"
    assert second.unit_id == f.unit_ids[H100] and second.index == H100
    event = second.to_dict()
    assert event["from"] == "chat-inference" and event["to"] == "pretrain-7b"
    assert set(event["phases"]) == {"save_state_ms", "clear_memory_ms", "load_ms", "initialize_ms"}
    assert event["started_at"].endswith("Z")
    json.dumps(event)


async def test_switching_a_unit_that_is_switching_is_refused() -> None:
    f = fleet()
    clock = SteppedClock()
    task = asyncio.create_task(f.switch(H100, "a-inference", clock=clock))
    await asyncio.sleep(0)
    assert f.switching[H100]
    with pytest.raises(SwitchInProgress):
        await f.switch(H100, "b-inference", clock=clock)
    # The other unit is free to switch meanwhile.
    other = asyncio.create_task(f.switch(A100, "c-batch", clock=clock))
    while not (task.done() and other.done()):
        await clock.advance(0.1)
    assert task.result().to_workload == "a-inference"
    assert other.result().to_workload == "c-batch"
    assert f.workload_id[H100] == "a-inference"
    assert not f.switching.any()


@pytest.mark.parametrize(
    ("fault", "error"),
    [("XID_ERROR", GpuFaulted), ("THERMAL_THROTTLE", GpuFaulted), ("FALLEN_OFF_BUS", GpuUnavailable)],
)
async def test_a_faulted_unit_cannot_be_switched(fault: str, error: type[Exception]) -> None:
    f = fleet()
    clock = SteppedClock()
    f.inject_fault(H100, fault)
    with pytest.raises(error):
        await f.switch(H100, "x-inference", clock=clock)
    assert not f.switching[H100]
    f.clear_fault(H100)
    record = await switch_now(f, clock, H100, "x-inference")
    assert record.to_workload == "x-inference"


async def test_a_fault_during_a_switch_aborts_it() -> None:
    f = fleet()
    clock = SteppedClock()
    await switch_now(f, clock, H100, "old-train")
    task = asyncio.create_task(f.switch(H100, "new-inference", clock=clock))
    await clock.advance(0.1)  # into clear_memory at the latest
    f.inject_fault(H100, "XID_ERROR", xid=48)
    while not task.done():
        await clock.advance(0.1)
    with pytest.raises(SwitchAborted):
        task.result()
    assert not f.switching[H100]
    assert f.switching_stats()["count"] == 1  # only the completed switch is recorded
    assert f.workload_id[H100] != "new-inference"


async def test_a_cancelled_switch_leaves_the_unit_usable() -> None:
    f = fleet()
    clock = SteppedClock()
    task = asyncio.create_task(f.switch(H100, "x-inference", clock=clock))
    await clock.advance(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not f.switching[H100] and f.workload_id[H100] is None
    assert f.switching_stats()["count"] == 0
    record = await switch_now(f, clock, H100, "y-inference")
    assert record.from_workload is None


async def test_switch_arguments_are_validated() -> None:
    f = fleet()
    clock = SteppedClock()
    with pytest.raises(ValueError, match="memory_mib"):
        await f.switch(H100, "x", clock=clock, memory_mib=100_000)
    with pytest.raises(ValueError):
        await f.switch(H100, "x", clock=clock, workload_type="mining")
    assert not f.switching[H100]


async def test_utilisation_power_and_memory_follow_the_phases() -> None:
    f = fleet()
    clock = SteppedClock()
    await switch_now(f, clock, H100, "big-train", workload_type="ai_training")
    run_ticks(f, 60)
    fb_before = int(f.fb_used_mib[H100])
    assert fb_before > 0.85 * 81559 - 1

    task = asyncio.create_task(
        f.switch(H100, "small-inference", clock=clock, workload_type="ai_inference", memory_mib=20_000)
    )
    seen: list[tuple[str, int, float, float]] = []
    while not task.done():
        await clock.advance(0.005)
        f.tick(0.005)
        state = f.state(H100)
        if state["switching"]:
            seen.append((state["switch_phase"], int(f.fb_used_mib[H100]), f.util_pct[H100], f.power_w[H100]))
    record = task.result()

    order = [phase for phase, *_ in seen]
    assert [p for k, p in enumerate(order) if k == 0 or order[k - 1] != p] == list(PHASES)
    by_phase = {p: [s for s in seen if s[0] == p] for p in PHASES}
    # Old model resident while saving state; memory empty while loading the new one.
    assert all(fb == fb_before for _, fb, _, _ in by_phase["save_state"])
    assert all(fb == 0 for _, fb, _, _ in by_phase["load"])
    assert all(fb == 20_000 for _, fb, _, _ in by_phase["initialize"])
    mean_util = {p: np.mean([u for _, _, u, _ in by_phase[p]]) for p in PHASES}
    assert mean_util["initialize"] > mean_util["clear_memory"]
    # A GPU being switched draws far less than one training at full tilt.
    assert max(w for *_, w in seen) < 600.0
    assert record.to_workload == "small-inference"
    assert f.fb_used_mib[H100] == 20_000


@pytest.mark.parametrize(
    ("workload", "low", "high", "fb_low", "fb_high"),
    [
        ("ai_training", 88.0, 100.0, 0.85, 0.97),
        ("batch", 70.0, 95.0, 0.40, 0.80),
        ("ai_inference", 40.0, 90.0, 0.55, 0.90),
    ],
)
async def test_workload_profiles_after_a_switch(
    workload: str, low: float, high: float, fb_low: float, fb_high: float
) -> None:
    f = GpuFleet(["H100"] * 8, seed=9)
    clock = SteppedClock()
    for i in range(8):
        await switch_now(f, clock, i, f"w-{i}", workload_type=workload)
    samples = []
    for _ in range(300):
        f.tick(1.0)
        samples.append(f.util_pct.copy())
    util = np.array(samples)
    assert np.all((util >= low) & (util <= high))
    fraction = f.fb_used_mib / 81559
    assert np.all((fraction >= fb_low - 1e-4) & (fraction <= fb_high))
    if workload == "ai_inference":
        # Bursty: utilisation swings widely from second to second.
        assert np.std(np.diff(util, axis=0)) > 5.0
    if workload == "ai_training":
        assert np.std(util) < 3.0


async def test_unloading_frees_memory_and_idles() -> None:
    f = fleet()
    clock = SteppedClock()
    await switch_now(f, clock, H100, "x-train")
    record = await switch_now(f, clock, H100, None)
    assert record.to_workload is None and record.from_workload == "x-train"
    run_ticks(f, 120)
    t = f.telemetry(H100)
    assert t["DCGM_FI_DEV_FB_USED"] == 0
    assert t["DCGM_FI_DEV_GPU_UTIL"] == 0
    assert t["DCGM_FI_DEV_POWER_USAGE"] < 100.0
    assert f.state(H100)["workload"] is None


async def test_switching_stats_and_bounded_history() -> None:
    f = GpuFleet(["H100"], seed=1, history_size=10)
    assert f.switching_stats() == {
        "count": 0,
        "min_ms": None,
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "max_ms": None,
    }
    clock = SteppedClock()
    records = [await switch_now(f, clock, 0, f"w{k}") for k in range(15)]
    stats = f.switching_stats()
    assert stats["count"] == 10
    assert f.switch_count_total == 15
    assert f.switch_history == tuple(records[5:])
    latencies = np.array([r.latency_ms for r in records[5:]])
    assert stats["p50_ms"] == pytest.approx(float(np.percentile(latencies, 50)), abs=1e-3)
    assert stats["min_ms"] == latencies.min() and stats["max_ms"] == latencies.max()


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**63))
def test_phase_draws_always_sum_within_the_band(seed: int) -> None:
    rng = np.random.default_rng(seed)
    for _ in range(200):
        phases = switching.draw_phases_ms(rng)
        total = sum(phases)
        assert 350.0 <= total <= 480.0
        assert all(p > 0 and p * 8 == int(p * 8) for p in phases)  # 1/8 ms steps


def test_phase_draws_stay_in_the_band_even_when_the_spread_is_huge(monkeypatch: pytest.MonkeyPatch) -> None:
    # With a wild spread nearly every draw is rejected, so the clip-and-rescale backstop runs.
    monkeypatch.setattr(switching, "_PHASE_LOG_SD", 3.0)
    rng = np.random.default_rng(1)
    totals = [sum(switching.draw_phases_ms(rng)) for _ in range(2000)]
    assert min(totals) >= 350.0 and max(totals) <= 480.0


# --------------------------------------------------------------------------------------------------
# Faults


async def test_thermal_throttle_lowers_clocks_and_raises_temperature() -> None:
    f = fleet()
    clock = SteppedClock()
    await switch_now(f, clock, H100, "x-train")
    run_ticks(f, 120)
    before = f.telemetry(H100)
    assert before["DCGM_FI_DEV_SM_CLOCK"] == 1980

    f.inject_fault(H100, "THERMAL_THROTTLE")
    f.tick(1.0)
    assert f.telemetry(H100)["DCGM_FI_DEV_SM_CLOCK"] < 0.7 * 1980
    run_ticks(f, 300)
    hot = f.telemetry(H100)
    assert hot["DCGM_FI_DEV_SM_CLOCK"] < 0.7 * 1980
    assert hot["DCGM_FI_DEV_MEM_CLOCK"] < before["DCGM_FI_DEV_MEM_CLOCK"]
    assert hot["DCGM_FI_DEV_GPU_TEMP"] >= GPU_MODELS["H100"].slowdown_temp_c
    assert hot["DCGM_FI_DEV_POWER_USAGE"] < before["DCGM_FI_DEV_POWER_USAGE"]
    assert f.state(H100)["throttled"] and f.state(H100)["faults"] == ["THERMAL_THROTTLE"]
    # A throttle leaves the workload running.
    assert f.workload_id[H100] == "x-train" and not f.workload_failed[H100]
    assert hot["DCGM_FI_DEV_GPU_UTIL"] > 80

    f.clear_fault(H100)
    run_ticks(f, 300)
    assert f.telemetry(H100)["DCGM_FI_DEV_SM_CLOCK"] == 1980
    assert f.telemetry(H100)["DCGM_FI_DEV_GPU_TEMP"] < 80


async def test_hot_inlet_air_throttles_without_a_fault() -> None:
    f = GpuFleet(["H100"], seed=1, ambient_c=50.0)
    clock = SteppedClock()
    await switch_now(f, clock, 0, "x-train")
    throttled = []
    for _ in range(600):
        f.tick(1.0)
        throttled.append(bool(f.throttled[0]))
    assert any(throttled)
    assert f.faults(0) == frozenset()


async def test_xid_error_fails_the_workload_until_reset() -> None:
    f = fleet()
    clock = SteppedClock()
    await switch_now(f, clock, A100, "job-train")
    run_ticks(f, 10)
    f.inject_fault(A100, "XID_ERROR")
    f.tick(1.0)
    t = f.telemetry(A100)
    assert t["DCGM_FI_DEV_XID_ERRORS"] == 48
    assert t["DCGM_FI_DEV_GPU_UTIL"] == 0
    state = f.state(A100)
    assert state["workload"] == "job-train" and state["workload_failed"]
    assert state["faults"] == ["XID_ERROR"] and state["xid_count"] == 1

    f.inject_fault(A100, "XID_ERROR", xid=13)
    assert f.telemetry(A100)["DCGM_FI_DEV_XID_ERRORS"] == 13
    assert f.xid_count[A100] == 2

    f.clear_fault(A100)
    state = f.state(A100)
    assert state["workload"] is None and not state["workload_failed"] and state["faults"] == []
    assert f.telemetry(A100)["DCGM_FI_DEV_FB_USED"] == 0
    # DCGM keeps reporting the last XID seen.
    assert f.telemetry(A100)["DCGM_FI_DEV_XID_ERRORS"] == 13


async def test_fallen_off_the_bus_stops_telemetry() -> None:
    f = fleet()
    clock = SteppedClock()
    await switch_now(f, clock, H100, "serve-inference")
    f.inject_fault(H100, "FALLEN_OFF_BUS")
    with pytest.raises(GpuUnavailable):
        f.telemetry(H100)
    f.tick(1.0)
    arrays = f.telemetry_arrays()
    assert all(math.isnan(v[H100]) for v in arrays.values())
    assert all(not math.isnan(v[A100]) for v in arrays.values())
    assert list(f.available()) == [False, True]
    state = f.state(H100)
    assert not state["available"] and state["workload_failed"] and state["last_xid"] == 79
    with pytest.raises(GpuUnavailable):
        f.inject_fault(H100, "THERMAL_THROTTLE")

    f.clear_fault(H100)
    t = f.telemetry(H100)
    assert t["DCGM_FI_DEV_XID_ERRORS"] == 79
    assert f.state(H100)["workload"] is None


def test_xid_79_is_a_fall_off_the_bus() -> None:
    f = fleet()
    f.inject_fault(H100, "XID_ERROR", xid=79)
    assert f.faults(H100) == frozenset({gpu.GpuFault.FALLEN_OFF_BUS})
    with pytest.raises(GpuUnavailable):
        f.telemetry(H100)


async def test_power_limit_caps_power_and_clocks() -> None:
    f = fleet()
    clock = SteppedClock()
    await switch_now(f, clock, H100, "x-train")
    f.set_power_limit(H100, 400.0)
    run_ticks(f, 60)
    t = f.telemetry(H100)
    assert t["DCGM_FI_DEV_POWER_USAGE"] <= 400.0
    assert t["DCGM_FI_DEV_POWER_MGMT_LIMIT"] == 400.0
    assert 1000 < t["DCGM_FI_DEV_SM_CLOCK"] < 1980
    with pytest.raises(ValueError, match="200-700 W"):
        f.set_power_limit(H100, 900.0)


def test_inputs_are_validated() -> None:
    assert resolve_model("NVIDIA H100 80GB HBM3") == "H100"
    assert resolve_model("a100-sxm4-80gb") == "A100"
    with pytest.raises(ValueError, match="unknown GPU model"):
        GpuFleet(["V100"], seed=1)
    with pytest.raises(ValueError):
        GpuFleet(["H100"], seed=-1)
    with pytest.raises(ValueError):
        GpuFleet([], seed=1)
    f = GpuFleet(["H100", "A100"], seed=1, unit_ids=["tx-g1", "tx-g2"])
    assert f.index_of("tx-g2") == 1
    with pytest.raises(IndexError):
        f.telemetry(2)
    with pytest.raises(ValueError):
        f.tick(0.0)
    with pytest.raises(ValueError):
        f.inject_fault(0, "MELTDOWN")
