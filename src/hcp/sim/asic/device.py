"""Vectorised physics of a fleet of simulated miners: Antminer S21s, and other models beside them.

Each unit has a model from `MODELS` (its nameplate hashrate and power, the range of its power
target); the physics is the same for all, scaled to each unit's nameplate. Every quantity is
one numpy array over the fleet (not one object per unit), so a tick of 100,000 ASICs costs
milliseconds; the network servers read one unit at a time through `snapshot`. All randomness
comes from one PCG64 stream: the same seed and the same ticks and commands give
byte-identical arrays. Longer than 600 lines because the model catalogue sits beside the
arrays it sizes (each model's nameplate and power-target range is read in every tick).
"""

from __future__ import annotations

import enum
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

# --- Antminer S21 nameplate and the efficiency curve (other models in `MODELS`, scaled) ---------
BOARDS = 3
CHIPS_PER_BOARD = 108
FANS = 4
NOMINAL_POWER_W = 3500.0
NOMINAL_HASHRATE_THS = 200.0
NOMINAL_FREQUENCY_MHZ = 490.0
# Range a power target may take (LuxOS profiles span roughly this on an S21).
POWER_MIN_W = 1500.0
POWER_MAX_W = 4000.0
# hashrate = 200 TH/s * (P / 3500 W) ** a, with a chosen so that 2500 W gives 160 TH/s: concave,
# so every watt removed costs less hashrate than the last and J/TH improves as power drops.
CURVE_EXPONENT = math.log(160.0 / NOMINAL_HASHRATE_THS) / math.log(2500.0 / NOMINAL_POWER_W)
# Stock firmware's low-power work mode (bitmain-work-mode 3) runs the boards at this power.
LOW_POWER_W = 2500.0
# The control board (and fans at idle) draws this much whatever the boards do.
CONTROL_BOARD_W = 15.0
# Boards left powered but without work (pool down) still draw this fraction of their power.
IDLE_BOARD_FRACTION = 0.08

# --- Thermal model -----------------------------------------------------------------------------
FAN_RPM_MAX = 6600.0
FAN_DUTY_MIN = 0.25
FAN_TAU_S = 4.0
FAN_KP_PER_C = 0.03
TARGET_CHIP_C = 75.0
# Chip-to-air thermal resistance at full airflow (C per W of one board); scales as airflow**-0.8.
THERMAL_R_C_PER_W = 0.029
AIRFLOW_EXPONENT = 0.8
PCB_FRACTION = 0.6
CHIP_TAU_S = 45.0
PCB_TAU_S = 90.0
TARGET_TAU_S = 20.0
# A dead fan also breaks the push-pull pressure: the three left move 60% of their own share.
FAILED_FAN_RECIRCULATION = 0.6
FAILED_FAN_AIRFLOW = (FANS - 1) / FANS * FAILED_FAN_RECIRCULATION
# OVERHEAT models clogged heatsinks and hot-aisle recirculation.
OVERHEAT_R_FACTOR = 2.0
OVERHEAT_INTAKE_RISE_C = 8.0
OVERHEAT_CHIP_C = 95.0

# --- Pool shares -------------------------------------------------------------------------------
SHARE_DIFFICULTY = 65536.0
REJECT_FRACTION = 0.002
HW_ERROR_FRACTION = 0.0005

DEFAULT_POOL_URL = "stratum+tcp://pool.example.invalid:3333"
DEFAULT_BACKUP_POOL_URL = "stratum+tcp://backup.pool.example.invalid:3333"

_SERIAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"

Index = int | Sequence[int] | npt.NDArray[np.integer[Any]]
Listener = Callable[[npt.NDArray[np.int64]], None]


class Fault(enum.IntFlag):
    """Faults a unit can suffer; `AsicFleet.faults` holds them as a bitmask per unit."""

    BOARD_FAILURE = 1
    OVERHEAT = 2
    FAN_FAILURE = 4
    OFFLINE = 8
    POOL_DOWN = 16


class Mode(enum.IntEnum):
    """Work mode, numbered as stock firmware's `bitmain-work-mode` (and pyasic's `miner-mode`)."""

    MINING = 0
    SLEEPING = 1
    LOW_POWER = 3


class Firmware(enum.IntEnum):
    STOCK = 0  # Bitmain's stock firmware (bmminer): read-only API, web CGI for commands
    LUXOS = 1
    BTMINER = 2  # MicroBT's Whatsminer firmware: its own API on 4028 (token-signed writes)


@dataclass(frozen=True)
class AsicModel:
    """One miner model's nameplate, as its spec sheet gives it, and how its firmware names it."""

    key: str  # what settings name it by: "S21", "S19 XP", "M50S"
    label: str  # what people call it: "Whatsminer M50S"
    name: str  # what the unit's API reports: "Antminer S21", "M50S_VH30" (Whatsminer's devdetails)
    hashrate_ths: float
    power_w: float
    power_min_w: float
    power_max_w: float
    frequency_mhz: float
    chips_per_board: int
    hostname_prefix: str
    firmware: Firmware  # the firmware it ships with (LuxOS is an S21 option, `luxos_every`)

    @property
    def efficiency_j_per_th(self) -> float:
        return self.power_w / self.hashrate_ths


# Nameplates from the makers' spec sheets: S21 200 TH/s at 17.5 J/TH; S19 XP 141 TH/s at 21.3 J/TH
# (3010 W); Whatsminer M50S 126 TH/s at 26 J/TH (3276 W). Power ranges keep each model's ratio
# of the S21's (1500-4000 W around 3500 W).
MODELS: dict[str, AsicModel] = {
    m.key: m for m in (
        AsicModel("S21", "Antminer S21", "Antminer S21", NOMINAL_HASHRATE_THS, NOMINAL_POWER_W, POWER_MIN_W,
                  POWER_MAX_W, NOMINAL_FREQUENCY_MHZ, CHIPS_PER_BOARD, "s21", Firmware.STOCK),
        AsicModel("S19 XP", "Antminer S19 XP", "Antminer S19 XP", 141.0, 3010.0, 1290.0, 3440.0, 515.0, 110, "s19xp",
                  Firmware.STOCK),
        AsicModel("M50S", "Whatsminer M50S", "M50S_VH30", 126.0, 3276.0, 1400.0, 3744.0, 560.0, 156, "m50s",
                  Firmware.BTMINER),
    )
}
DEFAULT_MODEL = "S21"


def model_of(key: str) -> AsicModel:
    try:
        return MODELS[key]
    except KeyError:
        raise ValueError(f"unknown miner model {key!r}: one of {', '.join(MODELS)}") from None


class FirmwareRejected(ValueError):
    """The unit's firmware does not accept this command (stock Antminer firmware takes no power target)."""


def curve(power_w: float | npt.ArrayLike) -> Any:
    """Hashrate (TH/s) an S21 reaches at a board power target: the fleet's efficiency curve."""
    p = np.maximum(np.asarray(power_w, dtype=np.float64), 0.0)
    out = NOMINAL_HASHRATE_THS * (p / NOMINAL_POWER_W) ** CURVE_EXPONENT
    return float(out) if out.ndim == 0 else out


def power_for_hashrate(hashrate_ths: float | npt.ArrayLike) -> Any:
    """Inverse of `curve`: the power target that yields a hashrate."""
    h = np.maximum(np.asarray(hashrate_ths, dtype=np.float64), 0.0)
    out = NOMINAL_POWER_W * (h / NOMINAL_HASHRATE_THS) ** (1.0 / CURVE_EXPONENT)
    return float(out) if out.ndim == 0 else out


def _parse_fault(fault: Fault | str | int) -> Fault:
    if isinstance(fault, str):
        try:
            return Fault[fault.upper()]
        except KeyError:
            raise ValueError(f"unknown fault {fault!r}") from None
    return Fault(fault)


def _parse_firmware(value: str | Firmware) -> Firmware:
    if isinstance(value, Firmware):
        return value
    try:
        return Firmware[str(value).upper()]
    except KeyError:
        raise ValueError(f"unknown firmware {value!r}: expected 'stock', 'luxos' or 'btminer'") from None


class AsicFleet:
    """N miners (Antminer S21 unless `models` says otherwise): state arrays, a vectorised `tick`,
    and per-unit commands.

    Public arrays (length n): firmware, model_index (into `self.models`), nominal_power_w,
    nominal_hashrate_ths, power_min_w, power_max_w, mode, power_target_w, effective_target_w, ramp, ramp_s,
    hashrate_ths, power_w, fan_manual_pct (<0: automatic), ambient_c (settable), elapsed_s,
    down_s (seconds left of a reboot), accepted, rejected, hw_errors, faults, dead_board,
    failed_fan, fault_light. Per board / fan, to read only: board_hashrate_ths, board_temp_c,
    chip_temp_c (n, 3) and fan_rpm (n, 4). Change state through the commands, not the arrays.
    """

    def __init__(
        self,
        n: int,
        *,
        seed: int,
        firmware: str | Firmware | Sequence[str | Firmware] | None = None,
        models: str | Sequence[str] = DEFAULT_MODEL,
        ambient_c: float | npt.ArrayLike = 25.0,
        mining: bool = True,
        ramp_s: tuple[float, float] = (180.0, 300.0),
        reboot_s: float = 75.0,
        hostname_prefix: str | None = None,
        pool_url: str = DEFAULT_POOL_URL,
        backup_pool_url: str = DEFAULT_BACKUP_POOL_URL,
        pool_user_prefix: str = "hcp",
    ) -> None:
        if n < 1:
            raise ValueError("a fleet needs at least one unit")
        self.n = int(n)
        self.seed = int(seed)
        self.rng = np.random.Generator(np.random.PCG64(self.seed))
        self.reboot_s = float(reboot_s)
        self.hostname_prefix = hostname_prefix
        self.pool_url = pool_url
        self.backup_pool_url = backup_pool_url
        self.pool_user_prefix = pool_user_prefix

        keys = [models] * n if isinstance(models, str) else list(models)
        if len(keys) != n:
            raise ValueError(f"models has {len(keys)} entries for {n} units")
        self.models: list[AsicModel] = []
        positions: dict[str, int] = {}
        for key in keys:
            if key not in positions:
                positions[key] = len(self.models)
                self.models.append(model_of(key))
        self.model_index = np.array([positions[k] for k in keys], dtype=np.uint8)
        per_model = np.array([[m.hashrate_ths, m.power_w, m.power_min_w, m.power_max_w, m.frequency_mhz]
                              for m in self.models])[self.model_index]
        self.nominal_hashrate_ths, self.nominal_power_w = per_model[:, 0].copy(), per_model[:, 1].copy()
        self.power_min_w, self.power_max_w = per_model[:, 2].copy(), per_model[:, 3].copy()
        self._frequency_mhz = per_model[:, 4].copy()

        if firmware is None:  # each model's own firmware
            self.firmware = np.array([m.firmware for m in self.models], dtype=np.uint8)[self.model_index]
        elif isinstance(firmware, (str, Firmware)):
            self.firmware = np.full(n, _parse_firmware(firmware), dtype=np.uint8)
        else:
            if len(firmware) != n:
                raise ValueError(f"firmware has {len(firmware)} entries for {n} units")
            self.firmware = np.array([_parse_firmware(f) for f in firmware], dtype=np.uint8)

        rng = self.rng
        self.ambient_c = np.broadcast_to(np.asarray(ambient_c, dtype=np.float64), (n,)).copy()
        self.mode = np.full(n, Mode.MINING if mining else Mode.SLEEPING, dtype=np.uint8)
        self.power_target_w = self.nominal_power_w.copy()
        self.effective_target_w = self.power_target_w.copy()
        self.ramp = np.full(n, 1.0 if mining else 0.0)
        self.ramp_s = rng.uniform(ramp_s[0], ramp_s[1], n)
        # Static manufacturing spread: board yield, heatsink contact and fan tolerance.
        self._board_quality = rng.normal(1.0, 0.01, (BOARDS, n))
        self._board_r_factor = rng.normal(1.0, 0.03, (BOARDS, n))
        self._fan_gain = rng.normal(1.0, 0.02, (FANS, n))
        self.elapsed_s = np.floor(rng.uniform(3_600.0, 30 * 86_400.0, n))
        self.down_s = np.zeros(n)

        self.faults = np.zeros(n, dtype=np.uint8)
        self.dead_board = np.full(n, -1, dtype=np.int8)
        self.failed_fan = np.full(n, -1, dtype=np.int8)
        self.fan_manual_pct = np.full(n, -1.0)
        self.fault_light = np.zeros(n, dtype=bool)

        self.accepted = np.zeros(n, dtype=np.int64)
        self.rejected = np.zeros(n, dtype=np.int64)
        self.hw_errors = np.zeros(n, dtype=np.int64)

        # Per-board and per-fan state is stored board-major, (3, n) and (4, n), because reductions
        # over boards then run on contiguous rows (several times faster at 100k units); the public
        # properties below give the (n, 3) / (n, 4) views.
        self._board_hashrate = np.zeros((BOARDS, n))
        self.hashrate_ths = np.zeros(n)
        self.power_w = np.full(n, CONTROL_BOARD_W)
        self._board_temp = np.repeat(self.ambient_c[None, :], BOARDS, axis=0)
        self._chip_temp = self._board_temp.copy()
        # All fans follow one PWM duty, so one lagged speed per unit is state enough; each fan's
        # reading is that speed times its tolerance (0 for a dead fan).
        self._fan_speed = np.zeros(n)

        # 1.0 / 0.0 masks of working boards and fans, kept in step with dead_board / failed_fan
        # by the fault commands so the tick multiplies instead of comparing.
        self._board_alive = np.ones((BOARDS, n))
        self._fan_alive = np.ones((FANS, n))
        self._fan_flow = (self._fan_gain * self._fan_alive).sum(axis=0) / FANS
        self._hostnames: dict[int, str] = {}
        self._pools: dict[int, list[tuple[str, str]]] = {}
        self._listeners: list[Listener] = []
        # Start warm: a running fleet is found in thermal equilibrium, not at ambient.
        for _ in range(3):
            self._advance(0.0, steady=True)

    # --- time ----------------------------------------------------------------------------------
    def tick(self, dt_s: float) -> None:
        """Advance the physics of every unit by `dt_s` simulated seconds."""
        if dt_s < 0:
            raise ValueError("time does not run backwards")
        if dt_s > 0:
            self._advance(float(dt_s), steady=False)

    def _advance(self, dt: float, *, steady: bool) -> None:
        def lag(tau: float) -> float:
            # Exact first-order response, stable for any dt; `steady` jumps to equilibrium.
            return 1.0 if steady else -math.expm1(-dt / tau)

        booted = np.zeros(self.n, dtype=bool)
        active_s: float | npt.NDArray[np.float64] = dt
        if not steady:
            was_down = self.down_s > 0
            # Seconds of this tick each unit spent up: a unit that boots mid-tick counts from boot.
            active_s = np.clip(dt - self.down_s, 0.0, dt)
            self.down_s = np.maximum(self.down_s - dt, 0.0)
            booted = was_down & (self.down_s <= 0)
            self.elapsed_s = np.where(was_down, active_s, self.elapsed_s + dt)

        up = self.down_s <= 0
        running = up & (self.mode != Mode.SLEEPING)
        if not steady:
            self.ramp = np.where(running, np.minimum(self.ramp + active_s / self.ramp_s, 1.0), 0.0)
        ramp = self.ramp * self.ramp * (3.0 - 2.0 * self.ramp)  # smoothstep: slow start and finish

        low_power = self.nominal_power_w * (LOW_POWER_W / NOMINAL_POWER_W)
        target = np.where(
            self.mode == Mode.LOW_POWER, np.minimum(self.power_target_w, low_power), self.power_target_w
        )
        self.effective_target_w += (target - self.effective_target_w) * lag(TARGET_TAU_S)

        has_work = running & ((self.faults & Fault.POOL_DOWN) == 0)
        alive = self._board_alive
        # Uniform +-0.4 % per board per tick: cheap, and enough to make readings look live.
        noise = 1.0 + 0.008 * (self.rng.random((BOARDS, self.n)) - 0.5)
        board_ideal = self.curve(self.effective_target_w) / BOARDS
        self._board_hashrate = (board_ideal * ramp * has_work) * self._board_quality * alive * noise
        self.hashrate_ths = self._board_hashrate.sum(axis=0)

        board_share_w = (self.effective_target_w - CONTROL_BOARD_W) / BOARDS
        work = np.where(has_work, 1.0, IDLE_BOARD_FRACTION)
        board_power = (board_share_w * ramp * work * running) * alive
        self.power_w = CONTROL_BOARD_W + board_power.sum(axis=0)

        # Fans: feed-forward on the hottest board's heat plus a push when chips run hot.
        overheat = (self.faults & Fault.OVERHEAT) != 0
        fan_failed = self.failed_fan >= 0
        intake = self.ambient_c + np.where(overheat, OVERHEAT_INTAKE_RISE_C, 0.0)
        r_base = np.where(overheat, THERMAL_R_C_PER_W * OVERHEAT_R_FACTOR, THERMAL_R_C_PER_W)
        capacity = np.where(fan_failed, FAILED_FAN_AIRFLOW, 1.0)
        headroom = np.maximum(TARGET_CHIP_C - intake, 1.0)
        airflow_needed = (r_base * board_power.max(axis=0) / headroom) ** (1.0 / AIRFLOW_EXPONENT)
        push = FAN_KP_PER_C * np.maximum(self._chip_temp.max(axis=0) - TARGET_CHIP_C, 0.0)
        duty = np.where(running, np.clip(airflow_needed / capacity + push, FAN_DUTY_MIN, 1.0), 0.0)
        duty = np.where(self.fan_manual_pct >= 0, self.fan_manual_pct / 100.0, duty)
        self._fan_speed += (duty * FAN_RPM_MAX - self._fan_speed) * lag(FAN_TAU_S)

        airflow = self._fan_speed * self._fan_flow / FAN_RPM_MAX * np.where(fan_failed, FAILED_FAN_RECIRCULATION, 1.0)
        r_eff = r_base / np.maximum(airflow, 0.03) ** AIRFLOW_EXPONENT
        chip_eq = intake + board_power * (r_eff * self._board_r_factor)
        pcb_eq = intake + PCB_FRACTION * (chip_eq - intake)
        self._chip_temp += (chip_eq - self._chip_temp) * lag(CHIP_TAU_S)
        self._board_temp += (pcb_eq - self._board_temp) * lag(PCB_TAU_S)

        if not steady:
            # Expected shares in dt at the pool's difficulty: hashes / (difficulty * 2^32).
            lam = self.hashrate_ths * (1e12 * dt / (SHARE_DIFFICULTY * 2.0**32))
            self.accepted += self.rng.poisson(lam * (1.0 - REJECT_FRACTION))
            self.rejected += self.rng.poisson(lam * REJECT_FRACTION)
            self.hw_errors += self.rng.poisson(lam * HW_ERROR_FRACTION)
            if booted.any():
                self._notify(np.flatnonzero(booted))

    # --- each unit's efficiency curve -----------------------------------------------------------
    def curve(self, power_w: float | npt.ArrayLike, i: int | None = None) -> Any:
        """Hashrate (TH/s) at a board power: the S21's curve scaled to each unit's nameplate
        (one value per unit, or unit `i`'s)."""
        if i is None:
            nominal_h, nominal_p = self.nominal_hashrate_ths, self.nominal_power_w
        else:
            k = int(self._idx(i)[0])
            nominal_h, nominal_p = self.nominal_hashrate_ths[k], self.nominal_power_w[k]
        p = np.maximum(np.asarray(power_w, dtype=np.float64), 0.0)
        out = np.asarray(nominal_h * (p / nominal_p) ** CURVE_EXPONENT)
        return float(out) if out.ndim == 0 else out

    def model(self, i: int) -> AsicModel:
        return self.models[int(self.model_index[self._idx(i)][0])]

    # --- per-board views -----------------------------------------------------------------------
    @property
    def board_hashrate_ths(self) -> npt.NDArray[np.float64]:
        """(n, 3) hashrate of each board."""
        return self._board_hashrate.T

    @property
    def board_temp_c(self) -> npt.NDArray[np.float64]:
        """(n, 3) PCB temperature of each board."""
        return self._board_temp.T

    @property
    def chip_temp_c(self) -> npt.NDArray[np.float64]:
        """(n, 3) chip temperature of each board."""
        return self._chip_temp.T

    @property
    def fan_rpm(self) -> npt.NDArray[np.float64]:
        """(n, 4) speed of each fan."""
        return (self._fan_speed * self._fan_gain * self._fan_alive).T

    # --- commands ------------------------------------------------------------------------------
    def _idx(self, i: Index) -> npt.NDArray[np.int64]:
        idx = np.atleast_1d(np.asarray(i, dtype=np.int64))
        if idx.ndim != 1 or (idx.size and (idx.min() < 0 or idx.max() >= self.n)):
            raise IndexError(f"unit index out of range 0..{self.n - 1}: {i!r}")
        return idx

    def sleep(self, i: Index) -> None:
        """Stop hashing (curtail): boards power down, the control board stays up."""
        idx = self._idx(i)
        self.mode[idx] = Mode.SLEEPING
        self.ramp[idx] = 0.0

    def resume(self, i: Index) -> None:
        """Go back to normal mining; units that were not mining start their ramp from zero."""
        self._set_mode(self._idx(i), Mode.MINING)

    def set_work_mode(self, i: Index, mode: int) -> None:
        """Apply a stock work mode as pyasic sends it: 0 normal, 1 sleep, 3 low power."""
        try:
            wanted = Mode(int(mode))
        except ValueError:
            raise ValueError(f"unknown work mode {mode!r}: expected 0, 1 or 3") from None
        if wanted is Mode.SLEEPING:
            self.sleep(i)
        else:
            self._set_mode(self._idx(i), wanted)

    def _set_mode(self, idx: npt.NDArray[np.int64], mode: Mode) -> None:
        changed = idx[self.mode[idx] != mode]
        self.mode[idx] = mode
        # Stock firmware restarts the hashing process on a work-mode change: a fresh ramp.
        self.ramp[changed] = 0.0

    def set_power_target(self, i: Index, watts: float | npt.ArrayLike) -> None:
        """Set the power target (LuxOS, or a Whatsminer's power limit), clamped to the model's range."""
        idx = self._idx(i)
        stock = idx[self.firmware[idx] == Firmware.STOCK]
        if stock.size:
            raise FirmwareRejected(f"stock firmware takes no power target (units {stock.tolist()[:10]})")
        w = np.asarray(watts, dtype=np.float64)
        if not np.all(np.isfinite(w)):
            raise ValueError("power target must be a finite number of watts")
        self.power_target_w[idx] = np.clip(w, self.power_min_w[idx], self.power_max_w[idx])

    def set_fan_mode(self, i: Index, manual_pct: float | None) -> None:
        """Fix the fans at a duty (0-100 %), or give them back to the temperature loop (None)."""
        idx = self._idx(i)
        self.fan_manual_pct[idx] = -1.0 if manual_pct is None else float(np.clip(manual_pct, 0.0, 100.0))

    def set_fault_light(self, i: Index, on: bool) -> None:
        self.fault_light[self._idx(i)] = bool(on)

    def restart(self, i: Index) -> None:
        """Restart the hashing process (not the unit): running units ramp up from zero again."""
        self.ramp[self._idx(i)] = 0.0

    def reboot(self, i: Index) -> None:
        """Restart: the unit is unreachable for `reboot_s`, then boots with a fresh ramp."""
        idx = self._idx(i)
        before = self.reachable[idx]
        self.down_s[idx] = self.reboot_s
        self.ramp[idx] = 0.0
        self._notify(idx[before])

    def inject_fault(
        self, i: Index, fault: Fault | str, *, board: int | None = None, fan: int | None = None
    ) -> None:
        """Break something; a failed board or fan is picked at random unless given."""
        idx = self._idx(i)
        f = _parse_fault(fault)
        before = self.reachable[idx]
        if f & Fault.BOARD_FAILURE:
            self.dead_board[idx] = self.rng.integers(0, BOARDS, idx.size) if board is None else board
        if f & Fault.FAN_FAILURE:
            self.failed_fan[idx] = self.rng.integers(0, FANS, idx.size) if fan is None else fan
        self.faults[idx] |= np.uint8(int(f))
        self._sync_masks(idx)
        self._notify(idx[before != self.reachable[idx]])

    def clear_fault(self, i: Index, fault: Fault | str | None = None) -> None:
        """Repair one fault, or all of them (None)."""
        idx = self._idx(i)
        f = Fault(0x1F) if fault is None else _parse_fault(fault)
        before = self.reachable[idx]
        if f & Fault.BOARD_FAILURE:
            self.dead_board[idx] = -1
        if f & Fault.FAN_FAILURE:
            self.failed_fan[idx] = -1
        self.faults[idx] &= np.uint8(0xFF ^ int(f))
        self._sync_masks(idx)
        self._notify(idx[before != self.reachable[idx]])

    def _sync_masks(self, idx: npt.NDArray[np.int64]) -> None:
        self._board_alive[:, idx] = np.arange(BOARDS)[:, None] != self.dead_board[idx][None, :]
        self._fan_alive[:, idx] = np.arange(FANS)[:, None] != self.failed_fan[idx][None, :]
        self._fan_flow[idx] = (self._fan_gain[:, idx] * self._fan_alive[:, idx]).sum(axis=0) / FANS

    def set_hostname(self, i: int, hostname: str) -> None:
        self._idx(i)
        self._hostnames[int(i)] = hostname

    def set_pools(self, i: int, pools: Sequence[tuple[str, str]]) -> None:
        """Replace a unit's pool list: (url, user) pairs, blank urls dropped."""
        self._idx(i)
        kept = [(url, user) for url, user in pools if url]
        if kept == self._default_pools(int(i)):
            self._pools.pop(int(i), None)
        else:
            self._pools[int(i)] = kept

    # --- reachability --------------------------------------------------------------------------
    @property
    def reachable(self) -> npt.NDArray[np.bool_]:
        """Units whose network services answer: not OFFLINE and not rebooting."""
        online: npt.NDArray[np.bool_] = ((self.faults & Fault.OFFLINE) == 0) & (self.down_s <= 0)
        return online

    def is_reachable(self, i: int) -> bool:
        return bool(self.reachable[self._idx(i)][0])

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(indices)` whenever units become reachable or unreachable."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _notify(self, idx: npt.NDArray[np.int64]) -> None:
        if idx.size:
            for listener in list(self._listeners):
                listener(idx)

    # --- identity ------------------------------------------------------------------------------
    def _digest(self, label: str, i: int) -> bytes:
        return hashlib.blake2b(f"{label}:{self.seed}:{i}".encode(), digest_size=32).digest()

    def mac(self, i: int) -> str:
        """Locally administered unicast MAC, stable for a seed and index."""
        raw = bytearray(self._digest("mac", i)[:6])
        raw[0] = (raw[0] & 0xFC) | 0x02
        return ":".join(f"{b:02X}" for b in raw)

    def _prefix(self, i: int) -> str:
        return self.hostname_prefix or self.models[int(self.model_index[i])].hostname_prefix

    def hostname(self, i: int) -> str:
        return self._hostnames.get(int(i), f"{self._prefix(int(i))}-{int(i):05d}")

    def _serial(self, label: str, i: int) -> str:
        digest = self._digest(label, i)
        return "".join(_SERIAL_ALPHABET[b % len(_SERIAL_ALPHABET)] for b in digest[:17])

    def serial_number(self, i: int) -> str:
        return self._serial("serial", i)

    def board_serials(self, i: int) -> list[str]:
        return [self._serial(f"board{b}", i) for b in range(BOARDS)]

    def worker(self, i: int) -> str:
        return f"{self.pool_user_prefix}.{self._prefix(int(i))}-{int(i):05d}"

    def _default_pools(self, i: int) -> list[tuple[str, str]]:
        return [(self.pool_url, self.worker(i)), (self.backup_pool_url, self.worker(i))]

    def pools(self, i: int) -> list[tuple[str, str]]:
        """The unit's pools, (url, user) in priority order."""
        return list(self._pools.get(int(i), self._default_pools(int(i))))

    def firmware_name(self, i: int) -> str:
        return Firmware(int(self.firmware[i])).name.lower()

    # --- one unit as plain values --------------------------------------------------------------
    def snapshot(self, i: int) -> dict[str, Any]:
        """Everything the servers need about one unit, as plain Python values."""
        k = int(self._idx(i)[0])
        faults = Fault(int(self.faults[k]))
        mode = Mode(int(self.mode[k]))
        target = float(self.effective_target_w[k])
        model = self.models[int(self.model_index[k])]
        ideal = float(self.curve(target, k))
        return {
            "index": k,
            "model": model.name,
            "model_key": model.key,
            "chips_per_board": model.chips_per_board,
            "nominal_hashrate_ths": model.hashrate_ths,
            "nominal_power_w": model.power_w,
            "power_min_w": model.power_min_w,
            "power_max_w": model.power_max_w,
            "firmware": self.firmware_name(k),
            "mode": mode.name.lower(),
            "work_mode": int(mode),
            "power_target_w": float(self.power_target_w[k]),
            "effective_target_w": target,
            "ramp": float(self.ramp[k]),
            "hashrate_ths": float(self.hashrate_ths[k]),
            "board_hashrate_ths": self._board_hashrate[:, k].tolist(),
            "ideal_hashrate_ths": ideal,
            "frequency_mhz": float(self._frequency_mhz[k] * ideal / self.nominal_hashrate_ths[k]),
            "power_w": float(self.power_w[k]),
            "board_temp_c": self._board_temp[:, k].tolist(),
            "chip_temp_c": self._chip_temp[:, k].tolist(),
            "fan_rpm": (self._fan_speed[k] * self._fan_gain[:, k] * self._fan_alive[:, k]).tolist(),
            "fan_manual_pct": None if self.fan_manual_pct[k] < 0 else float(self.fan_manual_pct[k]),
            "ambient_c": float(self.ambient_c[k]),
            "elapsed_s": float(self.elapsed_s[k]),
            "accepted": int(self.accepted[k]),
            "rejected": int(self.rejected[k]),
            "hw_errors": int(self.hw_errors[k]),
            "faults": int(faults),
            "fault_names": [f.name for f in Fault if f in faults],
            "dead_board": int(self.dead_board[k]),
            "failed_fan": int(self.failed_fan[k]),
            "pool_alive": not (faults & Fault.POOL_DOWN),
            "reachable": bool(self.reachable[k]),
            "fault_light": bool(self.fault_light[k]),
            "mac": self.mac(k),
            "hostname": self.hostname(k),
            "serial_number": self.serial_number(k),
            "board_serials": self.board_serials(k),
            "pools": [{"url": url, "user": user} for url, user in self.pools(k)],
            "share_difficulty": SHARE_DIFFICULTY,
        }
