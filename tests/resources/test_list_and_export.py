"""The unit list's filters, free-text search and order, its CSV export (the same filters, the whole
set, streamed), and the topology's power per rack."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

API = "/api/v1"
# (id, model, facility, rack): GPUs that push their readings, so nothing polls them.
UNITS = [
    ("gpu-n1", "H100", "tx-north", "tx-north-g01"),
    ("gpu-n2", "H100", "tx-north", "tx-north-g01"),
    ("gpu-n3", "A100", "tx-north", None),
    ("gpu-s1", "H100", "tx-south", "tx-south-g01"),
    ("gpu-s2", "L40S", "tx-south", "tx-south-g01"),
    ("gpu-e1", "A100", "nd-ellendale", None),
]


async def _register(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    for unit_id, model, facility, rack in UNITS:
        body: dict[str, Any] = {"id": unit_id, "driver": "nvml", "address": f"nvml://GPU-{unit_id}", "push": True,
                                "model": model, "serial": f"SER-{unit_id}", "facility_id": facility,
                                "hostname": f"host-{unit_id}.example"}
        if rack is not None:
            body["rack_id"] = rack
        response = await client.post(f"{API}/resources/agents/register", headers=headers, json=body)
        assert response.status_code == 200, response.text


async def _ids(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> tuple[list[str], int]:
    response = await client.get(f"{API}/resources", headers=headers, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return [u["id"] for u in body["items"]], body["total"]


def _csv(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="hcp-resources-')
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_filters_search_and_order(client: httpx.AsyncClient, role_headers: dict[str, dict[str, str]]) -> None:
    ops = role_headers["operator"]
    await _register(client, ops)
    assert await _ids(client, ops, facility_id="tx-north", sort="id") == (["gpu-n1", "gpu-n2", "gpu-n3"], 3)
    assert await _ids(client, ops, model="H100", sort="-id") == (["gpu-s1", "gpu-n2", "gpu-n1"], 3)
    assert await _ids(client, ops, rack_id="tx-south-g01") == (["gpu-s1", "gpu-s2"], 2)
    # Free text: id, model, hostname, serial..., case-insensitive; LIKE's wildcards are plain text.
    assert await _ids(client, ops, q="  A100 ") == (["gpu-e1", "gpu-n3"], 2)
    assert await _ids(client, ops, q="HOST-GPU-S") == (["gpu-s1", "gpu-s2"], 2)
    assert await _ids(client, ops, q="gpu_n") == ([], 0)
    assert await _ids(client, ops, q="%") == ([], 0)
    # Mode: units that push readings have not said what they do yet.
    assert (await _ids(client, ops, mode="unknown"))[1] == 6
    assert await _ids(client, ops, mode="mining") == ([], 0)
    # Sorted by model, ties by id; paging cuts the same order and counts the whole set.
    ids, total = await _ids(client, ops, sort="model", limit=2, offset=2)
    assert (ids, total) == (["gpu-n1", "gpu-n2"], 6)
    assert (await _ids(client, ops, sort="-model", limit=1))[0] == ["gpu-s2"]
    # Every role reads the fleet.
    assert (await _ids(client, role_headers["customer"], kind="gpu"))[1] == 6


async def test_bad_filters_name_the_field(client: httpx.AsyncClient, role_headers: dict[str, dict[str, str]]) -> None:
    ops = role_headers["operator"]
    for path in ("/resources", "/resources/export.csv"):
        for params, field in (({"sort": "power"}, "sort"), ({"sort": "id; drop"}, "sort"),
                              ({"mode": "dancing"}, "mode"), ({"q": "x" * 101}, "q"), ({"kind": "tpu"}, "kind"),
                              ({"health": "meh"}, "health")):
            response = await client.get(API + path, headers=ops, params=params)
            assert response.status_code == 422, f"{path} {params}: {response.text}"
            assert response.json()["error"]["details"][0]["field"] == field, f"{path} {params}"
    # "export.csv" is a route, never a unit's id.
    taken = await client.post(f"{API}/resources/agents/register", headers=ops, json={
        "id": "export.csv", "driver": "nvml", "address": "nvml://GPU-x", "push": True, "model": "A100", "serial": "x"})
    assert taken.status_code == 422 and taken.json()["error"]["details"][0]["field"] == "id"
    assert (await client.get(f"{API}/resources/export.csv")).status_code == 401


async def test_the_export_holds_the_whole_filtered_set(
    client: httpx.AsyncClient, role_headers: dict[str, dict[str, str]]
) -> None:
    ops = role_headers["operator"]
    await _register(client, ops)
    for params in ({}, {"facility_id": "tx-north"}, {"model": "H100", "sort": "-id"}, {"q": "a100"},
                   {"facility_id": "tx-south", "kind": "asic"}):
        # The list's first page is smaller than the set: the export is not a page.
        ids, total = await _ids(client, ops, **params, limit=1)
        rows = _csv(await client.get(f"{API}/resources/export.csv", headers=ops, params=params))
        assert len(rows) == total, params
        if total:
            assert rows[0]["id"] == ids[0], params  # the list's order
        all_ids, _ = await _ids(client, ops, **params, limit=1000)
        assert [r["id"] for r in rows] == all_ids, params
    rows = _csv(await client.get(f"{API}/resources/export.csv", headers=ops, params={"q": "gpu-s2"}))
    assert rows == [{**rows[0], "id": "gpu-s2", "kind": "gpu", "model": "L40S", "facility_id": "tx-south",
                     "rack_id": "tx-south-g01", "status": "online", "mode": "unknown", "workload_id": ""}]


async def test_the_export_streams_more_than_a_batch(
    client: httpx.AsyncClient, role_headers: dict[str, dict[str, str]], monkeypatch: Any
) -> None:
    from hcp.resources import export

    monkeypatch.setattr(export, "BATCH", 2)
    ops = role_headers["operator"]
    await _register(client, ops)
    async with client.stream("GET", f"{API}/resources/export.csv", headers=ops, params={"sort": "-id"}) as response:
        assert response.status_code == 200
        chunks = [chunk async for chunk in response.aiter_text()]
    rows = list(csv.DictReader(io.StringIO("".join(chunks))))
    assert [r["id"] for r in rows] == sorted((u[0] for u in UNITS), reverse=True)


def test_cells_that_a_spreadsheet_would_run_are_quoted_as_text() -> None:
    from hcp.resources.export import COLUMNS, row_of

    view = {"id": "=HYPERLINK(1)", "reading": {"power_w": -1.5}, "health_reasons": ["+a", "b"]}
    row = dict(zip(COLUMNS, row_of(view), strict=True))
    assert row["id"] == "'=HYPERLINK(1)" and row["power_w"] == "-1.5" and row["health_reasons"] == "'+a; b"


async def test_topology_shows_power_per_rack(
    client: httpx.AsyncClient, role_headers: dict[str, dict[str, str]]
) -> None:
    ops = role_headers["operator"]
    await _register(client, ops)
    topology = (await client.get(f"{API}/facilities/tx-north/topology", headers=ops)).json()
    racks = {r["id"]: r for r in topology["racks"]}
    # No readings yet: the rack draws nothing that is known.
    rack = racks["tx-north-g01"]
    assert rack["power_kw"] == 0 and [u["power_w"] for u in rack["units"]] == [None, None]
    assert [u["id"] for u in topology["unracked"]] == ["gpu-n3"]
