"""Market input: a price history as columns, read from a market CSV, from market ticks or from a
request's rows, and the shipped synthetic sample (written by the market simulator)."""

from __future__ import annotations

import csv
import gzip
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Protocol

import numpy as np

from hcp.core.errors import InvalidInput
from hcp.economics.backtest.defaults import (
    SAMPLE_FACILITIES,
    SAMPLE_PRICES,
    SAMPLE_SEED,
    SAMPLE_START,
    FloatArray,
)
from hcp.kernel.hashprice import BLOCK_SUBSIDY_BTC, BLOCKS_PER_DAY, HASHES_PER_DIFFICULTY, TARGET_BLOCK_TIME_S
from hcp.sim.market import MarketCsvError, MarketSimulator, MarketTick, write_csv

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


class Tick(Protocol):
    """The market at one instant, as the history reads it: a simulator's `MarketTick`, or a row of
    a request's prices."""

    @property
    def ts(self) -> datetime: ...
    @property
    def btc_usd(self) -> float: ...
    @property
    def network_difficulty(self) -> float: ...
    @property
    def fees_btc_per_block(self) -> float: ...
    @property
    def electricity_usd_per_mwh(self) -> Mapping[str, float]: ...
    @property
    def gpu_spot_usd_per_hour(self) -> Mapping[str, float]: ...


def history_from_ticks(ticks: Sequence[Tick], *, source: str = "market simulator",
                       synthetic: bool = True) -> PriceHistory:
    """Ticks as columns: the one place the backtest reads a market tick's fields (the nodes and
    GPU models are the first tick's)."""
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



def prices_from_rows(rows: Sequence[Tick], *, field_prefix: str = "prices.rows") -> PriceHistory:
    """A request's inline rows (`PriceRowIn`), checked to name the same nodes and models throughout
    and to go forward in time."""
    nodes, models = list(rows[0].electricity_usd_per_mwh), list(rows[0].gpu_spot_usd_per_hour)
    ts = np.array([r.ts.timestamp() for r in rows])
    for k, r in enumerate(rows):
        if set(r.electricity_usd_per_mwh) != set(nodes):
            raise InvalidInput(f"{field_prefix}[{k}].electricity_usd_per_mwh", "names other nodes than row 0")
        if set(r.gpu_spot_usd_per_hour) != set(models):
            raise InvalidInput(f"{field_prefix}[{k}].gpu_spot_usd_per_hour", "names other GPU models than row 0")
        if k and ts[k] <= ts[k - 1]:
            raise InvalidInput(f"{field_prefix}[{k}].ts", "is not after the previous row's")
    return history_from_ticks(rows, source="inline", synthetic=False)


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
