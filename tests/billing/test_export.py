"""Billing's CSV exports and the admin page's figures, in demo mode: the invoices and usage
exports carry exactly the rows the JSON lists count for the same filters, a customer's only
their own; bad filters are a 422 naming the field; revenue comes by month too."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from tests.conftest import DEMO_CREDENTIALS, login_headers, running_app, temporary_postgres_database

from hcp.app import create_app
from hcp.billing.revenue import months_ending
from hcp.core.settings import Settings

API = "/api/v1/billing"


@pytest.fixture(params=["sqlite", "postgresql"])
async def http(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings],
) -> AsyncIterator[httpx.AsyncClient]:
    overrides: dict[str, Any] = {"orchestrator": {"run": False}}
    if request.param == "postgresql":
        async with temporary_postgres_database() as url:
            async with running_app(create_app(make_settings(database_url=url, **overrides))) as client:
                yield client
        return
    async with running_app(create_app(make_settings(**overrides))) as client:
        yield client


async def headers_of(http: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    found = {role: await login_headers(http, *creds) for role, creds in DEMO_CREDENTIALS.items()}
    found["globex"] = await login_headers(http, "maria@globex.com", "customer123")
    return found


async def csv_rows(http: httpx.AsyncClient, path: str, headers: dict[str, str],
                   params: dict[str, str] | None = None) -> list[dict[str, str]]:
    got = await http.get(path, headers=headers, params=params or {})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("text/csv")
    assert got.headers["content-disposition"].startswith('attachment; filename="hcp-')
    return list(csv.DictReader(io.StringIO(got.text)))


async def listed(http: httpx.AsyncClient, path: str, headers: dict[str, str],
                 params: dict[str, str] | None = None) -> dict[str, Any]:
    got = await http.get(path, headers=headers, params=params or {})
    assert got.status_code == 200, got.text
    body: dict[str, Any] = got.json()
    return body


def field_of(response: httpx.Response) -> str:
    assert response.status_code == 422, response.text
    return str(response.json()["error"]["details"][0]["field"])


async def test_the_invoices_export_has_the_lists_rows_for_the_same_filters(http: httpx.AsyncClient) -> None:
    h = await headers_of(http)
    everything = await listed(http, f"{API}/invoices", h["admin"], {"limit": "1000"})
    assert everything["total"] == 9  # three demo customers, three months each
    acme = next(i["tenant_id"] for i in (await listed(http, f"{API}/invoices", h["customer"]))["items"])
    period = everything["items"][0]["period"]
    for params in ({}, {"status": "paid"}, {"period": period}, {"tenant_id": acme, "status": "issued"},
                   {"tenant_id": acme, "period": "2001-01"}):
        rows = await csv_rows(http, f"{API}/invoices/export.csv", h["admin"], params)
        body = await listed(http, f"{API}/invoices", h["admin"], {**params, "limit": "1000"})
        assert len(rows) == body["total"], params
        # The same invoices in the same order (newest first), money as the API writes it.
        assert [(r["id"], r["status"], r["period"], r["total_usd"], r["tax_usd"]) for r in rows] == \
            [(i["id"], i["status"], i["period"], i["total_usd"], i["tax_usd"]) for i in body["items"]]
    paid = await csv_rows(http, f"{API}/invoices/export.csv", h["admin"], {"status": "paid"})
    assert len(paid) == 6 and {r["status"] for r in paid} == {"paid"}
    assert {r["customer"] for r in paid} == {"Acme Corp", "Globex Research", "Initech AI"}
    assert {r["period"] for r in await csv_rows(http, f"{API}/invoices/export.csv", h["admin"],
                                                 {"period": period})} == {period}


async def test_a_customer_exports_only_their_own_invoices(http: httpx.AsyncClient) -> None:
    h = await headers_of(http)
    mine = await listed(http, f"{API}/invoices", h["customer"])
    rows = await csv_rows(http, f"{API}/invoices/export.csv", h["customer"])
    assert len(rows) == mine["total"] == 3
    assert {r["tenant_id"] for r in rows} == {mine["items"][0]["tenant_id"]} and {r["customer"] for r in rows} == \
        {"Acme Corp"}
    globex = (await listed(http, f"{API}/invoices", h["globex"]))["items"][0]["tenant_id"]
    # Naming another tenant narrows to nothing, as the list does: never their rows.
    assert await csv_rows(http, f"{API}/invoices/export.csv", h["customer"], {"tenant_id": globex}) == []
    assert (await listed(http, f"{API}/invoices", h["customer"], {"tenant_id": globex}))["total"] == 0


async def test_the_usage_export_has_the_reports_rows_for_the_same_filters(http: httpx.AsyncClient) -> None:
    h = await headers_of(http)
    since = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
    for who in ("admin", "customer"):
        for group_by, first in (("workload", "workload_id"), ("model", "gpu_model"), ("day", "day")):
            params = {**since, "group_by": group_by}
            rows = await csv_rows(http, f"{API}/usage/export.csv", h[who], params)
            report = await listed(http, f"{API}/usage", h[who], params)
            assert report["total"] > 0 and len(rows) == report["total"], (who, group_by)
            assert list(rows[0]) == list(report["items"][0]) and next(iter(rows[0])) == first
            assert [r["cost_usd"] for r in rows] == [i["cost_usd"] for i in report["items"]]
            assert sum(Decimal(r["gpu_hours"]) for r in rows) == pytest.approx(Decimal(report["total_gpu_hours"]),
                                                                            abs=Decimal("0.0001"))
    acme = await csv_rows(http, f"{API}/usage/export.csv", h["customer"], since)
    everyone = await csv_rows(http, f"{API}/usage/export.csv", h["admin"], since)
    assert len({r["tenant_id"] for r in acme}) == 1 and len({r["tenant_id"] for r in everyone}) == 3
    assert len(acme) < len(everyone)
    globex = (await listed(http, f"{API}/invoices", h["globex"]))["items"][0]["tenant_id"]
    other = await http.get(f"{API}/usage/export.csv", headers=h["customer"], params={**since, "tenant_id": globex})
    assert field_of(other) == "tenant_id"
    one = await csv_rows(http, f"{API}/usage/export.csv", h["admin"], {**since, "tenant_id": globex})
    assert one and {r["tenant_id"] for r in one} == {globex}


BAD_FILTERS: list[tuple[str, dict[str, str], str]] = [
    ("invoices", {"status": "overdue"}, "status"),
    ("invoices", {"period": "2026-13"}, "period"),
    ("invoices", {"period": "December"}, "period"),
    ("invoices", {"tenant_id": "x" * 40}, "tenant_id"),
    ("usage", {"group_by": "hour"}, "group_by"),
    ("usage", {"from": "2026-11-01T00:00:00"}, "from"),
    ("usage", {"from": "soon"}, "from"),
    ("usage", {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, "from"),
]


async def test_bad_filters_are_a_422_naming_the_field(http: httpx.AsyncClient) -> None:
    h = await headers_of(http)
    for path, params, field in BAD_FILTERS:
        for url in (f"{API}/{path}", f"{API}/{path}/export.csv"):
            assert field_of(await http.get(url, headers=h["admin"], params=params)) == field, (url, params)


async def test_revenue_by_month_ends_with_the_month_reported(http: httpx.AsyncClient) -> None:
    h = await headers_of(http)
    periods = sorted({i["period"] for i in (await listed(http, f"{API}/invoices", h["admin"]))["items"]})
    report = await listed(http, f"{API}/revenue", h["admin"], {"month": periods[-1], "months": "4"})
    series = report["by_month"]
    assert [m["month"] for m in series] == months_ending(periods[-1], 4)
    last = series[-1]
    assert (last["ai_usd"], last["mining_usd"], last["revenue_usd"], last["margin_usd"]) == (
        report["by_source"]["ai_usd"], report["by_source"]["mining_usd"], report["revenue_usd"], report["margin_usd"])
    for month in series:
        assert Decimal(month["ai_usd"]) + Decimal(month["mining_usd"]) == Decimal(month["revenue_usd"])
    # Each demo month is a month of its own report, and the month before the history is empty.
    for m in series[1:]:
        alone = await listed(http, f"{API}/revenue", h["admin"], {"month": m["month"], "months": "1"})
        assert alone["by_month"] == [m] and Decimal(m["ai_usd"]) > 0 and Decimal(m["mining_usd"]) > 0
    assert Decimal(series[0]["revenue_usd"]) == 0
    assert field_of(await http.get(f"{API}/revenue", headers=h["admin"], params={"months": "0"})) == "months"
    assert field_of(await http.get(f"{API}/revenue", headers=h["admin"], params={"month": "2026-13"})) == "month"


def test_months_ending_crosses_the_year() -> None:
    assert months_ending("2026-02", 4) == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert months_ending("2026-12", 1) == ["2026-12"]
