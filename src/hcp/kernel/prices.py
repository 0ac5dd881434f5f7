"""The market price CSV: one format, one reader and one writer, for simulated runs and backtests.

Columns: `ts` (ISO 8601 with a UTC offset or Z), `btc_usd`, `network_difficulty`,
`fees_btc_per_block`, then any number of `electricity_usd_per_mwh:<node>` and
`gpu_spot_usd_per_hour:<model>` (the market's series names). Plain, or gzipped when the name ends
in `.gz`. The reader checks the whole file; an error names the file, the line and the column.
"""

from __future__ import annotations

import csv
import gzip
import io
import shutil
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Final, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "CORE_COLUMNS",
    "ELECTRICITY_PREFIX",
    "GPU_SPOT_PREFIX",
    "MarketCsvError",
    "PriceRow",
    "PriceTable",
    "format_ts",
    "read_csv",
    "write_csv",
]

FloatArray = npt.NDArray[np.float64]

CORE_COLUMNS: Final = ("ts", "btc_usd", "network_difficulty", "fees_btc_per_block")
ELECTRICITY_PREFIX: Final = "electricity_usd_per_mwh:"
GPU_SPOT_PREFIX: Final = "gpu_spot_usd_per_hour:"


class MarketCsvError(ValueError):
    """A market CSV that cannot be read; the message names the file, line and column."""


class PriceRow(Protocol):
    """One row as the writer reads it: a simulator's `MarketTick`, or any object with these fields."""

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


@dataclass(frozen=True)
class PriceTable:
    """A market CSV as columns: row k of every array is the k-th data row of the file."""

    source: Path
    ts: tuple[datetime, ...]  # UTC
    ts_s: FloatArray  # the same instants, seconds since the epoch
    btc_usd: FloatArray
    network_difficulty: FloatArray
    fees_btc_per_block: FloatArray
    electricity_usd_per_mwh: dict[str, FloatArray]
    gpu_spot_usd_per_hour: dict[str, FloatArray]

    def __len__(self) -> int:
        return len(self.ts)


def format_ts(ts: datetime) -> str:
    """A timestamp as the file (and the market's events) write it: ISO 8601 in UTC, with Z."""
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------------------------------
# Writing


def write_csv(rows: Iterable[PriceRow], path: str | Path) -> int:
    """Write rows as a market CSV (floats in shortest round-trip form, so reading gives the same
    floats back); gzipped when the name ends in `.gz`, reproducibly (no name or time inside).
    Every row must name the nodes and GPU models of the first. Returns the rows written."""
    rows = list(rows)
    if not rows:
        raise ValueError("no ticks to write")
    path = Path(path)
    nodes = list(rows[0].electricity_usd_per_mwh)
    models = list(rows[0].gpu_spot_usd_per_hour)
    header = [
        *CORE_COLUMNS,
        *(ELECTRICITY_PREFIX + n for n in nodes),
        *(GPU_SPOT_PREFIX + m for m in models),
    ]
    if path.suffix != ".gz":
        with path.open("w", newline="", encoding="utf-8") as fh:
            _write_rows(fh, header, rows, nodes, models)
        return len(rows)
    text = io.StringIO(newline="")
    _write_rows(text, header, rows, nodes, models)
    # Copied in shutil's chunks, as the shipped sample was written: the same bytes come out.
    with io.BytesIO(text.getvalue().encode("utf-8")) as plain, path.open("wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as packed:
        shutil.copyfileobj(plain, packed)
    return len(rows)


def _write_rows(fh: IO[str], header: list[str], rows: Sequence[PriceRow], nodes: list[str],
                models: list[str]) -> None:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow(header)
    for k, row in enumerate(rows):
        if list(row.electricity_usd_per_mwh) != nodes or list(row.gpu_spot_usd_per_hour) != models:
            raise ValueError(f"tick {k} ({format_ts(row.ts)}) has other nodes or GPU models than tick 0")
        writer.writerow([
            format_ts(row.ts),
            repr(row.btc_usd),
            repr(row.network_difficulty),
            repr(row.fees_btc_per_block),
            *(repr(row.electricity_usd_per_mwh[n]) for n in nodes),
            *(repr(row.gpu_spot_usd_per_hour[m]) for m in models),
        ])


# --------------------------------------------------------------------------------------------------
# Reading


def read_csv(path: str | Path) -> PriceTable:
    """Read and check a market CSV, plain or gzipped (`.gz`).

    Columnar, so a year of 5-minute rows loads in well under a second. The first problem in the
    file (by line, then by column) is raised as a `MarketCsvError`; a file without data rows is one.
    """
    path = Path(path)
    header, rows, lines = _read_cells(path)

    def error(line: int, message: str) -> MarketCsvError:
        return MarketCsvError(f"{path}: line {line}: {message}")

    names = [h.strip() for h in header]
    nodes, models = _parse_header(names, lambda message: error(1, message))
    if not rows:
        raise MarketCsvError(f"{path}: no data rows after the header")
    width = len(names)
    short = next((k for k, row in enumerate(rows) if len(row) != width), len(rows))
    # Rows before a malformed one are checked first, so the error is always the file's first.
    checked = rows[:short]
    columns = list(zip(*checked, strict=True)) if checked else [() for _ in names]

    problems: list[tuple[int, str, str]] = []  # (row, column, message), in column order
    ts, ts_problem = _parse_timestamps(columns[names.index("ts")])
    if ts_problem is not None:
        problems.append((ts_problem[0], "ts", ts_problem[1]))
    values: dict[str, FloatArray] = {}
    bounds: list[tuple[str, float | None, bool]] = [
        ("btc_usd", 0.0, True), ("network_difficulty", 0.0, True), ("fees_btc_per_block", 0.0, False),
        *((ELECTRICITY_PREFIX + n, None, False) for n in nodes),
        *((GPU_SPOT_PREFIX + m, 0.0, False) for m in models),
    ]
    for name, minimum, strict in bounds:
        cells = columns[names.index(name)]
        values[name], problem = _parse_numbers(cells, minimum=minimum, strict=strict)
        if problem is not None:
            problems.append((problem[0], name, problem[1]))
    if problems:
        k, column, message = min(problems, key=lambda p: p[0])  # min() keeps the first of a tie
        raise error(lines[k], f"column {column!r}: {message}")
    if short < len(rows):
        raise error(lines[short], f"{len(rows[short])} fields, the header has {width}")

    return PriceTable(
        source=path,
        ts=tuple(ts),
        ts_s=np.array([t.timestamp() for t in ts]),
        btc_usd=values["btc_usd"],
        network_difficulty=values["network_difficulty"],
        fees_btc_per_block=values["fees_btc_per_block"],
        electricity_usd_per_mwh={n: values[ELECTRICITY_PREFIX + n] for n in nodes},
        gpu_spot_usd_per_hour={m: values[GPU_SPOT_PREFIX + m] for m in models},
    )


def _read_cells(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """The header, the non-blank rows and their line numbers."""
    try:
        fh: IO[str] = (gzip.open(path, "rt", newline="", encoding="utf-8") if path.suffix == ".gz"
                       else path.open(newline="", encoding="utf-8"))
    except OSError as exc:
        raise MarketCsvError(f"{path}: cannot open: {exc.strerror or exc}") from exc
    rows: list[list[str]] = []
    lines: list[int] = []
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
        except (UnicodeDecodeError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
            raise MarketCsvError(f"{path}: not a UTF-8 (or gzipped UTF-8) CSV: {exc}") from exc
    return header, rows, lines


def _parse_header(names: list[str], error: Callable[[str], MarketCsvError]) -> tuple[list[str], list[str]]:
    """The market nodes and GPU models the columns name, in file order."""
    seen: set[str] = set()
    nodes: list[str] = []
    models: list[str] = []
    for col, name in enumerate(names, start=1):
        if name in seen:
            raise error(f"column {col} {name!r} appears twice")
        seen.add(name)
        if name in CORE_COLUMNS:
            continue
        if name.startswith(ELECTRICITY_PREFIX) and name[len(ELECTRICITY_PREFIX):]:
            nodes.append(name[len(ELECTRICITY_PREFIX):])
        elif name.startswith(GPU_SPOT_PREFIX) and name[len(GPU_SPOT_PREFIX):]:
            models.append(name[len(GPU_SPOT_PREFIX):])
        else:
            raise error(f"column {col} {name!r} is not a market column (expected {', '.join(CORE_COLUMNS)}, "
                        f"{ELECTRICITY_PREFIX}<node> or {GPU_SPOT_PREFIX}<model>)")
    missing = [c for c in CORE_COLUMNS if c not in seen]
    if missing:
        raise error(f"missing column(s): {', '.join(missing)}")
    return nodes, models


def _parse_timestamps(cells: Sequence[str]) -> tuple[list[datetime], tuple[int, str] | None]:
    """The timestamps in UTC, and the first bad one (row, message): unreadable, without an
    offset, or not after the row before."""
    out: list[datetime] = []
    for k, cell in enumerate(cells):
        raw = cell.strip()
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError:
            return out, (k, f"{raw!r} is not an ISO 8601 timestamp")
        if ts.tzinfo is not UTC:
            if ts.tzinfo is None:
                return out, (k, f"{raw!r} has no UTC offset (append 'Z' for UTC)")
            ts = ts.astimezone(UTC)
        if out and ts <= out[-1]:
            return out, (k, f"{raw!r} is not after the previous row's timestamp")
        out.append(ts)
    return out, None


def _parse_numbers(cells: Sequence[str], *, minimum: float | None,
                   strict: bool) -> tuple[FloatArray, tuple[int, str] | None]:
    """A column as floats, and its first bad cell (row, message): not a number, not finite, or
    below `minimum` (at or below it when `strict`)."""
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        # numpy refuses what Python's float() may accept ("1_000"): decide cell by cell.
        parsed: list[float] = []
        for k, cell in enumerate(cells):
            try:
                parsed.append(float(cell))
            except ValueError:
                return np.array(parsed), (k, f"{cell.strip()!r} is not a number")
        values = np.array(parsed, dtype=np.float64)
    bad = ~np.isfinite(values)
    if minimum is not None:
        bad |= values <= minimum if strict else values < minimum
    if not bad.any():
        return values, None
    k = int(np.argmax(bad))
    bound = "" if minimum is None else f" (must be {'>' if strict else '>='} {minimum:g})"
    return values, (k, f"{cells[k].strip()!r} is not a finite number{bound}")
