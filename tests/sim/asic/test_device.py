"""Physics of the simulated S21 fleet: efficiency curve, ramp, faults, thermal, determinism, speed."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hcp.sim.asic.device import (
    NOMINAL_HASHRATE_THS,
    NOMINAL_POWER_W,
    POWER_MAX_W,
    POWER_MIN_W,
    AsicFleet,
    Fault,
    FirmwareRejected,
    Mode,
    curve,
    power_for_hashrate,
)


def settle(fleet: AsicFleet, seconds: float, step_s: float = 1.0) -> None:
    for _ in range(round(seconds / step_s)):
        fleet.tick(step_s)


def test_curve_passes_through_the_s21_nameplate() -> None:
    assert curve(NOMINAL_POWER_W) == pytest.approx(200.0)
    assert NOMINAL_POWER_W / curve(NOMINAL_POWER_W) == pytest.approx(17.5)
    assert curve(2500.0) == pytest.approx(160.0)
    assert 2500.0 / curve(2500.0) == pytest.approx(15.625)
    assert power_for_hashrate(curve(3100.0)) == pytest.approx(3100.0)


@given(
    low=st.floats(min_value=POWER_MIN_W, max_value=POWER_MAX_W),
    high=st.floats(min_value=POWER_MIN_W, max_value=POWER_MAX_W),
)
def test_less_power_means_less_hashrate_but_better_joules_per_terahash(low: float, high: float) -> None:
    if high - low < 1.0:
        low, high = min(low, high), max(low, high) + 1.0
    assert curve(low) < curve(high)
    assert low / curve(low) < high / curve(high)


def test_a_lower_power_target_runs_at_better_efficiency() -> None:
    fleet = AsicFleet(2, seed=11, firmware="luxos")
    fleet.set_power_target(1, 2500.0)
    settle(fleet, 180)
    j_per_th = fleet.power_w / fleet.hashrate_ths
    assert fleet.power_w[1] == pytest.approx(2500.0, rel=0.01)
    assert fleet.hashrate_ths[1] == pytest.approx(160.0, rel=0.03)
    assert j_per_th[1] < j_per_th[0] - 1.0
    assert j_per_th[0] == pytest.approx(17.5, rel=0.03)


def test_a_running_fleet_starts_at_nameplate_and_warm() -> None:
    fleet = AsicFleet(50, seed=1)
    assert np.all(np.abs(fleet.hashrate_ths - NOMINAL_HASHRATE_THS) < 0.05 * NOMINAL_HASHRATE_THS)
    assert np.allclose(fleet.power_w, NOMINAL_POWER_W)
    assert np.all((fleet.chip_temp_c > 60) & (fleet.chip_temp_c < 85))
    assert np.all(fleet.board_temp_c < fleet.chip_temp_c)
    assert np.all(fleet.fan_rpm > 1000)
    assert fleet.board_hashrate_ths.shape == (50, 3)
    assert fleet.fan_rpm.shape == (50, 4)


def test_resume_ramps_over_minutes_not_seconds() -> None:
    fleet = AsicFleet(1, seed=3)
    fleet.sleep(0)
    settle(fleet, 60)
    assert fleet.hashrate_ths[0] == 0.0
    assert 10.0 <= fleet.power_w[0] <= 20.0  # only the control board
    fleet.resume(0)
    settle(fleet, 30)
    assert fleet.hashrate_ths[0] < 0.25 * NOMINAL_HASHRATE_THS
    settle(fleet, 60)  # 1.5 minutes in
    assert fleet.hashrate_ths[0] < 0.9 * NOMINAL_HASHRATE_THS
    settle(fleet, 240)  # 5 minutes in
    assert fleet.hashrate_ths[0] > 0.97 * NOMINAL_HASHRATE_THS
    assert fleet.power_w[0] == pytest.approx(NOMINAL_POWER_W, rel=0.01)


def test_board_failure_costs_a_third_of_the_hashrate() -> None:
    fleet = AsicFleet(2, seed=5)
    fleet.inject_fault(1, Fault.BOARD_FAILURE, board=1)
    fleet.tick(1.0)
    assert fleet.board_hashrate_ths[1, 1] == 0.0
    assert fleet.hashrate_ths[1] / fleet.hashrate_ths[0] == pytest.approx(2 / 3, rel=0.03)
    assert fleet.power_w[1] == pytest.approx(NOMINAL_POWER_W * 2 / 3, rel=0.02)
    fleet.clear_fault(1, "board_failure")
    fleet.tick(1.0)
    assert fleet.hashrate_ths[1] == pytest.approx(fleet.hashrate_ths[0], rel=0.03)


def test_overheat_drives_chips_past_95_c() -> None:
    fleet = AsicFleet(2, seed=6)
    fleet.inject_fault(1, "OVERHEAT")
    settle(fleet, 600, step_s=5.0)
    assert fleet.chip_temp_c[1].max() > 95.0
    assert fleet.chip_temp_c[0].max() < 85.0
    assert fleet.fan_rpm[1].min() > fleet.fan_rpm[0].max()  # fans flat out, still too hot


def test_fan_failure_stops_one_fan_and_raises_temperatures() -> None:
    fleet = AsicFleet(2, seed=7)
    fleet.inject_fault(1, Fault.FAN_FAILURE, fan=2)
    settle(fleet, 600, step_s=5.0)
    assert fleet.fan_rpm[1, 2] == 0.0
    assert np.all(np.delete(fleet.fan_rpm[1], 2) > 6000)
    assert fleet.chip_temp_c[1].mean() > fleet.chip_temp_c[0].mean() + 5.0


def test_pool_down_stops_shares_and_hashing() -> None:
    fleet = AsicFleet(2, seed=8)
    settle(fleet, 60)
    fleet.inject_fault(1, Fault.POOL_DOWN)
    accepted = fleet.accepted.copy()
    settle(fleet, 120)
    assert fleet.accepted[1] == accepted[1]
    assert fleet.accepted[0] > accepted[0] + 40  # ~0.7 shares/s at 200 TH/s and difficulty 65536
    assert fleet.hashrate_ths[1] == 0.0
    assert fleet.snapshot(1)["pool_alive"] is False


def test_work_modes_as_pyasic_sends_them() -> None:
    fleet = AsicFleet(3, seed=9)
    fleet.set_work_mode(0, 1)
    fleet.set_work_mode(1, 3)
    settle(fleet, 400)
    assert fleet.mode.tolist() == [Mode.SLEEPING, Mode.LOW_POWER, Mode.MINING]
    assert fleet.power_w[0] < 20.0
    assert fleet.power_w[1] == pytest.approx(2500.0, rel=0.01)
    fleet.set_work_mode(0, 0)
    assert fleet.mode[0] == Mode.MINING
    with pytest.raises(ValueError):
        fleet.set_work_mode(0, 2)


def test_power_target_is_luxos_only_and_clamped() -> None:
    fleet = AsicFleet(2, seed=10, firmware=["stock", "luxos"])
    with pytest.raises(FirmwareRejected):
        fleet.set_power_target(0, 3000.0)
    with pytest.raises(FirmwareRejected):
        fleet.set_power_target([0, 1], 3000.0)
    assert fleet.power_target_w[1] == NOMINAL_POWER_W  # nothing applied on a rejected batch
    fleet.set_power_target(1, 10_000.0)
    assert fleet.power_target_w[1] == POWER_MAX_W
    fleet.set_power_target(1, 10.0)
    assert fleet.power_target_w[1] == POWER_MIN_W


def test_reboot_takes_the_unit_away_then_restarts_uptime_and_ramp() -> None:
    fleet = AsicFleet(2, seed=12, reboot_s=60.0)
    changes: list[list[int]] = []
    fleet.subscribe(lambda idx: changes.append(idx.tolist()))
    fleet.reboot(1)
    assert not fleet.is_reachable(1) and fleet.is_reachable(0)
    settle(fleet, 30)
    assert fleet.hashrate_ths[1] == 0.0
    settle(fleet, 40)
    assert fleet.is_reachable(1)
    assert fleet.elapsed_s[1] == pytest.approx(10.0)
    assert 0.0 < fleet.ramp[1] < 0.1
    assert changes == [[1], [1]]


def test_offline_is_a_reachability_change() -> None:
    fleet = AsicFleet(3, seed=13)
    changes: list[list[int]] = []
    fleet.subscribe(lambda idx: changes.append(idx.tolist()))
    fleet.inject_fault([0, 2], "OFFLINE")
    fleet.inject_fault(0, "OFFLINE")  # already offline: no change to announce
    assert fleet.reachable.tolist() == [False, True, False]
    fleet.clear_fault(2)
    assert changes == [[0, 2], [2]]


def test_identity_is_stable_and_per_unit() -> None:
    a, b = AsicFleet(3, seed=21), AsicFleet(3, seed=21)
    macs = [a.mac(i) for i in range(3)]
    assert macs == [b.mac(i) for i in range(3)]
    assert len(set(macs)) == 3
    for mac in macs:
        first = int(mac.split(":")[0], 16)
        assert first & 0x02 and not first & 0x01  # locally administered, unicast
    assert a.hostname(2) == "s21-00002"
    assert len(a.serial_number(0)) == 17 and a.serial_number(0) != a.serial_number(1)
    assert all(url.startswith("stratum+tcp://") and ".invalid:" in url for url, _ in a.pools(0))
    assert a.pools(0)[0][1] != a.pools(1)[0][1]
    assert AsicFleet(1, seed=22).mac(0) != a.mac(0)


def _fingerprint(fleet: AsicFleet) -> str:
    digest = hashlib.sha256()
    for name in ("mode", "power_target_w", "effective_target_w", "ramp", "hashrate_ths", "board_hashrate_ths",
                 "power_w", "board_temp_c", "chip_temp_c", "fan_rpm", "elapsed_s", "down_s", "accepted",
                 "rejected", "hw_errors", "faults", "dead_board", "failed_fan"):
        digest.update(np.ascontiguousarray(getattr(fleet, name)).tobytes())
    return digest.hexdigest()


def _script(fleet: AsicFleet) -> str:
    for step in range(1000):
        if step == 100:
            fleet.sleep([1, 2])
            fleet.inject_fault(3, "BOARD_FAILURE")
            fleet.set_power_target(5, 2700.0)
        if step == 300:
            fleet.resume([1, 2])
            fleet.inject_fault([5, 6], "FAN_FAILURE")
            fleet.reboot(7)
        if step == 600:
            fleet.clear_fault(3)
            fleet.inject_fault(0, "OVERHEAT")
        fleet.tick(0.5 + (step % 3))
    return _fingerprint(fleet)


def test_same_seed_same_commands_give_byte_identical_arrays() -> None:
    firmware = ["stock", "luxos"] * 10
    first = _script(AsicFleet(20, seed=1234, firmware=firmware))
    second = _script(AsicFleet(20, seed=1234, firmware=firmware))
    other = _script(AsicFleet(20, seed=1235, firmware=firmware))
    assert first == second
    assert first != other


def test_a_fleet_of_100k_asics_ticks_as_a_whole() -> None:
    """At the benchmark's scale (its speed is bench/sim_tick.py's business) every unit's state
    stays physical: sleeping units hash nothing, the others hash and draw power."""
    fleet = AsicFleet(100_000, seed=2, firmware="luxos")
    fleet.inject_fault(np.arange(0, 100_000, 97), "FAN_FAILURE")
    asleep = np.arange(0, 100_000, 5)
    fleet.sleep(asleep)
    for _ in range(15):
        fleet.tick(1.0)
    assert np.isfinite(fleet.hashrate_ths).all() and np.isfinite(fleet.power_w).all()
    awake = np.setdiff1d(np.arange(100_000), asleep)
    assert (fleet.hashrate_ths[asleep] == 0).all()
    assert (fleet.hashrate_ths[awake] > 0).mean() > 0.95
    assert (fleet.power_w[awake] > fleet.power_w[asleep].max()).all()
