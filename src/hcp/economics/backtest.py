"""Backtests: a strategy run over a price history on simulated time, every step at once.

The clock is the history's own timestamps: row k's prices hold until row k+1 (the last row for
the median step). A strategy decides, per step, how many units of each class mine (and at which
power), which contracted workloads run and how many GPUs rent on spot; the outcome (revenue by
source, energy, curtailment, switches and what they cost, contracted work not delivered) is
arrays over the steps, and the report sums them.

Strategies: `hybrid` (the optimizer's decision each step), `mine-always`, `ai-first` and
`price-threshold` (Foreman/Braiins-style strike-price curtailment). Contracted workloads are
admitted customer work with an SLO, not revenue to trade: every strategy runs each one the fleet
can hold (its GPUs and power fit with every ASIC curtailed, dearest first: `_fixed_gangs`) at
every step, and a step a contract misses counts as SLO shortfall. `hybrid` then optimizes ASICs
and spot on the power and GPUs left, with a vectorised fast path over all steps: per facility a
greedy on value per watt with rounding and repairs, an upper bound on the optimum, and a branch
and bound where the bound leaves more than 0.1% of the objective unproven (`fast_path`); a step
it still cannot prove goes to the exact optimizer, and `exact=True` sends every step there
(`hcp.economics.optimizer.optimize`, the contracts as committed workloads).

Switching is priced for every strategy: an ASIC start loses its ramp's revenue, a GPU's change of
role a moment of its new role's price. `hybrid` also decides with it: after the per-step optimum,
a pass over the steps (`_hold`) keeps a class's (or spot pool's) previous count where following
the optimum would gain less over the next `min_dwell_s` than the switches it adds, so it does not
flap for a five-minute blip. That pass sees `min_dwell_s` of the price path ahead, as a forecast
would live.
Figures are float estimates of what a strategy would have earned, not money owed.
"""

from __future__ import annotations

import csv
import gzip
import math
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

import anyio
import numpy as np
import numpy.typing as npt
from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hcp.core.errors import InvalidInput
from hcp.economics.optimizer import optimize
from hcp.economics.schemas import FacilityIn, OptimizeRequest, UnitIn, WorkloadIn
from hcp.kernel.hashprice import BLOCK_SUBSIDY_BTC, BLOCKS_PER_DAY, HASHES_PER_DIFFICULTY, TARGET_BLOCK_TIME_S
from hcp.sim.market import MarketCsvError, MarketSimulator, MarketTick, write_csv

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

Strategy = Literal["hybrid", "mine-always", "ai-first", "price-threshold"]
STRATEGIES: Final[tuple[Strategy, ...]] = ("hybrid", "mine-always", "ai-first", "price-threshold")

DATA_DIR: Final = Path(__file__).with_name("data")
SAMPLE_PRICES: Final = DATA_DIR / "sample-prices-SYNTHETIC-2026-5min.csv.gz"
SAMPLE_FLEET: Final = DATA_DIR / "sample-fleet.yaml"
SAMPLE_SEED: Final = 2026
SAMPLE_START: Final = datetime(2026, 1, 1, tzinfo=UTC)
SAMPLE_FACILITIES: Final = (("tx-north", "HB_NORTH"), ("tx-south", "HB_WEST"), ("nd-ellendale", "MISO_MINN_HUB"))

CHUNK_STEPS: Final = 16_384  # steps decided at once: bounds memory and paces the progress bar
CAP_TOLERANCE_W: Final = 1e-6
TOLERANCE: Final = 1e-3  # hybrid's fast path proves each step within 0.1% of the optimum, or defers
MAX_UNITS: Final = 1_000_000
# What a switch costs, by default: an ASIC's start-up ramp (as `ResourcesSettings.mining_ramp_s`),
# a GPU's change of role (save, clear, load, init), and how far ahead hybrid weighs a change
# against the switches it adds (the live planner's `EconomicsSettings.min_dwell_s`).
ASIC_RAMP_S: Final = 600.0
GPU_SWITCH_S: Final = 0.5
MIN_DWELL_S: Final = 900.0
MAX_ASIC_RAMP_S: Final = 86_400.0
MAX_GPU_SWITCH_S: Final = 3_600.0
MAX_MIN_DWELL_S: Final = 86_400.0

Progress = Callable[[str, int, int], None]  # (strategy, steps done, steps of this strategy)


# --------------------------------------------------------------------------------------------------
# The fleet, as the YAML file (or the API's JSON) gives it


_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)


class FleetFacility(BaseModel):
    model_config = _STRICT
    id: str = Field(min_length=1, max_length=128)
    power_cap_kw: float = Field(ge=0, le=10_000_000)
    market_node: str = Field(min_length=1, max_length=64, description="electricity column of the price history")


class FleetUnit(UnitIn):
    """A unit as `POST /economics/optimize` takes it; `count` > 1 stands for that many identical
    units, named `<id>-1`, `<id>-2`, ... (zero-padded)."""

    count: int = Field(1, ge=1, le=MAX_UNITS)


class FleetWorkload(WorkloadIn):
    """Contracted AI demand: holds its GPUs for the whole backtest at its price, in one facility
    (`facility_id`, or else chosen once before the run: see `build_model`). Contracts together
    must fit the GPUs: a pool is never sold twice.

    A contract is admitted work with an SLO, so in a backtest it is always `committed`: run at
    every step the fleet can, never traded for mining or spot. `committed: false` is refused
    rather than ignored, so that nobody reads a result as if it had been honoured.
    """

    facility_id: str | None = Field(None, min_length=1, max_length=128)
    committed: bool = Field(True, description="always true: a contracted workload is admitted work with an SLO")

    @field_validator("committed")
    @classmethod
    def _always_committed(cls, value: bool) -> bool:
        if not value:
            raise ValueError("a contracted workload in a backtest is a commitment: leave it out or set it true")
        return value


class Fleet(BaseModel):
    model_config = _STRICT
    facilities: list[FleetFacility] = Field(min_length=1, max_length=1_000)
    units: list[FleetUnit] = Field(default_factory=list, max_length=100_000)
    workloads: list[FleetWorkload] = Field(default_factory=list, max_length=10_000)


class FleetFileError(ValueError):
    """A fleet file that cannot be read; the message names the file and the field."""


def load_fleet(path: str | Path) -> Fleet:
    """Read a fleet YAML (or JSON) file: `facilities`, `units`, optional `workloads`."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FleetFileError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise FleetFileError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise FleetFileError(f"{path}: expected a mapping with facilities, units and workloads")
    try:
        return Fleet.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in err["loc"]).replace(".[", "[")
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise FleetFileError(f"{path}: {where or 'fleet'}: {err['msg']}{more}") from None


# --------------------------------------------------------------------------------------------------
# Price histories


_CORE_COLUMNS: Final = ("ts", "btc_usd", "network_difficulty", "fees_btc_per_block")
_ELECTRICITY: Final = "electricity_usd_per_mwh:"
_GPU_SPOT: Final = "gpu_spot_usd_per_hour:"


@dataclass(frozen=True)
class PriceHistory:
    """A market history as columns: one row per step, timestamps in seconds since the epoch (UTC)."""

    ts_s: FloatArray
    dt_h: FloatArray  # how long each row's prices hold
    btc_usd: FloatArray
    network_difficulty: FloatArray
    fees_btc_per_block: FloatArray
    electricity_usd_per_mwh: dict[str, FloatArray]
    gpu_spot_usd_per_hour: dict[str, FloatArray]
    source: str = "inline"
    synthetic: bool = False

    def __len__(self) -> int:
        return len(self.ts_s)

    @property
    def hashprice_usd_per_th_day(self) -> FloatArray:
        # hcp.kernel.hashprice's formula, over every row at once.
        revenue_usd_per_day = (BLOCK_SUBSIDY_BTC + self.fees_btc_per_block) * BLOCKS_PER_DAY * self.btc_usd
        network_ths = self.network_difficulty * HASHES_PER_DIFFICULTY / TARGET_BLOCK_TIME_S / 1e12
        result: FloatArray = revenue_usd_per_day / network_ths
        return result

    def start(self) -> datetime:
        return datetime.fromtimestamp(float(self.ts_s[0]), tz=UTC)

    def end(self) -> datetime:
        return datetime.fromtimestamp(float(self.ts_s[-1] + self.dt_h[-1] * 3600.0), tz=UTC)

    def between(self, start: datetime | None, end: datetime | None) -> PriceHistory:
        """The rows with start <= ts < end (each keeps its own duration)."""
        keep = np.ones(len(self), dtype=bool)
        if start is not None:
            keep &= self.ts_s >= start.timestamp()
        if end is not None:
            keep &= self.ts_s < end.timestamp()
        rows = np.flatnonzero(keep)
        return PriceHistory(
            ts_s=self.ts_s[rows], dt_h=self.dt_h[rows], btc_usd=self.btc_usd[rows],
            network_difficulty=self.network_difficulty[rows], fees_btc_per_block=self.fees_btc_per_block[rows],
            electricity_usd_per_mwh={k: v[rows] for k, v in self.electricity_usd_per_mwh.items()},
            gpu_spot_usd_per_hour={k: v[rows] for k, v in self.gpu_spot_usd_per_hour.items()},
            source=self.source, synthetic=self.synthetic,
        )


def _durations_h(ts_s: FloatArray) -> FloatArray:
    steps = np.diff(ts_s)
    return np.append(steps, np.median(steps)) / 3600.0


def load_prices(path: str | Path) -> PriceHistory:
    """Read a market CSV (`hcp.sim.market.write_csv`'s format), plain or gzipped (`.gz`).

    The same checks as `MarketReplay`, but columnar: a year of 5-minute rows loads in well under
    a second. Errors (`MarketCsvError`) name the file, the line and the column.
    """
    path = Path(path)
    opener: Callable[..., Any] = gzip.open if path.suffix == ".gz" else open
    try:
        fh = opener(path, "rt", newline="", encoding="utf-8")
    except OSError as exc:
        raise MarketCsvError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    lines: list[int] = []
    rows: list[list[str]] = []
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None:
                raise MarketCsvError(f"{path}: empty file (expected a header line)")
            for row in reader:
                if row and any(cell.strip() for cell in row):
                    rows.append(row)
                    lines.append(reader.line_num)
        except csv.Error as exc:
            raise MarketCsvError(f"{path}: line {reader.line_num}: unreadable CSV: {exc}") from exc
        except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as exc:
            raise MarketCsvError(f"{path}: not a UTF-8 (or gzipped UTF-8) CSV: {exc}") from exc
    names = [h.strip() for h in header]
    nodes, models = _parse_header(names, lambda msg: MarketCsvError(f"{path}: line 1: {msg}"))
    width = len(names)
    for row, line in zip(rows, lines, strict=True):
        if len(row) != width:
            raise MarketCsvError(f"{path}: line {line}: {len(row)} fields, the header has {width}")
    if len(rows) < 2:
        raise MarketCsvError(f"{path}: {len(rows)} data row(s); a backtest needs at least two")
    columns = list(zip(*rows, strict=True))

    def error(k: int, column: str, message: str) -> MarketCsvError:
        return MarketCsvError(f"{path}: line {lines[k]}: column {column!r}: {message}")

    ts = _parse_timestamps(columns[names.index("ts")], lambda k, msg: error(k, "ts", msg))

    def number(name: str, *, minimum: float | None = None, strict: bool = False) -> FloatArray:
        cells = columns[names.index(name)]
        try:
            values = np.array(cells, dtype=np.float64)
        except ValueError:
            for k, cell in enumerate(cells):
                try:
                    float(cell)
                except ValueError:
                    raise error(k, name, f"{cell.strip()!r} is not a number") from None
            raise
        bad = ~np.isfinite(values)
        if minimum is not None:
            bad |= values <= minimum if strict else values < minimum
        if bad.any():
            k = int(np.argmax(bad))
            bound = "" if minimum is None else f" (must be {'>' if strict else '>='} {minimum:g})"
            raise error(k, name, f"{cells[k].strip()!r} is not a finite number{bound}")
        return values

    return PriceHistory(
        ts_s=ts, dt_h=_durations_h(ts),
        btc_usd=number("btc_usd", minimum=0.0, strict=True),
        network_difficulty=number("network_difficulty", minimum=0.0, strict=True),
        fees_btc_per_block=number("fees_btc_per_block", minimum=0.0),
        electricity_usd_per_mwh={n: number(_ELECTRICITY + n) for n in nodes},
        gpu_spot_usd_per_hour={m: number(_GPU_SPOT + m, minimum=0.0) for m in models},
        source=str(path), synthetic="SYNTHETIC" in path.name.upper(),
    )


def _parse_header(names: list[str], error: Callable[[str], Exception]) -> tuple[list[str], list[str]]:
    seen: set[str] = set()
    nodes: list[str] = []
    models: list[str] = []
    for col, name in enumerate(names, start=1):
        if name in seen:
            raise error(f"column {col} {name!r} appears twice")
        seen.add(name)
        if name in _CORE_COLUMNS:
            continue
        if name.startswith(_ELECTRICITY) and name[len(_ELECTRICITY):]:
            nodes.append(name[len(_ELECTRICITY):])
        elif name.startswith(_GPU_SPOT) and name[len(_GPU_SPOT):]:
            models.append(name[len(_GPU_SPOT):])
        else:
            raise error(f"column {col} {name!r} is not a market column (expected {', '.join(_CORE_COLUMNS)}, "
                        f"{_ELECTRICITY}<node> or {_GPU_SPOT}<model>)")
    missing = [c for c in _CORE_COLUMNS if c not in seen]
    if missing:
        raise error(f"missing column(s): {', '.join(missing)}")
    return nodes, models


def _parse_timestamps(cells: Sequence[str], error: Callable[[int, str], Exception]) -> FloatArray:
    out = np.empty(len(cells))
    for k, cell in enumerate(cells):
        raw = cell.strip()
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError:
            raise error(k, f"{raw!r} is not an ISO 8601 timestamp") from None
        if ts.tzinfo is None:
            raise error(k, f"{raw!r} has no UTC offset (append 'Z' for UTC)")
        out[k] = ts.timestamp()
    not_after = np.flatnonzero(np.diff(out) <= 0)
    if len(not_after):
        k = int(not_after[0]) + 1
        raise error(k, f"{cells[k].strip()!r} is not after the previous row's timestamp")
    return out


@lru_cache(maxsize=1)
def sample_prices() -> PriceHistory:
    """The shipped synthetic year (read once per process)."""
    history = load_prices(SAMPLE_PRICES)
    return PriceHistory(**{**history.__dict__, "source": f"sample {SAMPLE_PRICES.name}", "synthetic": True})


def simulated_ticks(
    *, seed: int, start: datetime, steps: int, step_s: float,
    facilities: Sequence[tuple[str, str]] = SAMPLE_FACILITIES,
) -> list[MarketTick]:
    """`steps` ticks of the market simulator, `step_s` apart, the first at `start`."""
    sim = MarketSimulator(seed=seed, facilities=list(facilities), start=start)
    return [sim.current(), *(sim.step(step_s) for _ in range(steps - 1))]


def history_from_ticks(ticks: Sequence[MarketTick], *, source: str = "market simulator",
                       synthetic: bool = True) -> PriceHistory:
    ts = np.array([t.ts.timestamp() for t in ticks])
    first = ticks[0]
    return PriceHistory(
        ts_s=ts, dt_h=_durations_h(ts),
        btc_usd=np.array([t.btc_usd for t in ticks]),
        network_difficulty=np.array([t.network_difficulty for t in ticks]),
        fees_btc_per_block=np.array([t.fees_btc_per_block for t in ticks]),
        electricity_usd_per_mwh={n: np.array([t.electricity_usd_per_mwh[n] for t in ticks])
                                 for n in first.electricity_usd_per_mwh},
        gpu_spot_usd_per_hour={m: np.array([t.gpu_spot_usd_per_hour[m] for t in ticks])
                               for m in first.gpu_spot_usd_per_hour},
        source=source, synthetic=synthetic,
    )


def rounded_tick(tick: MarketTick) -> MarketTick:
    """A tick with each price rounded to what it means (cents, satoshis), as `market.tick` shows it."""
    return MarketTick.from_prices(
        ts=tick.ts, btc_usd=round(tick.btc_usd, 2),
        network_difficulty=float(f"{tick.network_difficulty:.6e}"),
        fees_btc_per_block=round(tick.fees_btc_per_block, 8),
        electricity_usd_per_mwh={k: round(v, 2) for k, v in tick.electricity_usd_per_mwh.items()},
        gpu_spot_usd_per_hour={k: round(v, 4) for k, v in tick.gpu_spot_usd_per_hour.items()},
    )


def write_prices(ticks: Iterable[MarketTick], path: str | Path) -> int:
    """`write_csv`, gzipped when the name ends in `.gz` (reproducibly: no name or time inside)."""
    path = Path(path)
    if path.suffix != ".gz":
        return write_csv(ticks, path)
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "prices.csv"
        n = write_csv(ticks, plain)
        with plain.open("rb") as src, path.open("wb") as raw, \
                gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as dst:
            shutil.copyfileobj(src, dst)
    return n


def write_sample_prices(path: str | Path = SAMPLE_PRICES, *, days: int = 365, step_s: float = 300.0) -> int:
    """Regenerate the shipped sample: the market simulator, seed 2026, from 2026-01-01 UTC."""
    ticks = simulated_ticks(seed=SAMPLE_SEED, start=SAMPLE_START, steps=int(days * 86400 / step_s), step_s=step_s)
    return write_prices((rounded_tick(t) for t in ticks), path)


# --------------------------------------------------------------------------------------------------
# The fleet as classes of interchangeable units


@dataclass
class AsicClass:
    """ASICs of one facility with the same power options: the hull, the stock point, the members."""

    facility: int
    unit_ids: list[str]
    stock: tuple[float, float]  # (power_w, hashrate_ths) the baselines run at
    hull: FloatArray  # [[power_w, hashrate_ths]]: upper concave hull of the options with (0, 0)

    @property
    def n(self) -> int:
        return len(self.unit_ids)


@dataclass
class GpuPool:
    """GPUs of one facility with the same model, full and idle power."""

    facility: int
    model: str
    power_w: float
    idle_power_w: float
    unit_ids: list[str]

    @property
    def n(self) -> int:
        return len(self.unit_ids)

    @property
    def extra_w(self) -> float:
        return self.power_w - self.idle_power_w


@dataclass
class Gang:
    """A contracted workload, pinned to one pool: all of its GPUs run, or none."""

    workload_id: str
    pool: int
    gpu_count: int
    price_usd_per_gpu_hour: float


@dataclass
class FleetModel:
    facility_ids: list[str]
    market_nodes: list[str]
    cap_w: FloatArray
    idle_floor_w: FloatArray  # every GPU of the facility idling
    classes: list[AsicClass]
    pools: list[GpuPool]
    gangs: list[Gang]
    units: list[UnitIn]  # expanded, one per unit: what the exact path sends to the optimizer
    unit_class: dict[str, int] = field(default_factory=dict)  # ASIC id -> class
    unit_pool: dict[str, int] = field(default_factory=dict)  # GPU id -> pool

    @property
    def asic_count(self) -> int:
        return sum(c.n for c in self.classes)

    @property
    def gpu_count(self) -> int:
        return sum(q.n for q in self.pools)


def upper_hull(points: FloatArray) -> FloatArray:
    """Vertices of the upper concave hull of (0, 0) and `points` ([[power_w > 0, hashrate]]),
    left to right, without (0, 0) and without collinear points.

    A shear (g = h x hashprice - p x price) keeps upper hulls, so whatever the prices, the best
    mix of a class's options in the LP relaxation lies on this hull: its increments are the
    greedy's items, with value per watt falling along it.
    """
    best: dict[float, float] = {}
    for p, h in points.tolist():
        best[p] = max(h, best.get(p, -math.inf))
    hull: list[tuple[float, float]] = [(0.0, 0.0)]
    for p, h in sorted(best.items()):
        while len(hull) >= 2:
            (p0, h0), (p1, h1) = hull[-2], hull[-1]
            if (p1 - p0) * (h - h0) - (h1 - h0) * (p - p0) >= 0:  # not a right turn: p1 is not a vertex
                hull.pop()
            else:
                break
        hull.append((p, h))
    return np.array(hull[1:], dtype=np.float64).reshape(-1, 2)


def build_model(fleet: Fleet, prices: PriceHistory, *, field_prefix: str = "") -> FleetModel:
    """Check the fleet against itself and the price history, expand `count`, group into classes,
    and pin each contracted workload to a pool.

    A workload without `facility_id` goes, dearest first, to the pool of its model with room left
    whose facility had the lowest mean power price over the history: moving a customer's job
    between sites every five minutes is not a plan. Every strategy runs it at every step when
    its facility can power it (`_fixed_gangs`): it is a commitment, not a trade.
    """
    fp = field_prefix
    facility_ids = [f.id for f in fleet.facilities]
    fac_index: dict[str, int] = {}
    for i, facility in enumerate(fleet.facilities):
        if facility.id in fac_index:
            raise InvalidInput(f"{fp}facilities[{i}].id", f"duplicate facility id {facility.id!r}")
        if facility.market_node not in prices.electricity_usd_per_mwh:
            known = ", ".join(prices.electricity_usd_per_mwh) or "none"
            raise InvalidInput(f"{fp}facilities[{i}].market_node", f"no electricity prices for "
                               f"{facility.market_node!r} in the price history (it has: {known})")
        fac_index[facility.id] = i
    if sum(u.count for u in fleet.units) > MAX_UNITS:
        raise InvalidInput(f"{fp}units", f"more than {MAX_UNITS:,} units in all")

    units: list[UnitIn] = []
    seen: set[str] = set()
    asic_groups: dict[tuple[int, bytes, float, float], list[str]] = defaultdict(list)
    asic_points: dict[tuple[int, bytes, float, float], FloatArray] = {}
    pool_groups: dict[tuple[int, str, float, float], list[str]] = defaultdict(list)
    for i, u in enumerate(fleet.units):
        where = f"{fp}units[{i}]"
        f = fac_index.get(u.facility_id)
        if f is None:
            raise InvalidInput(f"{where}.facility_id", f"unknown facility {u.facility_id!r}")
        base = u.model_dump(exclude={"count"})
        width = len(str(u.count))
        ids = [u.id] if u.count == 1 else [f"{u.id}-{k:0{width}d}" for k in range(1, u.count + 1)]
        for uid in ids:
            if uid in seen:
                raise InvalidInput(f"{where}.id", f"duplicate unit id {uid!r}")
            seen.add(uid)
        if u.kind == "gpu":
            if u.model is None:
                raise InvalidInput(f"{where}.model", "a GPU needs its model (e.g. H100)")
            if u.hashrate_ths is not None or u.curve is not None:
                raise InvalidInput(f"{where}.hashrate_ths", "a GPU has no hashrate or curve")
            idle = u.idle_power_w if u.idle_power_w is not None else 0.1 * u.power_w
            if idle > u.power_w:
                raise InvalidInput(f"{where}.idle_power_w", "must not exceed power_w")
            pool_groups[(f, u.model, u.power_w, idle)].extend(ids)
        else:
            if u.idle_power_w is not None:
                raise InvalidInput(f"{where}.idle_power_w", "an ASIC has no idle power; it is curtailed")
            if u.hashrate_ths is None and u.curve is None:
                raise InvalidInput(f"{where}.hashrate_ths", "an ASIC needs hashrate_ths or a curve")
            points = np.asarray(u.curve if u.curve is not None else np.empty((0, 2)), dtype=np.float64)
            if len(points) and ((points[:, 0] <= 0).any() or (points[:, 1] < 0).any()):
                raise InvalidInput(f"{where}.curve", "points are [power_w > 0, hashrate_ths >= 0]")
            if u.hashrate_ths is not None:
                stock = (u.power_w, u.hashrate_ths)
                points = np.vstack([points, [stock]])
            else:  # a curve alone: the point nearest the stated power is the stock setting
                k = int(np.argmin(np.abs(points[:, 0] - u.power_w)))
                stock = (float(points[k, 0]), float(points[k, 1]))
            points = np.unique(points, axis=0)
            key = (f, points.tobytes(), *stock)
            asic_groups[key].extend(ids)
            asic_points[key] = points
        units.extend(UnitIn.model_construct(**{**base, "id": uid}) for uid in ids)

    classes = [AsicClass(key[0], ids, (key[2], key[3]), upper_hull(asic_points[key]))
               for key, ids in asic_groups.items()]
    pools = [GpuPool(key[0], key[1], key[2], key[3], ids) for key, ids in pool_groups.items()]
    cap_w = np.array([f.power_cap_kw * 1000.0 for f in fleet.facilities])
    idle_floor = np.zeros(len(facility_ids))
    for q in pools:
        idle_floor[q.facility] += q.idle_power_w * q.n
    for over in np.flatnonzero(idle_floor > cap_w + CAP_TOLERANCE_W).tolist():
        raise InvalidInput(f"{fp}facilities[{over}].power_cap_kw", f"{facility_ids[over]}'s idle GPUs alone draw "
                           f"{idle_floor[over] / 1000:.3f} kW, over its cap")

    mean_price = np.array([float(np.mean(prices.electricity_usd_per_mwh[f.market_node])) if len(prices) else 0.0
                           for f in fleet.facilities])
    room = [q.n for q in pools]
    gangs: list[Gang] = []
    order = sorted(range(len(fleet.workloads)), key=lambda j: -fleet.workloads[j].price_usd_per_gpu_hour)
    wl_ids: set[str] = set()
    for j in order:
        w = fleet.workloads[j]
        where = f"{fp}workloads[{j}]"
        if w.id in wl_ids or w.id in seen:
            raise InvalidInput(f"{where}.id", f"duplicate id {w.id!r}")
        wl_ids.add(w.id)
        if w.facility_id is not None and w.facility_id not in fac_index:
            raise InvalidInput(f"{where}.facility_id", f"unknown facility {w.facility_id!r}")
        fits = [qi for qi, q in enumerate(pools)
                if (w.gpu_model in ("any", q.model)) and q.n >= w.gpu_count
                and (w.facility_id is None or q.facility == fac_index[w.facility_id])]
        if not fits:
            at = f" at {w.facility_id}" if w.facility_id else ""
            raise InvalidInput(f"{where}.gpu_count",
                               f"no facility{at} has {w.gpu_count} GPUs of model {w.gpu_model!r} to run it")
        roomy = [qi for qi in fits if room[qi] >= w.gpu_count]
        if not roomy:
            raise InvalidInput(f"{where}.gpu_count",
                               f"the contracted workloads dearer than {w.id!r} leave at most "
                               f"{max(room[qi] for qi in fits)} GPUs of model {w.gpu_model!r} in one facility; "
                               f"it needs {w.gpu_count}")
        pool = min(roomy, key=lambda qi: (mean_price[pools[qi].facility], -room[qi], qi))
        room[pool] -= w.gpu_count
        gangs.append(Gang(w.id, pool, w.gpu_count, w.price_usd_per_gpu_hour))

    model = FleetModel(facility_ids=facility_ids, market_nodes=[f.market_node for f in fleet.facilities],
                       cap_w=cap_w, idle_floor_w=idle_floor, classes=classes, pools=pools, gangs=gangs,
                       units=units)
    model.unit_class = {uid: c for c, cls in enumerate(classes) for uid in cls.unit_ids}
    model.unit_pool = {uid: q for q, pool in enumerate(pools) for uid in pool.unit_ids}
    return model


# --------------------------------------------------------------------------------------------------
# Decisions: what each class does at each step


@dataclass
class Decision:
    """A strategy's choices over the steps, by class: enough to price them and count switches."""

    mining_units: IntArray  # [T, classes] ASICs mining
    mining_w: FloatArray  # [T, classes]
    mining_ths: FloatArray  # [T, classes]
    spot_gpus: IntArray  # [T, pools]
    placed: BoolArray  # [T, gangs]

    _FIELDS: ClassVar[tuple[str, ...]] = ("mining_units", "mining_w", "mining_ths", "spot_gpus", "placed")

    @classmethod
    def empty(cls, model: FleetModel, steps: int) -> Decision:
        c, q, j = len(model.classes), len(model.pools), len(model.gangs)
        return cls(np.zeros((steps, c), dtype=np.int64), np.zeros((steps, c)), np.zeros((steps, c)),
                   np.zeros((steps, q), dtype=np.int64), np.zeros((steps, j), dtype=bool))

    def put(self, steps: IntArray, other: Decision) -> None:
        """Overwrite the given steps with `other`'s (one row per step, in that order)."""
        for name in self._FIELDS:
            getattr(self, name)[steps] = getattr(other, name)

    @classmethod
    def concat(cls, parts: Sequence[Decision]) -> Decision:
        return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in cls._FIELDS))


@dataclass
class _Market:
    """The prices one decision needs, per step: hashprice as USD per TH/s-hour, power per facility
    as USD per watt-hour, spot per pool (NaN where the model has no spot market)."""

    usd_per_th_hour: FloatArray  # [T]
    usd_per_wh: FloatArray  # [T, facilities]
    spot_usd_per_hour: FloatArray  # [T, pools]

    @classmethod
    def of(cls, model: FleetModel, prices: PriceHistory, rows: slice = slice(None)) -> _Market:
        steps = len(prices.ts_s[rows])
        spot = np.full((steps, len(model.pools)), np.nan)
        for qi, q in enumerate(model.pools):
            if q.model in prices.gpu_spot_usd_per_hour:
                spot[:, qi] = prices.gpu_spot_usd_per_hour[q.model][rows]
        power = np.column_stack([prices.electricity_usd_per_mwh[n][rows] for n in model.market_nodes]) / 1e6
        return cls(prices.hashprice_usd_per_th_day[rows] / 24.0, power.reshape(steps, -1), spot)


def _decide_hybrid(model: FleetModel, market: _Market, *,
                   tolerance: float = TOLERANCE) -> tuple[Decision, BoolArray]:
    """The fast path, and the steps it cannot prove within `tolerance` of the optimum: for every
    objective the optimum could have (between ours and ours + the bound's gap), ours must be
    within that fraction of it. Those steps go to the exact optimizer."""
    decision, objective, gap = _hybrid_fast(model, market, tolerance=tolerance)
    return decision, gap > tolerance * _smallest(objective, gap) + 1e-9


def _hybrid_fast(model: FleetModel, market: _Market, *, variants: int = 4,
                 tolerance: float = TOLERANCE) -> tuple[Decision, FloatArray, FloatArray]:
    """The optimizer's problem for every step at once, facility by facility (they share nothing
    once each contracted workload is pinned to a pool), as a knapsack on power.

    The contracted workloads are commitments, placed first (`_fixed_gangs`): the same at every
    step, so they leave each facility a fixed power budget and each pool fixed free GPUs, and
    the knapsack is over what is left. Its optimum plus the contracts' fixed value is the
    optimum of the committed problem, so the bounds below prove that problem.

    Items: each increment along an ASIC class's hull (curtailed -> first point -> second ...;
    value per watt falls along it, so a unit takes increment k+1 only after k) and spot on a pool
    (per GPU). Greedy on value per watt,
    each item taken as many times as power, GPUs and the previous increment allow: the LP
    relaxation rounded down at the one partly filled ("critical") item, with the power left
    over offered to every later item. Rounding down can strand up to one unit's worth of power,
    so `variants` repairs are tried too: one more unit of the critical item (or of one of the
    next few), power freed by shedding the least valuable units per watt, then refilled; each
    step keeps the best.

    Each facility's plan comes with an upper bound on its optimum (see `_fill_up`). Where the
    bounds leave more than `tolerance` of the objective unproven, a branch and bound over the
    same items (LP relaxations solved by the same greedy, vectorised over steps and nodes)
    closes the gap or finds a better plan, within a node budget.

    Returns the decision, its objective (USD/h, as the optimizer's) and how far below the
    optimum it may be at most (the facilities' gaps, summed).
    """
    steps = len(market.usd_per_th_hour)
    placed, left, free = _fixed_gangs(model)
    plans = [_greedy(model, market, f, _Items.of(model, f), variants, float(left[f]), free)
             for f in range(len(model.facility_ids))]
    plans = [p for p in plans if p.items.m]
    fixed_usd = _gangs_usd_per_hour(model, market, placed) - market.usd_per_wh @ model.idle_floor_w

    def totals() -> tuple[FloatArray, FloatArray]:
        value = sum((p.value for p in plans), np.zeros(steps))
        gap = sum((np.maximum(p.bound - p.value, 0.0) for p in plans), np.zeros(steps))
        return value + fixed_usd, gap

    objective, gap = totals()
    # Where the greedy cannot prove itself, branch and bound on each facility whose gap is over
    # its share of the tolerance.
    allowed = tolerance * _smallest(objective, gap)
    for p in plans:
        share = allowed / len(plans)
        rows = np.flatnonzero((gap > allowed + 1e-9) & (p.bound - p.value > share + 1e-9))
        for lo in range(0, len(rows), BNB_ROWS):
            _branch_and_bound(p, rows[lo:lo + BNB_ROWS], share[rows[lo:lo + BNB_ROWS]])
    objective, gap = totals()
    decision = Decision.empty(model, steps)
    for p in plans:
        p.write(model, decision)
    decision.placed[:] = placed
    return decision, objective, gap


def _gangs_usd_per_hour(model: FleetModel, market: _Market, placed: BoolArray) -> FloatArray:
    """What the placed contracts earn per step, less the power they draw above idle (USD/h)."""
    value = np.zeros(len(market.usd_per_th_hour))
    for j in np.flatnonzero(placed).tolist():
        g = model.gangs[j]
        q = model.pools[g.pool]
        value += g.gpu_count * (g.price_usd_per_gpu_hour - q.extra_w * market.usd_per_wh[:, q.facility])
    return value


def fast_path(model: FleetModel, prices: PriceHistory) -> tuple[Decision, FloatArray, FloatArray]:
    """hybrid's fast path alone over the whole history: the decision, its objective per step
    (USD/h, as `optimize` reports it) and the most the optimum can exceed it by."""
    return _hybrid_fast(model, _Market.of(model, prices))


def _smallest(objective: FloatArray, gap: FloatArray) -> FloatArray:
    """The smallest magnitude the optimum can have, knowing it lies in [objective, objective + gap]."""
    lo, hi = objective, objective + gap
    result: FloatArray = np.where((lo < 0) & (hi > 0), 0.0, np.minimum(np.abs(lo), np.abs(hi)))
    return result


@dataclass
class _Items:
    """A facility's knapsack items, one column each (the contracts are not items: they are fixed)."""

    kind: IntArray  # 0 ASIC hull increment, 1 spot on a pool
    owner: IntArray  # class or pool index
    dp: FloatArray  # watts one unit of the item adds
    dh: FloatArray  # TH/s one unit adds (ASIC increments)
    size: IntArray  # most units of the item
    pred: IntArray  # the increment before this one on its hull (-1: none)
    succ: IntArray  # the increment after it (-1: none)
    gpus: IntArray  # GPUs one unit takes (0 for ASICs)
    pool: IntArray  # local pool column (ASICs: a spare column no GPU item uses)
    pools: list[int]  # the facility's pools, by local column

    @property
    def m(self) -> int:
        return len(self.dp)

    @classmethod
    def of(cls, model: FleetModel, f: int) -> _Items:
        rows: list[tuple[int, int, float, float, int, int, int, int]] = []
        pools = [qi for qi, q in enumerate(model.pools) if q.facility == f]
        local = {qi: k for k, qi in enumerate(pools)}
        for ci, c in enumerate(model.classes):
            if c.facility != f:
                continue
            prev_p = prev_h = 0.0
            for s, (p, h) in enumerate(c.hull.tolist()):
                rows.append((0, ci, p - prev_p, h - prev_h, c.n, len(rows) - 1 if s else -1, 0, len(pools)))
                prev_p, prev_h = p, h
        for qi in pools:
            q = model.pools[qi]
            rows.append((1, qi, q.extra_w, 0.0, q.n, -1, 1, local[qi]))
        cols = list(zip(*rows, strict=True)) if rows else [()] * 8
        pred = np.array(cols[5], dtype=np.int64)
        succ = np.full(len(pred), -1, dtype=np.int64)
        succ[pred[pred >= 0]] = np.flatnonzero(pred >= 0)
        return cls(kind=np.array(cols[0], dtype=np.int64), owner=np.array(cols[1], dtype=np.int64),
                   dp=np.array(cols[2], dtype=np.float64), dh=np.array(cols[3], dtype=np.float64),
                   size=np.array(cols[4], dtype=np.int64), pred=pred, succ=succ,
                   gpus=np.array(cols[6], dtype=np.int64), pool=np.array(cols[7], dtype=np.int64), pools=pools)


@dataclass
class _Fill:
    """One candidate solution per step: units taken per item, power and GPUs left."""

    taken: IntArray  # [T, m]
    left: FloatArray  # [T] watts
    free: IntArray  # [T, pools + 1]

    def copy(self) -> _Fill:
        return _Fill(self.taken.copy(), self.left.copy(), self.free.copy())


def _room(items: _Items, fill: _Fill, rows: IntArray, it: IntArray) -> IntArray:
    """How many more units of item `it` (per step) the hull order and the GPUs allow."""
    pred = items.pred[it]
    before = np.where(pred >= 0, fill.taken[rows, np.maximum(pred, 0)], items.size[it])
    per = items.gpus[it]
    gpu_room = fill.free[rows, items.pool[it]] // np.maximum(per, 1)
    cur = fill.taken[rows, it]
    room: IntArray = np.where(per > 0, np.minimum(gpu_room, items.size[it] - cur), before - cur)
    return room


def _add(items: _Items, fill: _Fill, rows: IntArray, it: IntArray, k: IntArray) -> None:
    if not k.any():
        return
    fill.taken[rows, it] += k
    fill.left -= k * items.dp[it]
    fill.free[rows, items.pool[it]] -= k * items.gpus[it]


def _fill_up(items: _Items, fill: _Fill, order: IntArray, gain: FloatArray,
             ratio: FloatArray | None = None) -> tuple[IntArray, FloatArray]:
    """Greedy pass in `order`: each item takes what fits. Returns, per step, the position of the
    first item that power cut short (m where none was) and, given `ratio`, an upper bound on the
    best integer value (NaN without `ratio`).

    The bound branches on the critical item, as Martello and Toth's does. An optimum takes either
    at most its rounded-down count, and then earns at most the LP relaxation of the items after
    it on the power left (computed exactly, with the GPU pools relaxed), or at least one more,
    and then must give up power worth at least the previous item's value per watt. Hull
    increments keep their order, so the chains do not weaken either branch.
    """
    steps, m = order.shape
    rows = np.arange(steps)
    critical = np.full(steps, m, dtype=np.int64)
    before = np.zeros(steps)  # value of the items ahead of the critical one
    at_floor = np.zeros(steps)  # ... and of the critical one rounded down
    left_at_floor = np.zeros(steps)
    at_least = np.full(steps, -np.inf)
    for pos in range(m):
        it = order[:, pos]
        dp = items.dp[it]
        g = gain[rows, it]
        room = _room(items, fill, rows, it)
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = np.where(dp > 0, np.floor((fill.left + 1e-7) / np.where(dp > 0, dp, 1.0)), np.inf)
        wanted = g > 0
        k = np.where(wanted, np.clip(np.minimum(room, fit), 0, None), 0).astype(np.int64)
        # A model without a spot market has gain -inf and never a unit taken: no 0 x -inf.
        earned = np.where(k > 0, k * np.where(wanted, g, 0.0), 0.0)
        cut = (critical == m) & wanted & (fit < room)
        if ratio is not None and cut.any():
            at_floor = np.where(cut, before + earned, at_floor)
            left_at_floor = np.where(cut, fill.left - k * dp, left_at_floor)
            prev_ratio = ratio[rows, order[:, pos - 1]] if pos else np.full(steps, np.inf)
            with np.errstate(invalid="ignore"):
                ceiling = before + earned + g - ((k + 1) * dp - fill.left) * prev_ratio
            at_least = np.where(cut, ceiling, at_least)
        before += np.where((critical == m) & ~cut, earned, 0.0)
        critical = np.where(cut, pos, critical)
        _add(items, fill, rows, it, k)
    if ratio is None:
        return critical, np.full(steps, np.nan)
    at_most = _lp_after(items, fill, order, gain, critical, at_floor, left_at_floor)
    return critical, np.where(critical == m, before, np.fmax(at_most, at_least))


def _lp_after(items: _Items, fill: _Fill, order: IntArray, gain: FloatArray, critical: IntArray,
              value: FloatArray, left: FloatArray) -> FloatArray:
    """The LP relaxation's value when the items up to the critical one are as `fill` holds them
    and the later ones share the power left fractionally (GPU pools relaxed: a valid bound)."""
    steps, m = order.shape
    rows = np.arange(steps)
    position = np.empty_like(order)
    position[rows[:, None], order] = np.arange(m)
    taken = np.where(position > critical[:, None], 0, fill.taken).astype(np.float64)
    value, left = value.copy(), left.copy()
    for pos in range(int(critical.min()) + 1 if steps else m, m):
        it = order[:, pos]
        g = gain[rows, it]
        dp = items.dp[it]
        pred = items.pred[it]
        room = np.where(pred >= 0, taken[rows, np.maximum(pred, 0)], items.size[it]) - taken[rows, it]
        with np.errstate(divide="ignore", invalid="ignore"):
            fit = np.where(dp > 0, np.maximum(left, 0.0) / np.where(dp > 0, dp, 1.0), np.inf)
        amount = np.where((pos > critical) & (g > 0), np.clip(np.minimum(room, fit), 0.0, None), 0.0)
        taken[rows, it] += amount
        left -= amount * dp
        value += np.where(amount > 0, amount * np.where(g > 0, g, 0.0), 0.0)
    return value


def _shed(items: _Items, fill: _Fill, order: IntArray, keep: IntArray) -> None:
    """Remove units, least valuable per watt first (never item `keep`), until the power fits."""
    steps, m = order.shape
    rows = np.arange(steps)
    for pos in range(m - 1, -1, -1):
        over = -fill.left
        if not (over > 1e-7).any():
            return
        it = order[:, pos]
        succ = items.succ[it]
        above = np.where(succ >= 0, fill.taken[rows, np.maximum(succ, 0)], 0)
        removable = np.where(items.gpus[it] > 0, fill.taken[rows, it], fill.taken[rows, it] - above)
        removable = np.where(it == keep, 0, removable)
        dp = items.dp[it]
        with np.errstate(divide="ignore", invalid="ignore"):
            need = np.where(dp > 0, np.ceil((over - 1e-7) / np.where(dp > 0, dp, 1.0)), 0)
        k = np.where(over > 1e-7, np.clip(np.minimum(need, removable), 0, None), 0).astype(np.int64)
        _add(items, fill, rows, it, -k)


def _value(fill: _Fill, gain: FloatArray) -> FloatArray:
    result: FloatArray = np.where(fill.taken > 0, fill.taken * np.where(np.isfinite(gain), gain, 0.0), 0.0).sum(1)
    return result


BNB_ROWS: Final = 1_024  # steps branched at once (bounds the memory of the node tables)
BNB_MAX_NODES: Final = 512  # LP nodes per step before a step is left to the exact optimizer
BNB_MAX_DEPTH: Final = 40


@dataclass
class _Plan:
    """One facility's knapsack over the steps: its items and their gains, the best plan found
    (units per item) with its value, and an upper bound on the optimum's value."""

    items: _Items
    gain: FloatArray  # [T, m] USD/h per unit of each item
    order: IntArray  # [T, m] items by value per watt, best first
    budget: float  # watts above the idle floor
    pool_n: IntArray  # GPUs per local pool (and a spare column of 0)
    taken: IntArray  # [T, m]
    value: FloatArray
    bound: FloatArray

    def write(self, model: FleetModel, out: Decision) -> None:
        items, taken = self.items, self.taken
        for k in range(items.m):
            o = int(items.owner[k])
            if items.kind[k] == 0:
                if items.pred[k] < 0:
                    out.mining_units[:, o] = taken[:, k]
                out.mining_w[:, o] += taken[:, k] * items.dp[k]
                out.mining_ths[:, o] += taken[:, k] * items.dh[k]
            else:
                out.spot_gpus[:, o] = taken[:, k]


def _lp(plan: _Plan, rows: IntArray, lo: IntArray, hi: IntArray) -> tuple[FloatArray, FloatArray, IntArray]:
    """LP relaxations of the nodes (one per row of lo/hi, for steps `rows`): the greedy on value
    per watt from the lower bounds up, fractional at the end. Returns the values (-inf where
    infeasible), the solutions and the first fractional item in value order (-1: integral)."""
    items = plan.items
    n, m = lo.shape
    r = np.arange(n)
    order, gain = plan.order[rows], plan.gain[rows]
    x = lo.astype(np.float64)
    used = np.zeros((n, len(plan.pool_n)))
    for k in np.flatnonzero(items.gpus > 0):
        used[:, items.pool[k]] += lo[:, k] * items.gpus[k]
    free = plan.pool_n - used
    left = plan.budget - lo @ items.dp
    feasible = (left >= -1e-7) & (free >= -1e-9).all(axis=1) & (lo <= hi).all(axis=1)
    for pos in range(m):
        it = order[:, pos]
        g = gain[r, it]
        dp, per, pred = items.dp[it], items.gpus[it], items.pred[it]
        room = np.minimum(hi[r, it] - x[r, it],
                          np.where(pred >= 0, x[r, np.maximum(pred, 0)] - x[r, it], np.inf))
        room = np.minimum(room, np.where(per > 0, free[r, items.pool[it]] / np.maximum(per, 1), np.inf))
        with np.errstate(divide="ignore", invalid="ignore"):
            room = np.minimum(room, np.where(dp > 0, np.maximum(left, 0.0) / np.where(dp > 0, dp, 1.0), np.inf))
        a = np.where(g > 0, np.clip(room, 0.0, None), 0.0)
        x[r, it] += a
        left -= a * dp
        free[r, items.pool[it]] -= a * per
    value = np.where(feasible, (x * np.where(np.isfinite(gain), gain, 0.0)).sum(axis=1), -np.inf)
    in_order = x[r[:, None], order]
    fractional = np.abs(in_order - np.round(in_order)) > 1e-9
    first = np.argmax(fractional, axis=1)
    return value, x, np.where(fractional.any(axis=1), order[r, first], -1)


def _branch_and_bound(plan: _Plan, rows: IntArray, target: FloatArray) -> None:
    """Prove each step's plan within `target` of the facility's optimum, or find a better one.

    Nodes bound item counts ([lo, hi]); a node closes when its LP relaxation is integral (a
    plan: the incumbent if better), infeasible, or within `target` of the incumbent. A step
    whose nodes run past the budget keeps its old bound (the exact optimizer takes it).
    """
    if not len(rows):
        return
    items = plan.items
    m = items.m
    chained = np.flatnonzero(items.pred >= 0)
    incumbent = plan.value[rows].copy()
    best = plan.taken[rows].copy()
    proven = incumbent.copy()  # the largest bound of any closed node
    n_rows = len(rows)
    failed = np.zeros(n_rows, dtype=bool)
    spent = np.zeros(n_rows, dtype=np.int64)
    node = np.arange(n_rows)
    lo = np.zeros((n_rows, m), dtype=np.int64)
    hi = np.tile(items.size, (n_rows, 1))
    for depth in range(BNB_MAX_DEPTH + 1):
        if not len(node):
            break
        value, x, frac = _lp(plan, rows[node], lo, hi)
        integral = np.isfinite(value) & (frac < 0)
        leaves = np.flatnonzero(integral)
        if len(leaves):
            ranked = leaves[np.argsort(value[leaves], kind="stable")]  # the best of a step written last
            gains = ranked[value[ranked] > incumbent[node[ranked]] + 1e-12]
            incumbent[node[gains]] = value[gains]
            best[node[gains]] = np.round(x[gains]).astype(np.int64)
            np.maximum.at(proven, node[leaves], value[leaves])
        live = np.isfinite(value) & ~integral
        open_ = live & (value > incumbent[node] + target[node] + 1e-12)
        closed = np.flatnonzero(live & ~open_)
        np.maximum.at(proven, node[closed], value[closed])
        spent += np.bincount(node, minlength=n_rows)
        failed |= np.bincount(node[open_], minlength=n_rows).astype(bool) & (
            (spent > BNB_MAX_NODES) | (depth == BNB_MAX_DEPTH))
        branch = np.flatnonzero(open_ & ~failed[node])
        if not len(branch):
            break
        k = frac[branch]
        r = np.arange(len(branch))
        cut = np.floor(x[branch, k]).astype(np.int64)
        lo_down, hi_down = lo[branch], hi[branch].copy()
        hi_down[r, k] = cut
        for c in chained:  # a step of a hull needs the one before it: caps flow up the chain
            hi_down[:, c] = np.minimum(hi_down[:, c], hi_down[:, items.pred[c]])
        lo_up, hi_up = lo[branch].copy(), hi[branch]
        lo_up[r, k] = cut + 1
        for c in chained[::-1]:  # ... and floors flow down it
            lo_up[:, items.pred[c]] = np.maximum(lo_up[:, items.pred[c]], lo_up[:, c])
        node = np.concatenate([node[branch], node[branch]])
        lo, hi = np.vstack([lo_down, lo_up]), np.vstack([hi_down, hi_up])
    plan.taken[rows] = best
    plan.value[rows] = incumbent
    plan.bound[rows] = np.where(failed, np.maximum(plan.bound[rows], incumbent), np.maximum(proven, incumbent))


def _greedy(model: FleetModel, market: _Market, f: int, items: _Items, variants: int, budget: float,
            pool_free: IntArray) -> _Plan:
    """Facility f's plan by the greedy and its repairs, with an upper bound on its optimum, on
    `budget` watts above the idle floor and `pool_free` GPUs per pool (what the contracts leave)."""
    steps, m = len(market.usd_per_th_hour), items.m
    e = market.usd_per_wh[:, f]
    gain = np.empty((steps, m))
    for k in range(m):
        o = int(items.owner[k])
        if items.kind[k] == 0:
            gain[:, k] = items.dh[k] * market.usd_per_th_hour - items.dp[k] * e
        else:
            spot = market.spot_usd_per_hour[:, o]
            gain[:, k] = np.where(np.isnan(spot), -np.inf, spot - items.dp[k] * e)
    dp = items.dp
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(dp > 0, gain / np.where(dp > 0, dp, 1.0), np.where(gain > 0, np.inf, -np.inf))
    order = np.argsort(-ratio, axis=1, kind="stable")

    pool_n = np.array([int(pool_free[qi]) for qi in items.pools] + [0], dtype=np.int64)
    best = _Fill(np.zeros((steps, m), dtype=np.int64), np.full(steps, budget), np.tile(pool_n, (steps, 1)))
    critical, bound = _fill_up(items, best, order, gain, ratio)
    best_value = _value(best, gain)
    # Repairs, only where power cut an item short (elsewhere the greedy is optimal).
    sub = np.flatnonzero(critical < m)
    if len(sub) and variants:
        sub_rows, order_s, gain_s = np.arange(len(sub)), order[sub], gain[sub]
        base = _Fill(best.taken[sub], best.left[sub], best.free[sub])
        kept, kept_value = base.copy(), best_value[sub]
        for j in range(variants):
            pos = critical[sub] + j
            tried = pos < m
            if not tried.any():
                break
            it = order_s[sub_rows, np.minimum(pos, m - 1)]
            tried &= (gain_s[sub_rows, it] > 0) & (_room(items, base, sub_rows, it) > 0)
            if not tried.any():
                continue
            trial = base.copy()
            _add(items, trial, sub_rows, it, tried.astype(np.int64))
            _shed(items, trial, order_s, np.where(tried, it, -1))
            _fill_up(items, trial, order_s, gain_s)
            trial_value = _value(trial, gain_s)
            better = tried & (trial.left >= -1e-7) & (trial_value > kept_value + 1e-9)
            kept.taken[better], kept.left[better], kept.free[better] = \
                trial.taken[better], trial.left[better], trial.free[better]
            kept_value = np.where(better, trial_value, kept_value)
        best.taken[sub], best.left[sub], best.free[sub] = kept.taken, kept.left, kept.free
        best_value[sub] = kept_value

    return _Plan(items=items, gain=gain, order=order, budget=budget, pool_n=pool_n, taken=best.taken,
                 value=best_value, bound=np.fmax(bound, best_value))


def _fixed_gangs(model: FleetModel) -> tuple[BoolArray, FloatArray, IntArray]:
    """Contracted work first, dearest first, as GPUs and power allow with every ASIC curtailed:
    which gangs run (at every step, in every strategy: they are commitments), the power left per
    facility above the idle floor, free GPUs per pool."""
    left = model.cap_w - model.idle_floor_w
    free = np.array([q.n for q in model.pools], dtype=np.int64)
    placed = np.zeros(len(model.gangs), dtype=bool)
    for j in sorted(range(len(model.gangs)), key=lambda j: -model.gangs[j].price_usd_per_gpu_hour):
        g = model.gangs[j]
        q = model.pools[g.pool]
        need = g.gpu_count * q.extra_w
        if free[g.pool] >= g.gpu_count and need <= left[q.facility] + 1e-7:
            placed[j] = True
            free[g.pool] -= g.gpu_count
            left[q.facility] -= need
    return placed, left, free


def _stock_fill(model: FleetModel, left: FloatArray) -> IntArray:
    """ASICs at stock power, most efficient (TH per watt) first, as many as the power left allows."""
    running = np.zeros(len(model.classes), dtype=np.int64)
    order = sorted(range(len(model.classes)),
                   key=lambda c: -model.classes[c].stock[1] / model.classes[c].stock[0])
    for c in order:
        cls = model.classes[c]
        p = cls.stock[0]
        k = min(cls.n, math.floor((left[cls.facility] + 1e-7) / p))
        running[c] = k
        left[cls.facility] -= k * p
    return running


def _decide_fixed(model: FleetModel, market: _Market, *, spot: bool) -> Decision:
    """mine-always (spot=False) and ai-first (spot=True): the same mix at every step."""
    steps = len(market.usd_per_th_hour)
    placed, left, free = _fixed_gangs(model)
    spot_gpus = np.zeros(len(model.pools), dtype=np.int64)
    if spot:
        for qi in sorted(range(len(model.pools)), key=lambda qi: -model.pools[qi].power_w):
            q = model.pools[qi]
            if np.isnan(market.spot_usd_per_hour[:, qi]).all():
                continue  # no spot market for this model: the GPU idles
            fit = int(free[qi])
            if q.extra_w > 0:
                fit = min(fit, math.floor((left[q.facility] + 1e-7) / q.extra_w))
            spot_gpus[qi] = fit
            left[q.facility] -= fit * q.extra_w
    running = _stock_fill(model, left)
    d = Decision.empty(model, steps)
    stock = np.array([c.stock for c in model.classes]).reshape(-1, 2)
    d.mining_units[:] = running
    d.mining_w[:] = running * stock[:, 0]
    d.mining_ths[:] = running * stock[:, 1]
    has_spot = ~np.isnan(market.spot_usd_per_hour)
    d.spot_gpus[:] = np.where(has_spot, spot_gpus, 0)
    d.placed[:] = placed
    return d


def _decide_threshold(model: FleetModel, market: _Market, threshold_usd_per_mwh: float) -> Decision:
    """mine-always, except that a facility's ASICs all curtail while its power costs more than
    the strike price."""
    d = _decide_fixed(model, market, spot=False)
    facility = np.array([c.facility for c in model.classes], dtype=np.int64)
    on = market.usd_per_wh[:, facility] * 1e6 <= threshold_usd_per_mwh
    d.mining_units = np.where(on, d.mining_units, 0)
    d.mining_w = np.where(on, d.mining_w, 0.0)
    d.mining_ths = np.where(on, d.mining_ths, 0.0)
    return d


def exact_request(model: FleetModel, prices: PriceHistory, k: int) -> OptimizeRequest:
    """Step k as a `POST /economics/optimize` request.

    Contracted workloads are pinned to their pool by naming each pool's model apart
    (`H100#0`, `H100#3`) and sent as committed work: the optimizer then solves exactly the
    problem the fast path solves. Only the contracts `_fixed_gangs` places go: the others cannot
    run (their facility's power cannot hold them beside the dearer ones), and offering them
    would let the optimizer trade a placed contract for a larger one, which no strategy does.
    """
    pool_model = [f"{q.model}#{qi}" for qi, q in enumerate(model.pools)]
    units = [u if u.kind == "asic" else u.model_copy(update={"model": pool_model[model.unit_pool[u.id]]})
             for u in model.units]
    return _exact_request(model, prices, k, units, pool_model, _fixed_gangs(model)[0])


def _exact_request(model: FleetModel, prices: PriceHistory, k: int, units: list[UnitIn],
                   pool_model: list[str], placed: BoolArray) -> OptimizeRequest:
    spot = {pool_model[qi]: float(prices.gpu_spot_usd_per_hour[q.model][k])
            for qi, q in enumerate(model.pools) if q.model in prices.gpu_spot_usd_per_hour}
    return OptimizeRequest.model_construct(
        btc_usd=float(prices.btc_usd[k]), network_difficulty=float(prices.network_difficulty[k]),
        fees_btc_per_block=float(prices.fees_btc_per_block[k]),
        facilities=[FacilityIn.model_construct(id=fid, power_cap_kw=float(model.cap_w[f]) / 1000,
                                               electricity_usd_per_mwh=float(prices.electricity_usd_per_mwh[
                                                   model.market_nodes[f]][k]))
                    for f, fid in enumerate(model.facility_ids)],
        units=units,
        workloads=[WorkloadIn.model_construct(id=g.workload_id, gpu_model=pool_model[g.pool], gpu_count=g.gpu_count,
                                              price_usd_per_gpu_hour=g.price_usd_per_gpu_hour, committed=True)
                   for j, g in enumerate(model.gangs) if placed[j]],
        gpu_spot_usd_per_hour=spot,
    )


def _decide_exact(model: FleetModel, prices: PriceHistory, rows: Sequence[int],
                  tick: Callable[[int], None] | None = None) -> Decision:
    """`hcp.economics.optimizer.optimize` on every step (slow: for small fleets and short periods)."""
    pool_model = [f"{q.model}#{qi}" for qi, q in enumerate(model.pools)]
    units = [u if u.kind == "asic" else u.model_copy(update={"model": pool_model[model.unit_pool[u.id]]})
             for u in model.units]
    gang_index = {g.workload_id: j for j, g in enumerate(model.gangs)}
    placed = _fixed_gangs(model)[0]
    d = Decision.empty(model, len(rows))
    for t, k in enumerate(rows):
        plan = optimize(_exact_request(model, prices, k, units, pool_model, placed))
        for a in plan.assignments:
            if a.mode == "mining":
                c = model.unit_class[a.unit_id]
                d.mining_units[t, c] += 1
                d.mining_w[t, c] += a.power_w
                d.mining_ths[t, c] += a.hashrate_ths or 0.0
            elif a.mode == "spot":
                d.spot_gpus[t, model.unit_pool[a.unit_id]] += 1
            elif a.mode == "workload" and a.workload_id is not None:
                d.placed[t, gang_index[a.workload_id]] = True
        if tick is not None:
            tick(t + 1)
    return d


# --------------------------------------------------------------------------------------------------
# Outcomes


@dataclass
class Outcome:
    """One strategy over the steps: per-step arrays (USD and MWh of the step, W and counts at it)."""

    strategy: str
    mining_usd: FloatArray
    ai_usd: FloatArray  # contracted workloads
    spot_usd: FloatArray
    energy_usd: FloatArray
    energy_mwh: FloatArray
    power_w: dict[str, FloatArray]  # by mode: mining, workload, spot, idle
    facility_power_w: FloatArray  # [T, facilities]
    curtailed_asics: IntArray
    switches: IntArray  # units that changed mode since the previous step
    decision: Decision
    asic_starts: IntArray  # ASICs that went from curtailed to mining at the step
    asic_stops: IntArray
    gpu_switches: IntArray  # GPUs that changed role (a workload, spot, idle)
    switching_usd: FloatArray  # revenue the step's switches lose while they happen
    shortfall_gpu_h: FloatArray  # contracted GPU-hours not delivered at the step
    shortfall_usd: FloatArray  # ... at their contract price
    exact_steps: int = 0  # steps the exact optimizer decided (hybrid)

    @property
    def profit_usd(self) -> FloatArray:
        result: FloatArray = self.mining_usd + self.ai_usd + self.spot_usd - self.energy_usd
        return result

    @property
    def profit_after_switching_usd(self) -> FloatArray:
        result: FloatArray = self.profit_usd - self.switching_usd
        return result

    def summary(self, dt_h: FloatArray) -> StrategySummary:
        revenue = RevenueBySource(
            mining=_usd(self.mining_usd.sum()), ai_contracted=_usd(self.ai_usd.sum()),
            spot=_usd(self.spot_usd.sum()),
            total=_usd(self.mining_usd.sum() + self.ai_usd.sum() + self.spot_usd.sum()))
        total_w = self.facility_power_w.sum(axis=1)
        return StrategySummary(
            strategy=self.strategy, profit_usd=_usd(self.profit_usd.sum()),
            profit_after_switching_usd=_usd(self.profit_after_switching_usd.sum()),
            switching_cost_usd=_usd(self.switching_usd.sum()), revenue_usd=revenue,
            energy_cost_usd=_usd(self.energy_usd.sum()), energy_mwh=round(float(self.energy_mwh.sum()), 4),
            mean_power_kw=round(float((total_w * dt_h).sum() / dt_h.sum()) / 1000, 4),
            peak_power_kw=round(float(total_w.max()) / 1000, 4),
            curtailed_asic_hours=round(float((self.curtailed_asics * dt_h).sum()), 3),
            hours_with_curtailment=round(float(dt_h[self.curtailed_asics > 0].sum()), 3),
            switches=int(self.switches.sum()), asic_starts=int(self.asic_starts.sum()),
            asic_stops=int(self.asic_stops.sum()), gpu_switches=int(self.gpu_switches.sum()),
            slo_shortfall_gpu_hours=round(float(self.shortfall_gpu_h.sum()), 3),
            slo_shortfall_usd=_usd(self.shortfall_usd.sum()),
        )


def _usd(x: float | np.floating[Any]) -> float:
    return round(float(x), 2)


def _state_changes(counts: IntArray) -> IntArray:
    """Fewest units that must change state between consecutive steps, given how many of a group of
    interchangeable units are in each state ([T, states]): a dispatcher keeps a unit where it is
    when it can, so only the net inflow into each state moves."""
    moved = np.maximum(np.diff(counts, axis=0), 0).sum(axis=1)
    return np.concatenate([[0], moved]).astype(np.int64)


def _entering(counts: IntArray) -> IntArray:
    """Units entering a state at each step, from how many are in it ([T]; none at the first step):
    `_state_changes` by the state they go to, which is what prices a switch."""
    moved: IntArray = np.zeros(len(counts), dtype=np.int64)
    np.maximum(np.diff(counts), 0, out=moved[1:])
    return moved


def _busy_gpus(model: FleetModel, decision: Decision) -> IntArray:
    """GPUs running contracted work, per step and pool."""
    busy = np.zeros(decision.spot_gpus.shape, dtype=np.int64)
    for j, g in enumerate(model.gangs):
        busy[:, g.pool] += decision.placed[:, j] * g.gpu_count
    return busy


def _facility_power(model: FleetModel, decision: Decision, busy: IntArray) -> FloatArray:
    """Watts each facility draws at each step ([T, facilities]): mining, GPUs at work, GPUs idle."""
    steps = len(decision.mining_w)
    pool_fac = np.array([q.facility for q in model.pools], dtype=np.int64)
    pool_power = np.array([q.power_w for q in model.pools])
    pool_idle = np.array([q.idle_power_w for q in model.pools])
    idle = np.array([q.n for q in model.pools], dtype=np.int64) - busy - decision.spot_gpus
    class_fac = np.array([c.facility for c in model.classes], dtype=np.int64)
    fac_power = np.zeros((steps, len(model.facility_ids)))
    for f in range(len(model.facility_ids)):
        fac_power[:, f] = (decision.mining_w[:, class_fac == f].sum(axis=1)
                           + (busy + decision.spot_gpus)[:, pool_fac == f] @ pool_power[pool_fac == f]
                           + idle[:, pool_fac == f] @ pool_idle[pool_fac == f])
    return fac_power


def evaluate(model: FleetModel, prices: PriceHistory, decision: Decision, strategy: str,
             rows: slice = slice(None), *, asic_ramp_s: float = ASIC_RAMP_S,
             gpu_switch_s: float = GPU_SWITCH_S) -> Outcome:
    """Price a decision: revenue by source, energy, curtailment, switches and what they cost, and
    the contracted work it does not deliver, per step.

    An ASIC start loses `asic_ramp_s` of the revenue of the point it starts at, at the step's
    hashprice; a GPU entering a role (a workload, spot) loses `gpu_switch_s` of that role's price
    (idle earns nothing, so entering it costs nothing). Stops are free: their cost is the start
    that ends them.
    """
    market = _Market.of(model, prices, rows)
    dt = prices.dt_h[rows]
    steps = len(dt)
    n_pool = len(model.pools)
    pool_power = np.array([q.power_w for q in model.pools])
    pool_idle = np.array([q.idle_power_w for q in model.pools])
    pool_size = np.array([q.n for q in model.pools], dtype=np.int64)
    gang_pool = np.array([g.pool for g in model.gangs], dtype=np.int64)
    gang_gpus = np.array([g.gpu_count for g in model.gangs], dtype=np.int64)
    gang_price = np.array([g.price_usd_per_gpu_hour for g in model.gangs])

    busy = _busy_gpus(model, decision)
    if ((busy + decision.spot_gpus) > pool_size).any():
        raise RuntimeError(f"{strategy}: a pool was given more GPUs than it has")
    idle = pool_size - busy - decision.spot_gpus

    mining_w = decision.mining_w.sum(axis=1)
    workload_w = busy @ pool_power if n_pool else np.zeros(steps)
    spot_w = decision.spot_gpus @ pool_power if n_pool else np.zeros(steps)
    idle_w = idle @ pool_idle if n_pool else np.zeros(steps)

    fac_power = _facility_power(model, decision, busy)
    over = fac_power > model.cap_w + CAP_TOLERANCE_W
    if over.any():
        k, f = np.argwhere(over)[0]
        raise RuntimeError(f"{strategy}: {model.facility_ids[f]} draws {fac_power[k, f]:.1f} W over its cap "
                           f"{model.cap_w[f]:.1f} W at step {k}")

    spot_price = np.nan_to_num(market.spot_usd_per_hour)
    spot_usd = (decision.spot_gpus * spot_price).sum(axis=1) * dt
    gang_usd_h = gang_gpus * gang_price
    ai_usd = (decision.placed @ gang_usd_h if len(model.gangs) else np.zeros(steps)) * dt
    mining_usd = decision.mining_ths.sum(axis=1) * market.usd_per_th_hour * dt
    energy_usd = (fac_power * market.usd_per_wh).sum(axis=1) * dt
    energy_mwh = fac_power.sum(axis=1) * dt / 1e6
    missing = ~decision.placed
    shortfall_gpu_h = (missing @ gang_gpus if len(model.gangs) else np.zeros(steps)) * dt
    shortfall_usd = (missing @ gang_usd_h if len(model.gangs) else np.zeros(steps)) * dt

    class_size = np.array([c.n for c in model.classes], dtype=np.int64)
    curtailed = (class_size - decision.mining_units).sum(axis=1)
    asic_starts, asic_stops = np.zeros(steps, dtype=np.int64), np.zeros(steps, dtype=np.int64)
    started_ths = np.zeros(steps)  # TH/s that start, at the point each starts at
    for c in range(len(model.classes)):
        running = decision.mining_units[:, c]
        starts = _entering(running)
        asic_starts += starts
        asic_stops += _entering(class_size[c] - running)
        started_ths += starts * decision.mining_ths[:, c] / np.maximum(running, 1)
    switching_usd = started_ths * market.usd_per_th_hour * (asic_ramp_s / 3600)
    gpu_switches = np.zeros(steps, dtype=np.int64)
    entered_usd_h = np.zeros(steps)  # what the GPUs entering a role earn there per hour
    for qi in range(n_pool):
        spot_in = _entering(decision.spot_gpus[:, qi])
        gpu_switches += spot_in + _entering(idle[:, qi])  # entering idle costs nothing: it earns nothing
        entered_usd_h += spot_in * spot_price[:, qi]
        for j in np.flatnonzero(gang_pool == qi).tolist():
            gang_in = _entering(decision.placed[:, j].astype(np.int64) * gang_gpus[j])
            gpu_switches += gang_in
            entered_usd_h += gang_in * gang_price[j]
    switching_usd += entered_usd_h * (gpu_switch_s / 3600)
    return Outcome(strategy=strategy, mining_usd=mining_usd, ai_usd=ai_usd, spot_usd=spot_usd,
                   energy_usd=energy_usd, energy_mwh=energy_mwh,
                   power_w={"mining": mining_w, "workload": workload_w, "spot": spot_w, "idle": idle_w},
                   facility_power_w=fac_power, curtailed_asics=curtailed.astype(np.int64),
                   # a class's units only start or stop, a pool's GPUs move between roles: the
                   # same count as `_state_changes` over each group's states
                   switches=asic_starts + asic_stops + gpu_switches, decision=decision,
                   asic_starts=asic_starts, asic_stops=asic_stops, gpu_switches=gpu_switches,
                   switching_usd=switching_usd, shortfall_gpu_h=shortfall_gpu_h, shortfall_usd=shortfall_usd)


# --------------------------------------------------------------------------------------------------
# Hybrid's switching pass


@dataclass
class _Column:
    """One ASIC class or one pool's spot GPUs of a facility, as the switching pass reads them:
    the per-step optimum and prefix sums (USD) over it."""

    target: tuple[str, int]  # ("asic", class) or ("spot", pool)
    n: IntArray  # units on, as the per-step optimum has them
    a: FloatArray  # what earns: TH/s (ASICs) or GPUs (spot)
    w: FloatArray  # watts above the idle floor
    earn: FloatArray  # prefix sums of the price of one unit of `a` times the step's hours
    value: FloatArray  # prefix sums of the optimum's value (earnings less power) times hours
    switching: FloatArray  # prefix sums of what the optimum's starts cost
    rate: FloatArray  # what one unit started at the step costs
    room: IntArray | None  # the most units the step allows (spot: the pool's GPUs not busy)


def _prefix(x: FloatArray) -> FloatArray:
    result: FloatArray = np.concatenate([[0.0], np.cumsum(x)])
    return result


def _started(n: IntArray, rate: FloatArray) -> FloatArray:
    """What the starts between consecutive steps cost (none at the first step)."""
    result: FloatArray = _entering(n) * rate
    return result


def _hold(model: FleetModel, prices: PriceHistory, d: Decision, *, asic_ramp_s: float, gpu_switch_s: float,
          min_dwell_s: float) -> Decision:
    """Hybrid with switching priced: keep a class's previous count (ASICs mining, or a pool's
    GPUs on spot) where following the per-step optimum would gain less than the starts it adds.

    At step k, with the column at count s and the optimum at r[k] != s, compare over the window
    [k, e) that ends `min_dwell_s` later (at least one step): (A) follow the optimum from k, or
    (B) hold s until e, then follow. A gains the optimum's value over s's in the window, and
    pays the starts of s -> r[k] and the optimum's within the window; B pays s -> r[e]. Hold
    where A's gain is below the starts it adds, and only then: with nothing to save, the
    optimum stands. A one-step blip adds a whole round trip, so it is held unless it pays for
    the ramp; a lasting change adds none (its start comes either way) and goes through.

    Columns of a facility share its cap: a hold that would break it at that step is not taken
    (the optimum is followed there), nor one that needs more GPUs than the contracts leave.
    """
    steps = len(prices)
    if steps < 2 or (asic_ramp_s <= 0 and gpu_switch_s <= 0):
        return d
    market = _Market.of(model, prices)
    dt, ts = prices.dt_h, prices.ts_s
    end = np.maximum(np.searchsorted(ts, ts + min_dwell_s, side="left"), np.arange(1, steps + 1))
    hp = market.usd_per_th_hour
    hp_earn = _prefix(hp * dt)
    busy = _busy_gpus(model, d)
    fac_power = _facility_power(model, d, busy)

    def changes(n: IntArray) -> bool:
        return bool((n[1:] != n[:-1]).any())

    for f in range(len(model.facility_ids)):
        e_f = market.usd_per_wh[:, f]
        cols: list[_Column] = []  # only what the optimum changes: the rest has nothing to hold
        for c, cls in enumerate(model.classes):
            n = d.mining_units[:, c]
            if cls.facility != f or not changes(n):
                continue
            ths, w = d.mining_ths[:, c], d.mining_w[:, c]
            rate = np.where(n > 0, ths / np.maximum(n, 1), 0.0) * hp * (asic_ramp_s / 3600)
            cols.append(_Column(("asic", c), n, ths, w, hp_earn, _prefix((ths * hp - w * e_f) * dt),
                                _prefix(_started(n, rate)), rate, None))
        for qi, q in enumerate(model.pools):
            n = d.spot_gpus[:, qi]
            if q.facility != f or not changes(n):
                continue
            spot = market.spot_usd_per_hour[:, qi]
            price = np.nan_to_num(spot)
            rate = price * (gpu_switch_s / 3600)
            room = np.where(np.isnan(spot), 0, q.n - busy[:, qi])
            cols.append(_Column(("spot", qi), n, n.astype(np.float64), n * np.float64(q.extra_w), _prefix(price * dt),
                                _prefix(n * (price - q.extra_w * e_f) * dt), _prefix(_started(n, rate)), rate, room))
        if not cols:
            continue
        counts = np.column_stack([c.n for c in cols])
        events: list[int] = (np.flatnonzero((counts[1:] != counts[:-1]).any(axis=1)) + 1).tolist()
        power = fac_power[:, f]
        cap = float(model.cap_w[f]) + CAP_TOLERANCE_W
        energy = _prefix(e_f * dt)
        held: dict[int, tuple[int, float, float]] = {}
        kept: list[tuple[int, int, int, float, float]] = []
        i, k = 0, (events[0] if events else steps)
        while k < steps:
            added_w = 0.0  # what this step's holds so far add to the optimum's draw
            for ci, col in enumerate(cols):
                rn = int(col.n[k])
                was = held.get(ci)
                if was is None:
                    if col.n[k - 1] == rn:
                        continue
                    was = (int(col.n[k - 1]), float(col.a[k - 1]), float(col.w[k - 1]))
                if was[0] == rn:
                    held.pop(ci, None)
                    continue
                e = int(end[k])
                gain = float(col.value[e] - col.value[k] - was[1] * (col.earn[e] - col.earn[k])
                             + was[2] * (energy[e] - energy[k]))
                adds = float(max(rn - was[0], 0) * col.rate[k] + col.switching[min(e, steps - 1) + 1]
                             - col.switching[k + 1])
                if e < steps:
                    adds -= float(max(col.n[e] - was[0], 0) * col.rate[e])
                delta = was[2] - float(col.w[k])
                if (adds > 1e-12 and gain < adds and power[k] + added_w + delta <= cap
                        and (col.room is None or was[0] <= col.room[k])):
                    held[ci] = was
                    added_w += delta
                    kept.append((k, ci, *was))
                else:
                    held.pop(ci, None)
            if held:
                k += 1
            else:
                while i < len(events) and events[i] <= k:
                    i += 1
                k = events[i] if i < len(events) else steps
        for k, ci, n_on, earning, watts in kept:
            kind, o = cols[ci].target
            if kind == "asic":
                d.mining_units[k, o], d.mining_ths[k, o], d.mining_w[k, o] = n_on, earning, watts
            else:
                d.spot_gpus[k, o] = n_on
    return d


def break_even_usd_per_mwh(model: FleetModel, hashprice_usd_per_th_day: float) -> float | None:
    """The fleet's break-even power price at stock settings (None without ASICs)."""
    power = sum(c.n * c.stock[0] for c in model.classes)
    if power <= 0:
        return None
    hashrate = sum(c.n * c.stock[1] for c in model.classes)
    return hashrate * hashprice_usd_per_th_day / 24.0 * 1e6 / power


SINGLE_MODE: Final = ("mine-always", "ai-first", "price-threshold")


@dataclass
class BacktestResult:
    prices: PriceHistory
    model: FleetModel
    outcomes: list[Outcome]
    threshold_usd_per_mwh: float | None
    exact: bool
    elapsed_s: float
    asic_ramp_s: float = ASIC_RAMP_S
    gpu_switch_s: float = GPU_SWITCH_S
    min_dwell_s: float = MIN_DWELL_S

    def summaries(self) -> list[StrategySummary]:
        return [o.summary(self.prices.dt_h) for o in self.outcomes]

    def notes(self) -> list[str]:
        """What a reader of the table must know: contracts the fleet cannot run, and any
        single-mode strategy that beat hybrid after switching costs on this price path."""
        notes: list[str] = []
        summaries = {s.strategy: s for s in self.summaries()}
        placed = _fixed_gangs(self.model)[0]
        cannot = [g for g, ok in zip(self.model.gangs, placed, strict=True) if not ok]
        if cannot:
            hours = float(self.prices.dt_h.sum())
            names = ", ".join(g.workload_id for g in cannot)
            gpu_h = sum(g.gpu_count for g in cannot) * hours
            notes.append(f"Contracted workload(s) {names} cannot run: with every ASIC curtailed, their facility's "
                         f"power cap still cannot hold them beside the dearer contracts. Every strategy misses "
                         f"them: {gpu_h:,.0f} GPU-hours of SLO shortfall.")
        hybrid = summaries.get("hybrid")
        if hybrid is None:
            return notes
        explained = sum(g.gpu_count for g in cannot) * float(self.prices.dt_h.sum())
        if hybrid.slo_shortfall_gpu_hours > explained + 1e-6:
            notes.append(f"hybrid missed {hybrid.slo_shortfall_gpu_hours - explained:,.1f} GPU-hours of contracted "
                         "work the fleet could have run.")
        for name in SINGLE_MODE:
            other = summaries.get(name)
            if other is not None and other.profit_after_switching_usd > hybrid.profit_after_switching_usd:
                lead = other.profit_after_switching_usd - hybrid.profit_after_switching_usd
                notes.append(f"On this price path {name} beat hybrid by ${lead:,.2f} after switching costs "
                             f"(${other.profit_after_switching_usd:,.2f} against "
                             f"${hybrid.profit_after_switching_usd:,.2f}).")
        return notes


def check_seconds(field_name: str, value: float, most: float) -> None:
    """A duration parameter (a ramp, a switch, a dwell): finite, from 0 to `most` seconds."""
    if not (math.isfinite(value) and 0 <= value <= most):
        raise InvalidInput(field_name, f"{value!r} is not a number of seconds from 0 to {most:,.0f}")


def run_backtest(
    model: FleetModel, prices: PriceHistory, strategies: Sequence[str] = STRATEGIES, *,
    threshold_usd_per_mwh: float | None = None, exact: bool = False, progress: Progress | None = None,
    asic_ramp_s: float = ASIC_RAMP_S, gpu_switch_s: float = GPU_SWITCH_S, min_dwell_s: float = MIN_DWELL_S,
) -> BacktestResult:
    """Run each strategy over the whole history and price the outcome, switching included: an
    ASIC start loses `asic_ramp_s` of revenue, a GPU's change of role `gpu_switch_s`; hybrid
    weighs its changes against those over the next `min_dwell_s` (`_hold`)."""
    started = time.perf_counter()
    steps = len(prices)
    if steps == 0:
        raise InvalidInput("prices", "no price rows in the period")
    check_seconds("asic_ramp_s", asic_ramp_s, MAX_ASIC_RAMP_S)
    check_seconds("gpu_switch_s", gpu_switch_s, MAX_GPU_SWITCH_S)
    check_seconds("min_dwell_s", min_dwell_s, MAX_MIN_DWELL_S)
    threshold = threshold_usd_per_mwh
    if threshold is None:
        threshold = break_even_usd_per_mwh(model, float(prices.hashprice_usd_per_th_day[0]))
    outcomes = []
    for name in strategies:
        parts: list[Decision] = []
        exact_steps = 0
        for lo in range(0, steps, CHUNK_STEPS):
            rows = slice(lo, min(lo + CHUNK_STEPS, steps))
            if name == "hybrid" and exact:
                def tick(done: int, lo: int = lo, name: str = name) -> None:
                    if progress is not None:
                        progress(name, lo + done, steps)
                parts.append(_decide_exact(model, prices, range(rows.start, rows.stop), tick))
                exact_steps += rows.stop - rows.start
                continue
            market = _Market.of(model, prices, rows)
            if name == "hybrid":
                decision, unproven = _decide_hybrid(model, market)
                redo = np.flatnonzero(unproven)
                if len(redo):
                    decision.put(redo, _decide_exact(model, prices, (rows.start + redo).tolist()))
                exact_steps += len(redo)
                parts.append(decision)
            elif name == "mine-always":
                parts.append(_decide_fixed(model, market, spot=False))
            elif name == "ai-first":
                parts.append(_decide_fixed(model, market, spot=True))
            elif name == "price-threshold":
                parts.append(_decide_threshold(model, market, math.inf if threshold is None else threshold))
            else:
                raise ValueError(f"unknown strategy {name!r}; one of {', '.join(STRATEGIES)}")
            if progress is not None:
                progress(name, rows.stop, steps)
        decision = Decision.concat(parts)
        if name == "hybrid":
            decision = _hold(model, prices, decision, asic_ramp_s=asic_ramp_s, gpu_switch_s=gpu_switch_s,
                             min_dwell_s=min_dwell_s)
        outcome = evaluate(model, prices, decision, name, asic_ramp_s=asic_ramp_s, gpu_switch_s=gpu_switch_s)
        outcome.exact_steps = exact_steps
        outcomes.append(outcome)
    return BacktestResult(prices=prices, model=model, outcomes=outcomes, threshold_usd_per_mwh=threshold,
                          exact=exact, elapsed_s=time.perf_counter() - started, asic_ramp_s=asic_ramp_s,
                          gpu_switch_s=gpu_switch_s, min_dwell_s=min_dwell_s)


# --------------------------------------------------------------------------------------------------
# POST /economics/backtest


class RevenueBySource(BaseModel):
    mining: float
    ai_contracted: float
    spot: float
    total: float


class StrategySummary(BaseModel):
    strategy: str
    profit_usd: float = Field(description="revenue less energy, before switching costs")
    profit_after_switching_usd: float = Field(description="profit_usd less switching_cost_usd")
    switching_cost_usd: float = Field(
        description="revenue lost while units switch: each ASIC start's ramp at the hashprice of its step and "
                    "point, each GPU's switch at the price of the role it enters")
    revenue_usd: RevenueBySource
    energy_cost_usd: float
    energy_mwh: float
    mean_power_kw: float
    peak_power_kw: float
    curtailed_asic_hours: float = Field(description="ASIC-hours spent curtailed (by choice or for the cap)")
    hours_with_curtailment: float = Field(description="hours during which at least one ASIC was curtailed")
    switches: int = Field(description="unit mode changes between steps (mining/curtailed, workload/spot/idle)")
    asic_starts: int = Field(description="ASICs that went from curtailed to mining")
    asic_stops: int = Field(description="ASICs that went from mining to curtailed")
    gpu_switches: int = Field(description="GPUs that changed role (a workload, spot, idle)")
    slo_shortfall_gpu_hours: float = Field(description="contracted GPU-hours not delivered (a contract not running "
                                                       "at a step misses that step's hours)")
    slo_shortfall_usd: float = Field(description="those GPU-hours at their contract price")


class PriceRowIn(BaseModel):
    model_config = _STRICT
    ts: AwareDatetime
    btc_usd: float = Field(gt=0, le=100_000_000)
    network_difficulty: float = Field(gt=0)
    fees_btc_per_block: float = Field(0.0, ge=0, le=1_000)
    electricity_usd_per_mwh: dict[str, float] = Field(min_length=1, max_length=100)
    gpu_spot_usd_per_hour: dict[str, float] = Field(default_factory=dict, max_length=100)

    @field_validator("gpu_spot_usd_per_hour")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for model, price in value.items():
            if price < 0:
                raise ValueError(f"{model}: a spot price is >= 0")
        return value


class PricesIn(BaseModel):
    """Either the shipped synthetic year (`"sample"`, or `{"sample": true}`) or rows given inline."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": ["sample", {"rows": []}]})
    sample: bool = False
    rows: list[PriceRowIn] | None = Field(None, min_length=2, max_length=20_000)

    @model_validator(mode="before")
    @classmethod
    def _sample_by_name(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value != "sample":
                raise ValueError('expected "sample" or {"rows": [...]}')
            return {"sample": True}
        return value

    @model_validator(mode="after")
    def _one_source(self) -> PricesIn:
        if self.sample == (self.rows is not None):
            raise ValueError('give either "sample" or rows, not both or neither')
        return self


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)
    strategies: list[Strategy] = Field(default_factory=lambda: list(STRATEGIES), min_length=1, max_length=4)
    fleet: Fleet
    prices: PricesIn = Field(default_factory=lambda: PricesIn(sample=True),
                             description='"sample" (the shipped synthetic year) or {"rows": [...]}, each a market tick')
    from_: AwareDatetime | None = Field(None, alias="from")
    to: AwareDatetime | None = None
    threshold_usd_per_mwh: float | None = Field(
        None, ge=-1_000, le=20_000, description="price-threshold's strike price; default: the fleet's break-even")
    series_points: int = Field(0, ge=0, le=2_000, description="downsampled per-step series to return (0: none)")
    asic_ramp_s: float = Field(ASIC_RAMP_S, ge=0, le=MAX_ASIC_RAMP_S,
                               description="an ASIC start loses this many seconds of its revenue")
    gpu_switch_s: float = Field(GPU_SWITCH_S, ge=0, le=MAX_GPU_SWITCH_S,
                                description="a GPU's change of role loses this many seconds of its new role's price")
    min_dwell_s: float = Field(MIN_DWELL_S, ge=0, le=MAX_MIN_DWELL_S,
                               description="hybrid keeps a count unless changing it gains more over this many "
                                           "seconds than the switches it adds")


class Period(BaseModel):
    start: datetime
    end: datetime
    steps: int
    hours: float


class SeriesOut(BaseModel):
    ts: list[datetime]
    hashprice_usd_per_ph_day: list[float]
    electricity_usd_per_mwh: dict[str, list[float]]
    gpu_spot_usd_per_hour: dict[str, list[float]]
    power_kw: dict[str, dict[str, list[float]]] = Field(description="strategy -> mode -> mean kW per bucket")
    cumulative_profit_usd: dict[str, list[float]]


class BacktestResponse(BaseModel):
    period: Period
    prices_source: str
    synthetic_prices: bool
    threshold_usd_per_mwh: float | None
    strategies: list[StrategySummary]
    notes: list[str] = Field(default_factory=list, description="contracts the fleet cannot run; a single-mode "
                                                               "strategy that beat hybrid after switching costs")
    series: SeriesOut | None = None
    elapsed_ms: float


def prices_from_rows(rows: Sequence[PriceRowIn], *, field_prefix: str = "prices.rows") -> PriceHistory:
    nodes, models = list(rows[0].electricity_usd_per_mwh), list(rows[0].gpu_spot_usd_per_hour)
    ts = np.array([r.ts.timestamp() for r in rows])
    for k, r in enumerate(rows):
        if set(r.electricity_usd_per_mwh) != set(nodes):
            raise InvalidInput(f"{field_prefix}[{k}].electricity_usd_per_mwh", "names other nodes than row 0")
        if set(r.gpu_spot_usd_per_hour) != set(models):
            raise InvalidInput(f"{field_prefix}[{k}].gpu_spot_usd_per_hour", "names other GPU models than row 0")
        if k and ts[k] <= ts[k - 1]:
            raise InvalidInput(f"{field_prefix}[{k}].ts", "is not after the previous row's")
    return PriceHistory(
        ts_s=ts, dt_h=_durations_h(ts),
        btc_usd=np.array([r.btc_usd for r in rows]),
        network_difficulty=np.array([r.network_difficulty for r in rows]),
        fees_btc_per_block=np.array([r.fees_btc_per_block for r in rows]),
        electricity_usd_per_mwh={n: np.array([r.electricity_usd_per_mwh[n] for r in rows]) for n in nodes},
        gpu_spot_usd_per_hour={m: np.array([r.gpu_spot_usd_per_hour[m] for r in rows]) for m in models},
        source="inline", synthetic=False,
    )


def select_period(prices: PriceHistory, start: datetime | None, end: datetime | None, *,
                  start_field: str = "from", end_field: str = "to") -> PriceHistory:
    if start is not None and end is not None and end <= start:
        raise InvalidInput(end_field, "must be after the start of the period")
    chosen = prices.between(start, end)
    if len(chosen) == 0:
        raise InvalidInput(start_field if start is not None else end_field,
                           f"no price rows in the period (the history runs {prices.start():%Y-%m-%d %H:%M} "
                           f"to {prices.end():%Y-%m-%d %H:%M} UTC)")
    return chosen


def run_request(body: BacktestRequest) -> BacktestResponse:
    """The route's work, synchronous (the route runs it in a worker thread)."""
    from hcp.economics.report import series

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


__all__ = [
    "SAMPLE_FLEET", "SAMPLE_PRICES", "STRATEGIES", "BacktestRequest", "BacktestResponse", "BacktestResult",
    "Decision", "Fleet", "FleetFileError", "FleetModel", "Outcome", "PriceHistory", "StrategySummary",
    "break_even_usd_per_mwh", "build_model", "check_seconds", "evaluate", "exact_request", "fast_path",
    "history_from_ticks", "load_fleet",
    "load_prices", "prices_from_rows", "router", "run_backtest", "run_request", "sample_prices", "select_period",
    "simulated_ticks", "write_prices", "write_sample_prices",
]
