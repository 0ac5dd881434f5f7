"""The audit log over HTTP, as the console's Administration page reads it: filters (actor, action,
time range), the chain's verification (a tampered row is named), and the CSV export of exactly
what the filters select, streamed in batches."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import func, select, text
from tests.auth.conftest import bearer, login
from tests.conftest import DEMO_CREDENTIALS, login_headers

from hcp.auth.audit import GENESIS_HASH, AuditFilter, iter_audit
from hcp.auth.models import AuditEntry

AUDIT = "/api/v1/auth/audit"


async def entry_count(api: httpx.AsyncClient) -> int:
    async with api.app.state.platform.db.session() as session:  # type: ignore[attr-defined]
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def rows_of(response: httpx.Response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_verify_reports_an_intact_chain_then_names_the_tampered_row(api: httpx.AsyncClient) -> None:
    admin = await login_headers(api, *DEMO_CREDENTIALS["admin"])
    for role in ("operator", "customer"):
        refused = await api.get(f"{AUDIT}/verify", headers=await login_headers(api, *DEMO_CREDENTIALS[role]))
        assert refused.status_code == 403, role
    intact = await api.get(f"{AUDIT}/verify", headers=admin)
    assert intact.status_code == 200, intact.text
    body = intact.json()
    total = await entry_count(api)
    assert total > 0
    assert body["ok"] is True and body["broken"] is None and body["checked"] == total
    newest = (await api.get(AUDIT, params={"limit": 1}, headers=admin)).json()["items"][0]
    assert body["head"] == newest["hash"] != GENESIS_HASH

    # Someone with database access rewrites who did something, in the third entry.
    victim = (await api.get(AUDIT, params={"limit": 1, "offset": total - 3}, headers=admin)).json()["items"][0]
    assert victim["seq"] > 0
    async with api.app.state.platform.db.transaction() as session:  # type: ignore[attr-defined]
        await session.execute(text("UPDATE audit_log SET actor_email = 'someone.else@mara.com' WHERE seq = :s"),
                              {"s": victim["seq"]})
    broken = (await api.get(f"{AUDIT}/verify", headers=admin)).json()
    assert broken["ok"] is False
    assert broken["broken"]["seq"] == victim["seq"] and broken["broken"]["id"] == victim["id"]
    assert "hash" in broken["broken"]["reason"]
    assert broken["checked"] == 2  # the two entries before it are intact


async def test_filters_by_actor_action_and_time_range(api: httpx.AsyncClient) -> None:
    admin = await login_headers(api, *DEMO_CREDENTIALS["admin"])
    await login_headers(api, *DEMO_CREDENTIALS["operator"])
    assert (await login(api, "ops@mara.com", "wrong password")).status_code == 401

    by_ops = (await api.get(AUDIT, params={"actor_email": " OPS@mara.com"}, headers=admin)).json()
    assert by_ops["total"] >= 1 and {e["actor_email"] for e in by_ops["items"]} == {"ops@mara.com"}
    failed = (await api.get(AUDIT, params={"action": "auth.login_failed"}, headers=admin)).json()
    assert failed["total"] == 1 and failed["items"][0]["details"]["email"] == "ops@mara.com"

    everything = (await api.get(AUDIT, params={"limit": 500}, headers=admin)).json()["items"]
    cut = datetime.fromisoformat(everything[1]["ts"])  # the second newest entry's time
    newer = (await api.get(AUDIT, params={"from": cut.isoformat(), "limit": 500}, headers=admin)).json()
    older = (await api.get(AUDIT, params={"to": cut.isoformat(), "limit": 500}, headers=admin)).json()
    assert newer["total"] + older["total"] == len(everything)
    assert all(datetime.fromisoformat(e["ts"]) >= cut for e in newer["items"])
    assert all(datetime.fromisoformat(e["ts"]) < cut for e in older["items"])
    assert everything[1]["id"] in {e["id"] for e in newer["items"]}
    window = (await api.get(AUDIT, headers=admin, params={
        "from": cut.isoformat(), "to": (cut + timedelta(microseconds=1)).isoformat()})).json()
    assert everything[1]["id"] in {e["id"] for e in window["items"]}

    for params, field in (({"from": "2026-01-01T00:00:00"}, "from"), ({"to": "yesterday"}, "to"),
                          ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from")):
        bad = await api.get(AUDIT, params=params, headers=admin)
        assert bad.status_code == 422, (params, bad.text)
        assert bad.json()["error"]["details"][0]["field"] == field


async def test_csv_export_is_the_whole_filtered_log(api: httpx.AsyncClient) -> None:
    admin = await login_headers(api, *DEMO_CREDENTIALS["admin"])
    # An address a spreadsheet would run as a formula, as the actor of a login.
    created = await api.post("/api/v1/auth/users", headers=admin, json={
        "email": "=cmd@evil.example", "password": "long enough", "role": "operator"})
    assert created.status_code == 201, created.text
    await login_headers(api, "=cmd@evil.example", "long enough")

    refused = await api.get(f"{AUDIT}/export.csv", headers=await login_headers(api, *DEMO_CREDENTIALS["operator"]))
    assert refused.status_code == 403
    everything = await api.get(f"{AUDIT}/export.csv", headers=admin)
    assert everything.status_code == 200, everything.text
    assert everything.headers["content-type"].startswith("text/csv")
    assert everything.headers["content-disposition"].startswith('attachment; filename="audit-')
    rows = rows_of(everything)
    listed = (await api.get(AUDIT, params={"limit": 500}, headers=admin)).json()
    assert len(rows) == listed["total"] == await entry_count(api)
    assert [r["id"] for r in rows] == [e["id"] for e in listed["items"]]  # newest first, like the list
    first = rows[0]
    assert list(first) == ["seq", "id", "ts", "actor_id", "actor_email", "api_key_id", "action", "object_type",
                           "object_id", "tenant_id", "address", "details", "prev_hash", "hash"]
    assert first["hash"] == listed["items"][0]["hash"] and json.loads(first["details"]) == listed["items"][0]["details"]
    evil_login = next(r for r in rows if r["action"] == "auth.login" and "evil" in r["actor_email"])
    assert evil_login["actor_email"] == "'=cmd@evil.example"

    logins = await api.get(f"{AUDIT}/export.csv", params={"action": "auth.login"}, headers=admin)
    login_rows = rows_of(logins)
    total = (await api.get(AUDIT, params={"action": "auth.login"}, headers=admin)).json()["total"]
    assert len(login_rows) == total >= 3 and {r["action"] for r in login_rows} == {"auth.login"}
    assert (await api.get(f"{AUDIT}/export.csv", params={"to": "noon"}, headers=admin)).status_code == 422
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    empty = await api.get(f"{AUDIT}/export.csv", params={"from": future}, headers=admin)
    assert empty.status_code == 200 and rows_of(empty) == [] and empty.text.startswith("seq,id,ts,")

    # In batches, the same rows in the same order as one query.
    db = api.app.state.platform.db  # type: ignore[attr-defined]
    batches = [b async for b in iter_audit(db=db, where=AuditFilter(action="auth.login"), batch=2)]
    assert all(len(b) <= 2 for b in batches) and len(batches) >= 2
    assert [r["id"] for b in batches for r in b] == [r["id"] for r in login_rows]


async def test_customers_cannot_read_the_log(api: httpx.AsyncClient) -> None:
    john = bearer((await login(api, *DEMO_CREDENTIALS["customer"])).json()["access_token"])
    for path in (AUDIT, f"{AUDIT}/verify", f"{AUDIT}/export.csv"):
        assert (await api.get(path, headers=john)).status_code == 403, path
