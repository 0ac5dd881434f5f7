"""The market price CSV: what is written reads back the same, plain or gzipped; errors name the first problem."""

from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hcp.kernel.prices import MarketCsvError, read_csv, write_csv

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HEADER = "ts,btc_usd,network_difficulty,fees_btc_per_block,electricity_usd_per_mwh:HB_NORTH"


@dataclass(frozen=True)
class Row:
    ts: datetime
    btc_usd: float
    network_difficulty: float = 8.3e13
    fees_btc_per_block: float = 0.04
    electricity_usd_per_mwh: dict[str, float] = field(default_factory=lambda: {"HB_NORTH": 41.5, "HB_WEST": -3.25})
    gpu_spot_usd_per_hour: dict[str, float] = field(default_factory=lambda: {"H100": 2.5})


def rows(n: int) -> list[Row]:
    return [Row(ts=T0 + timedelta(seconds=61.5 * k), btc_usd=65_000.0 + k / 3) for k in range(n)]


def test_written_rows_read_back_identical_plain_and_gzipped(tmp_path: Path) -> None:
    plain, packed = tmp_path / "p.csv", tmp_path / "p.csv.gz"
    assert write_csv(rows(50), plain) == 50
    assert write_csv(rows(50), packed) == 50
    # Reproducible: the gzip member holds neither a name nor a time.
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    write_csv(rows(50), tmp_path / "again.csv.gz")
    assert (tmp_path / "again.csv.gz").read_bytes() == packed.read_bytes()
    for path in (plain, packed):
        table = read_csv(path)
        assert len(table) == 50
        assert table.ts == tuple(r.ts for r in rows(50))
        assert table.btc_usd.tolist() == [r.btc_usd for r in rows(50)]
        assert table.electricity_usd_per_mwh["HB_WEST"].tolist() == [-3.25] * 50
        assert table.gpu_spot_usd_per_hour["H100"].tolist() == [2.5] * 50
        assert table.ts_s.tolist() == [r.ts.timestamp() for r in rows(50)]


def test_timestamps_with_an_offset_are_read_in_utc(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text(HEADER + "\n2026-01-01T02:00:00+02:00,65000,8.3e13,0.04,41\n"
                    " 2026-01-01T01:00:00Z ,1_000,8.3e13,0.04, 41 \n")
    table = read_csv(path)
    assert table.ts == (T0, T0 + timedelta(hours=1))
    assert table.btc_usd.tolist() == [65_000.0, 1_000.0]  # Python's float syntax, as before


@pytest.mark.parametrize(("body", "expected"), [
    # A bad price on line 3 is reported before a bad BTC price on line 4 and a short line 5.
    ("2026-01-01T00:00:00Z,65000,8.3e13,0.04,41\n2026-01-01T01:00:00Z,65000,8.3e13,0.04,cheap\n"
     "2026-01-01T02:00:00Z,-1,8.3e13,0.04,41\n2026-01-01T03:00:00Z,65000\n",
     "line 3: column 'electricity_usd_per_mwh:HB_NORTH': 'cheap' is not a number"),
    # A short line 2 is reported before a bad number on line 3.
    ("2026-01-01T00:00:00Z,65000\n2026-01-01T01:00:00Z,abc,8.3e13,0.04,41\n", "line 2: 2 fields, the header has 5"),
    # On one line, the timestamp first, then the columns in order.
    ("2026-01-01T00:00:00,abc,0,0.04,41\n",
     "line 2: column 'ts': '2026-01-01T00:00:00' has no UTC offset (append 'Z' for UTC)"),
    ("2026-01-01T00:00:00Z,65000,0,-1,41\n",
     "line 2: column 'network_difficulty': '0' is not a finite number (must be > 0)"),
])
def test_the_first_problem_in_the_file_is_the_one_reported(tmp_path: Path, body: str, expected: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "\n" + body)
    with pytest.raises(MarketCsvError) as caught:
        read_csv(path)
    assert str(caught.value) == f"{path}: {expected}"


def test_a_file_that_is_not_gzip_under_a_gz_name_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "p.csv.gz"
    path.write_text(HEADER + "\n")
    with pytest.raises(MarketCsvError, match=r"not a UTF-8 \(or gzipped UTF-8\) CSV"):
        read_csv(path)
