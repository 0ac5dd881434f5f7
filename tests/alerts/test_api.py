"""The alerts API in the running platform: events on the bus become alerts (once, however often
they are delivered), listed by status, acked and resolved by staff, isolated by tenant, and
counted in `hcp_alerts_open` from the table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.conftest import DEMO_CREDENTIALS, login_headers, running_app
from tests.eventually import eventually

from hcp.app import create_app
from hcp.core.bus import Event
from hcp.core.settings import Settings

API = "/api/v1"


def gauge(metrics: str, severity: str) -> float:
    prefix = f'hcp_alerts_open{{severity="{severity}"}}'
    lines = [ln for ln in metrics.splitlines() if ln.startswith(prefix)]
    assert lines, f"no {prefix} in /metrics yet"  # not yet, for eventually()
    return float(lines[0].split()[-1])


async def test_budget_alerts_listed_acked_resolved_and_isolated(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with running_app(app) as client:
        headers = {role: await login_headers(client, *creds) for role, creds in DEMO_CREDENTIALS.items()}
        maria = await login_headers(client, "maria@globex.com", "customer123")
        tenants = (await client.get(f"{API}/auth/tenants", headers=headers["admin"])).json()["items"]
        acme = next(t["id"] for t in tenants if t["slug"] == "acme")
        globex = next(t["id"] for t in tenants if t["slug"] == "globex")
        bus = app.state.platform.bus

        def budget(tenant: str, pct: int, month: str = "2026-11") -> dict[str, Any]:
            return {"tenant_id": tenant, "month": month, "threshold_pct": pct, "spent_usd": str(pct),
                    "limit_usd": "100"}

        first = await bus.emit_raw("billing.budget", budget(acme, 80))
        await bus.publish(Event(subject=first.subject, data=first.data, id=first.id + "x"))  # same cause again
        await bus.emit_raw("billing.budget", budget(globex, 80))

        async def open_alerts() -> list[dict[str, Any]]:
            body = (await client.get(f"{API}/alerts", params={"status": "open"}, headers=headers["operator"])).json()
            return body["items"] if body["total"] == 2 else []

        listed = await eventually(open_alerts)
        mine = (await client.get(f"{API}/alerts", headers=headers["customer"])).json()
        assert mine["total"] == 1 and mine["items"][0]["tenant_id"] == acme
        assert mine["items"][0]["severity"] == "warning" and mine["items"][0]["rule"] == "budget"
        theirs = (await client.get(f"{API}/alerts", headers=maria)).json()
        assert [a["tenant_id"] for a in theirs["items"]] == [globex]
        acme_alert = next(a for a in listed if a["tenant_id"] == acme)

        # 100 % escalates the same alert; the gauge counts from the table.
        await bus.emit_raw("billing.budget", budget(acme, 100))

        async def escalated() -> bool:
            items = (await client.get(f"{API}/alerts", headers=headers["customer"])).json()["items"]
            return [(a["id"], a["severity"]) for a in items] == [(acme_alert["id"], "critical")]

        await eventually(escalated)

        async def counted() -> bool:
            metrics = (await client.get("/metrics")).text
            return gauge(metrics, "critical") == 1 and gauge(metrics, "warning") == 1

        await eventually(counted)

        # The customer whose budget it is acks it; another customer cannot see it to ack it.
        globex_alert = next(a for a in listed if a["tenant_id"] == globex)
        hidden = await client.post(f"{API}/alerts/{globex_alert['id']}/ack", headers=headers["customer"])
        assert hidden.status_code == 404
        assert (await client.get(f"{API}/alerts/{globex_alert['id']}", headers=headers["customer"])).status_code == 404
        acked = await client.post(f"{API}/alerts/{acme_alert['id']}/ack", headers=headers["customer"])
        assert acked.status_code == 200 and acked.json()["status"] == "acked"
        assert acked.json()["acked_by"] == "john@acme.com"
        one = await client.get(f"{API}/alerts/{acme_alert['id']}", headers=headers["customer"])
        assert one.status_code == 200 and one.json() == acked.json()
        denied = await client.post(f"{API}/alerts/{acme_alert['id']}/resolve", headers=headers["customer"])
        assert denied.status_code == 403
        again = await client.post(f"{API}/alerts/{acme_alert['id']}/ack", headers=headers["operator"])
        assert again.status_code == 200 and again.json()["acked_by"] == "john@acme.com"
        by_status = (await client.get(f"{API}/alerts", params={"status": "acked"}, headers=headers["admin"])).json()
        assert [a["id"] for a in by_status["items"]] == [acme_alert["id"]]
        resolved = await client.post(f"{API}/alerts/{acme_alert['id']}/resolve", headers=headers["operator"])
        assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
        again = await client.post(f"{API}/alerts/{acme_alert['id']}/ack", headers=headers["operator"])
        assert again.status_code == 409 and again.json()["error"]["code"] == "alert_resolved"
        missing = await client.post(f"{API}/alerts/nope/ack", headers=headers["operator"])
        assert missing.status_code == 404
        bad = await client.get(f"{API}/alerts", params={"status": "closed"}, headers=headers["operator"])
        assert bad.status_code == 422
        metrics = (await client.get("/metrics")).text
        assert gauge(metrics, "critical") == 0 and gauge(metrics, "warning") == 1

        # A new month's budget event clears last month's alert by itself.
        await bus.emit_raw("billing.budget", budget(globex, 80, month="2026-12"))

        async def rolled_over() -> bool:
            items = (await client.get(f"{API}/alerts", headers=maria)).json()["items"]
            return sorted((a["details"]["month"], a["status"]) for a in items) == [
                ("2026-11", "resolved"), ("2026-12", "open")]

        await eventually(rolled_over)
        audit = (await client.get(f"{API}/auth/audit", headers=headers["admin"])).json()["items"]
        assert {"alert.ack", "alert.resolve"} <= {e["action"] for e in audit}
