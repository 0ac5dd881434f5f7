"""CSV exports: one way to write a cell and to stream a file, for every `.../export.csv` route.

A cell that a spreadsheet would run as a formula (it starts with =, +, -, @, a tab or a carriage
return) is written with a leading apostrophe: exported text can be anything a user typed (a failed
login's e-mail, a unit's hostname), and CSV injection is the classic way such text turns harmful.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any, Final

from fastapi.responses import StreamingResponse

FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPE: Final = "text/csv; charset=utf-8"


def responses(description: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` of an export route."""
    return {200: {"content": {"text/csv": {}}, "description": description}}


def cell(value: Any) -> str:
    """One value as CSV text: empty for None, ISO 8601 (UTC) for times, JSON for mappings and
    lists, floats to 3 decimals, and formula-like text neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(round(value, 3))
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    text = (json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            if isinstance(value, dict | list) else str(value))
    return "'" + text if text.startswith(FORMULA_START) else text


def lines(rows: Iterable[Iterable[Any]]) -> str:
    """Rows as CSV text (RFC 4180 line ends); values are written as given (use `cell` first)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def response(chunks: AsyncIterator[str], *, filename: str) -> StreamingResponse:
    """A streamed download named `filename`."""
    return StreamingResponse(chunks, media_type=MEDIA_TYPE,
                             headers={"Content-Disposition": f'attachment; filename="{filename}"'})
