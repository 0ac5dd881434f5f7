"""The alerts list filtered by subject (one unit's alerts) and tenant (one customer's), as the
console's Alerts page asks for them, and the summary of the alerts not yet resolved by status and
severity; customers only ever see (and count) their own tenant's."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import DEMO_CREDENTIALS, login_headers, running_app

from hcp.alerts.rules import Cause, Verdict
from hcp.alerts.service import engine_of
from hcp.app import create_app
from hcp.core.settings import Settings

API = "/api/v1"


def unit_verdict(unit_id: str, *causes: tuple[str, str]) -> Verdict:
    return Verdict("unit", unit_id, frozenset({rule for rule, _ in causes}), tuple(
        Cause(f"{rule}:{unit_id}", rule, severity, f"ASIC {unit_id}: {rule}") for rule, severity in causes))


def budget_verdict(tenant_id: str, severity: str) -> Verdict:
    cause = Cause(f"budget:{tenant_id}:2026-11", "budget", severity, "budget", {"month": "2026-11"},
                  tenant_id=tenant_id)
    return Verdict("tenant", tenant_id, frozenset({"budget"}), (cause,))


async def test_filter_by_subject_and_tenant_and_summary(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(market={"ingest": False}, economics={"plan": False}))
    async with running_app(app) as client:
        engine = engine_of(app.state.platform)
        assert engine is not None
        headers = {role: await login_headers(client, *creds) for role, creds in DEMO_CREDENTIALS.items()}
        tenants = (await client.get(f"{API}/auth/tenants", headers=headers["admin"])).json()["items"]
        acme = next(t["id"] for t in tenants if t["slug"] == "acme")
        globex = next(t["id"] for t in tenants if t["slug"] == "globex")
        await engine.apply([
            unit_verdict("asic-1", ("temperature", "critical"), ("fan_failure", "warning")),
            unit_verdict("asic-2", ("temperature", "warning")),
            budget_verdict(acme, "warning"), budget_verdict(globex, "critical"),
        ])

        async def listed(who: str, **params: Any) -> list[str]:
            response = await client.get(f"{API}/alerts", params=params, headers=headers[who])
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["total"] == len(body["items"])
            return sorted(a["cause"] for a in body["items"])

        assert await listed("operator", subject_kind="unit", subject_id="asic-1") == [
            "fan_failure:asic-1", "temperature:asic-1"]
        assert await listed("operator", subject_kind="unit", subject_id="asic-1", severity="critical") == [
            "temperature:asic-1"]
        assert await listed("operator", subject_kind="unit") == [
            "fan_failure:asic-1", "temperature:asic-1", "temperature:asic-2"]
        assert await listed("operator", subject_id="asic-3") == []
        assert await listed("admin", tenant_id=acme) == [f"budget:{acme}:2026-11"]
        assert await listed("operator", tenant_id=globex, status="open") == [f"budget:{globex}:2026-11"]
        # A customer's filters only narrow what they may see: naming another tenant finds nothing.
        assert await listed("customer") == [f"budget:{acme}:2026-11"]
        assert await listed("customer", tenant_id=acme) == [f"budget:{acme}:2026-11"]
        assert await listed("customer", tenant_id=globex) == []
        assert await listed("customer", subject_kind="unit") == []

        # Paging counts the filtered set.
        page = (await client.get(f"{API}/alerts", params={"subject_kind": "unit", "limit": 2, "offset": 2},
                                 headers=headers["operator"])).json()
        assert page["total"] == 3 and len(page["items"]) == 1

        for params, field in (({"subject_id": "x" * 65}, "subject_id"), ({"tenant_id": ""}, "tenant_id"),
                              ({"severity": "fatal"}, "severity")):
            bad = await client.get(f"{API}/alerts", params=params, headers=headers["operator"])
            assert bad.status_code == 422, bad.text
            assert field in bad.text

        summary = await client.get(f"{API}/alerts/summary", headers=headers["operator"])
        assert summary.status_code == 200, summary.text
        assert summary.json() == {"open": {"info": 0, "warning": 3, "critical": 2},
                                  "acked": {"info": 0, "warning": 0, "critical": 0}}

        # Acked moves an alert from open to acked; resolved ones are no longer counted.
        items = (await client.get(f"{API}/alerts", params={"subject_id": "asic-1"}, headers=headers["operator"])).json()
        hot = next(a for a in items["items"] if a["rule"] == "temperature")
        fan = next(a for a in items["items"] if a["rule"] == "fan_failure")
        assert (await client.post(f"{API}/alerts/{hot['id']}/ack", headers=headers["operator"])).status_code == 200
        assert (await client.post(f"{API}/alerts/{fan['id']}/resolve", headers=headers["operator"])).status_code == 200
        summary = (await client.get(f"{API}/alerts/summary", headers=headers["admin"])).json()
        assert summary == {"open": {"info": 0, "warning": 2, "critical": 1},
                           "acked": {"info": 0, "warning": 0, "critical": 1}}
        assert await listed("operator", subject_id="asic-1", status="acked") == ["temperature:asic-1"]
        assert await listed("operator", subject_id="asic-1", status="resolved") == ["fan_failure:asic-1"]

        # A customer counts their own tenant's only.
        mine = (await client.get(f"{API}/alerts/summary", headers=headers["customer"])).json()
        assert mine == {"open": {"info": 0, "warning": 1, "critical": 0},
                        "acked": {"info": 0, "warning": 0, "critical": 0}}
        assert (await client.get(f"{API}/alerts/summary")).status_code == 401
