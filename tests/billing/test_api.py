"""The billing API in demo mode: rates, estimates, budgets, the seeded invoice history, PDFs,
idempotent payments (really concurrent, on SQLite and PostgreSQL), tenant isolation, revenue."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pypdf import PdfReader
from tests.conftest import DEMO_CREDENTIALS, login_headers, running_app, temporary_postgres_database

from hcp.app import create_app
from hcp.billing.loop import Payments
from hcp.billing.payments import SimulatedProvider
from hcp.core.settings import Settings

API = "/api/v1/billing"


@pytest.fixture(params=["sqlite", "postgresql"])
async def http(
    request: pytest.FixtureRequest, make_settings: Callable[..., Settings],
) -> AsyncIterator[httpx.AsyncClient]:
    overrides: dict[str, Any] = {"orchestrator": {"run": False}}
    if request.param == "postgresql":
        async with temporary_postgres_database() as url:
            app = create_app(make_settings(database_url=url, **overrides))
            async with running_app(app) as client:
                client.app = app  # type: ignore[attr-defined]
                yield client
        return
    app = create_app(make_settings(**overrides))
    async with running_app(app) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client


async def headers_of(http: httpx.AsyncClient) -> dict[str, dict[str, str]]:
    found = {role: await login_headers(http, *creds) for role, creds in DEMO_CREDENTIALS.items()}
    found["globex"] = await login_headers(http, "maria@globex.com", "customer123")
    return found


def provider(http: httpx.AsyncClient) -> SimulatedProvider:
    p = http.app.state.platform.components.require(Payments).provider  # type: ignore[attr-defined]
    assert isinstance(p, SimulatedProvider)
    return p


async def test_rates_and_estimate(http: httpx.AsyncClient) -> None:
    h = await headers_of(http)
    card = (await http.get(f"{API}/rates", headers=h["customer"])).json()
    assert {r["gpu_model"]: r["rate_usd_per_gpu_hour"] for r in card["rates"]} == {"H100": "2.50", "A100": "1.60"}
    est = await http.post(f"{API}/estimate", headers=h["customer"],
                          json={"gpu_model": "H100", "gpu_count": 3, "hours": "10.5", "priority": 10})
    assert est.status_code == 200, est.text
    body = est.json()
    # 2.50 x 1.5 = 3.75 per GPU-hour x 31.5 GPU-hours = 118.125 -> 118.13 (half up); tax 8.25%.
    assert (body["rate_usd_per_gpu_hour"], body["subtotal_usd"], body["tax_usd"], body["total_usd"]) == \
        ("3.75", "118.13", "9.75", "127.88")
    bad = await http.post(f"{API}/estimate", headers=h["customer"],
                          json={"gpu_model": "V100", "gpu_count": 1, "hours": "1"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "gpu_model"


async def test_budget_is_the_customers_own(http: httpx.AsyncClient) -> None:
    h = await headers_of(http)
    mine = (await http.get(f"{API}/budget", headers=h["customer"])).json()
    assert mine["monthly_limit_usd"] == "12500.00"
    tenants = (await http.get("/api/v1/auth/tenants", headers=h["admin"])).json()["items"]
    globex = next(t["id"] for t in tenants if t["slug"] == "globex")
    other = await http.get(f"{API}/budget", params={"tenant_id": globex}, headers=h["customer"])
    assert other.status_code == 422 and other.json()["error"]["details"][0]["field"] == "tenant_id"
    put_other = await http.put(f"{API}/budget", json={"tenant_id": globex, "monthly_limit_usd": "1"},
                               headers=h["customer"])
    assert put_other.status_code == 422
    assert (await http.get(f"{API}/budget", params={"tenant_id": globex}, headers=h["admin"])).json()[
        "monthly_limit_usd"] == "8000.00"
    changed = await http.put(f"{API}/budget", json={"monthly_limit_usd": "15000.50"}, headers=h["customer"])
    assert changed.status_code == 200 and changed.json()["monthly_limit_usd"] == "15000.50"
    bad = await http.put(f"{API}/budget", json={"monthly_limit_usd": "-1"}, headers=h["customer"])
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "monthly_limit_usd"
    assert (await http.put(f"{API}/budget", json={"monthly_limit_usd": "1"}, headers=h["operator"])).status_code == 403


async def test_demo_history_and_isolation(http: httpx.AsyncClient) -> None:
    h = await headers_of(http)
    mine = (await http.get(f"{API}/invoices", headers=h["customer"])).json()
    assert mine["total"] == 3
    assert [i["status"] for i in mine["items"]] == ["issued", "paid", "paid"]  # newest first
    theirs = (await http.get(f"{API}/invoices", headers=h["globex"])).json()["items"]
    assert {i["tenant_id"] for i in theirs}.isdisjoint({i["tenant_id"] for i in mine["items"]})
    other = theirs[0]["id"]
    for path in (f"{API}/invoices/{other}", f"{API}/invoices/{other}/pdf"):
        assert (await http.get(path, headers=h["customer"])).status_code == 404
    paid = await http.post(f"{API}/invoices/{other}/pay", headers={**h["customer"], "Idempotency-Key": "x1"})
    assert paid.status_code == 404 and not provider(http).charges
    invoice = (await http.get(f"{API}/invoices/{mine['items'][0]['id']}", headers=h["customer"])).json()
    assert invoice["lines"] and re.fullmatch(r"\d+\.\d\d", invoice["total_usd"])
    lines_sum = sum(Decimal(li["amount_usd"]) for li in invoice["lines"])
    assert Decimal(invoice["subtotal_usd"]) == lines_sum
    assert Decimal(invoice["total_usd"]) == lines_sum + Decimal(invoice["tax_usd"])
    usage = (await http.get(f"{API}/usage", headers=h["customer"], params={
        "from": f"{invoice['period']}-01T00:00:00Z", "to": "2100-01-01T00:00:00Z", "group_by": "model"})).json()
    assert {i["gpu_model"] for i in usage["items"]} == {"H100", "A100"}
    assert all(i["tenant_id"] == invoice["tenant_id"] for i in (await http.get(
        f"{API}/usage", headers=h["customer"], params={"from": "2000-01-01T00:00:00Z"})).json()["items"])


async def test_pdf_shows_the_same_total(http: httpx.AsyncClient) -> None:
    h = await headers_of(http)
    first = (await http.get(f"{API}/invoices", headers=h["customer"])).json()["items"][0]
    invoice = (await http.get(f"{API}/invoices/{first['id']}", headers=h["customer"])).json()
    got = await http.get(f"{API}/invoices/{first['id']}/pdf", headers=h["customer"])
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(got.content)).pages)
    assert "MARA Hybrid Compute Platform" in text and invoice["number"] in text and "Acme Corp" in text
    assert invoice["total_usd"] in text and invoice["subtotal_usd"] in text
    for line in invoice["lines"]:
        assert line["amount_usd"] in text


async def test_concurrent_payments_with_one_key_charge_once(http: httpx.AsyncClient) -> None:
    h = await headers_of(http)
    issued = (await http.get(f"{API}/invoices", params={"status": "issued"}, headers=h["customer"])).json()["items"][0]
    url = f"{API}/invoices/{issued['id']}/pay"
    key = {**h["customer"], "Idempotency-Key": "pay-acme-1"}
    first, second = await asyncio.gather(http.post(url, headers=key), http.post(url, headers=key))
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert first.json() == second.json() and first.json()["status"] == "succeeded"
    assert first.json()["amount_usd"] == issued["total_usd"]
    assert len(provider(http).charged) == 1
    again = await http.post(url, headers=key)
    assert again.json() == first.json()
    other = await http.post(url, headers={**h["customer"], "Idempotency-Key": "pay-acme-2"})
    assert other.status_code == 409 and other.json()["error"]["code"] == "already_paid"
    assert len(provider(http).charged) == 1
    after = (await http.get(f"{API}/invoices/{issued['id']}", headers=h["customer"])).json()
    assert after["status"] == "paid"
    missing = await http.post(url, headers=h["customer"])
    assert missing.status_code == 422


async def test_declined_and_timed_out_payments(http: httpx.AsyncClient) -> None:
    h = await headers_of(http)
    http.app.state.platform.settings.billing.payment_timeout_s = 0.2  # type: ignore[attr-defined]
    issued = (await http.get(f"{API}/invoices", params={"status": "issued"}, headers=h["globex"])).json()["items"][0]
    url = f"{API}/invoices/{issued['id']}/pay"
    declined = await http.post(url, json={"payment_method": "card_declined"},
                               headers={**h["globex"], "Idempotency-Key": "d1"})
    assert declined.status_code == 402 and declined.json()["error"]["code"] == "payment_declined"
    replay = await http.post(url, json={"payment_method": "card_ok"}, headers={**h["globex"], "Idempotency-Key": "d1"})
    assert replay.status_code == 402  # the same key: the first result
    timed_out = await http.post(url, json={"payment_method": "card_timeout"},
                                headers={**h["globex"], "Idempotency-Key": "t1"})
    assert timed_out.status_code == 504 and timed_out.json()["error"]["code"] == "payment_timeout"
    busy = await http.post(url, headers={**h["globex"], "Idempotency-Key": "t2"})
    assert busy.status_code == 409
    retried = await http.post(url, json={"payment_method": "card_ok"}, headers={**h["globex"], "Idempotency-Key": "t1"})
    assert retried.status_code == 200 and retried.json()["status"] == "succeeded"
    assert len(provider(http).charged) == 1


async def test_revenue_month_for_admins(http: httpx.AsyncClient) -> None:
    h = await headers_of(http)
    invoice = (await http.get(f"{API}/invoices", headers=h["customer"])).json()["items"][0]
    report = await http.get(f"{API}/revenue", params={"month": invoice["period"]}, headers=h["admin"])
    assert report.status_code == 200, report.text
    body = report.json()
    assert Decimal(body["revenue_usd"]) >= 45_000
    assert Decimal(body["by_source"]["ai_usd"]) > 0 and Decimal(body["by_source"]["mining_usd"]) > 0
    assert {c["name"] for c in body["by_customer"]} == {"Acme Corp", "Globex Research", "Initech AI"}
    assert Decimal(body["margin_usd"]) == Decimal(body["revenue_usd"]) - Decimal(body["energy_cost_usd"])
    assert Decimal(body["mining"]["btc"]) > 0
    assert (await http.get(f"{API}/revenue", headers=h["operator"])).status_code == 403


async def test_an_issued_invoice_is_corrected_by_a_new_document(http: httpx.AsyncClient) -> None:
    h = await headers_of(http)
    issued = (await http.get(f"{API}/invoices", params={"status": "issued"}, headers=h["customer"])).json()["items"][0]
    before = (await http.get(f"{API}/invoices/{issued['id']}", headers=h["customer"])).json()
    assert (await http.post(f"{API}/invoices/{issued['id']}/correct", headers=h["operator"])).status_code == 403
    corrected = await http.post(f"{API}/invoices/{issued['id']}/correct", headers=h["admin"])
    assert corrected.status_code == 201, corrected.text
    new = corrected.json()
    assert new["id"] != issued["id"] and new["kind"] == "correction" and new["corrects_id"] == issued["id"]
    assert new["status"] == "issued" and new["total_usd"] == before["total_usd"]
    assert [li["amount_usd"] for li in new["lines"]] == [li["amount_usd"] for li in before["lines"]]
    old = (await http.get(f"{API}/invoices/{issued['id']}", headers=h["customer"])).json()
    assert old["status"] == "void" and old["lines"] == before["lines"]  # the document itself never changed
    pay_void = await http.post(f"{API}/invoices/{issued['id']}/pay", headers={**h["customer"], "Idempotency-Key": "v"})
    assert pay_void.status_code == 409 and pay_void.json()["error"]["code"] == "not_payable"
    reissue = await http.post(f"{API}/invoices/{issued['id']}/issue", headers=h["admin"])
    assert reissue.status_code == 409 and reissue.json()["error"]["code"] == "illegal_transition"
    assert (await http.get(f"{API}/invoices", headers=h["customer"])).json()["total"] == 4
    audit = (await http.get("/api/v1/auth/audit", params={"action": "billing.invoice.correct"},
                            headers=h["admin"])).json()
    assert audit["total"] == 1
