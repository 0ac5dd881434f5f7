"""The web console's client is generated from web/openapi/openapi.json: the snapshot must be the
document the API serves, or the console is typed for an API that no longer exists."""

from __future__ import annotations

import difflib
import json
from pathlib import Path

from hcp.cli import openapi_document

SNAPSHOT = Path(__file__).resolve().parents[2] / "web" / "openapi" / "openapi.json"
REGENERATE = ".venv/bin/hcp openapi -o web/openapi/openapi.json"


def test_the_committed_openapi_snapshot_is_the_served_document() -> None:
    current = openapi_document()
    committed = SNAPSHOT.read_text(encoding="utf-8")
    if committed != current:
        diff = "".join(list(difflib.unified_diff(committed.splitlines(True), current.splitlines(True),
                                                 "web/openapi/openapi.json (committed)", "the API now", n=1))[:60])
        raise AssertionError(f"the OpenAPI snapshot drifted from the API: run `{REGENERATE}` (then "
                             f"`cd web && npm run typecheck`) and commit it.\n{diff}")


def test_the_snapshot_documents_the_websocket_payloads_the_console_consumes() -> None:
    schemas = json.loads(SNAPSHOT.read_text(encoding="utf-8"))["components"]["schemas"]
    assert {"WsEnvelope", "WsWorkloadEvent", "WsFleetMetricsEvent", "ErrorOut", "TokenPair", "Me"} <= set(schemas)
