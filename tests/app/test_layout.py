"""The code's shape stays as docs/ARCHITECTURE.md draws it: small modules, one folder per domain."""

from __future__ import annotations

from pathlib import Path

import hcp

SRC = Path(hcp.__file__).parent
MAX_LINES = 600
# A module may be longer if its first lines say why, with this marker.
REASON = "Longer than 600 lines because"


def test_no_module_is_over_600_lines_unless_it_says_why() -> None:
    long = []
    for path in sorted(SRC.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > MAX_LINES and not any(REASON in line for line in lines[:15]):
            long.append(f"{path.relative_to(SRC)}: {len(lines)} lines")
    assert long == []


def test_api_modules_hold_http_only() -> None:
    """Background work is a component in `components.py`, registered by the app: no `start` or
    `stop` hook hides in an `api.py`."""
    hooks = [str(path.relative_to(SRC)) for path in sorted(SRC.glob("*/api.py"))
             if "\nasync def start(" in path.read_text(encoding="utf-8")
             or "\nasync def stop(" in path.read_text(encoding="utf-8")]
    assert hooks == []
