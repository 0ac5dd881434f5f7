"""Administrators manage users and tenants; bad input is a 422 naming the field and writes
nothing; every change is in the audit log, which admins page through."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select
from tests.auth.conftest import bearer, login

from hcp.auth.models import AuditEntry, Tenant, User

ADMIN = ("admin@mara.com", "admin123")


async def headers_of(api: httpx.AsyncClient, email: str, password: str) -> dict[str, str]:
    return bearer((await login(api, email, password)).json()["access_token"])


async def counts(api: httpx.AsyncClient) -> tuple[int, int, int]:
    async with api.app.state.platform.db.session() as session:  # type: ignore[attr-defined]
        return tuple([int(await session.scalar(select(func.count()).select_from(m)) or 0)  # type: ignore[return-value]
                      for m in (User, Tenant, AuditEntry)])


async def test_admins_create_users_who_can_then_log_in(api: httpx.AsyncClient) -> None:
    admin = await headers_of(api, *ADMIN)
    tenants = (await api.get("/api/v1/auth/tenants", headers=admin)).json()["items"]
    acme = next(t for t in tenants if t["slug"] == "acme")
    created = await api.post("/api/v1/auth/users", headers=admin, json={
        "email": " New.User@Acme.com", "password": "s3cret-enough", "role": "customer", "tenant_id": acme["id"]})
    assert created.status_code == 201
    user = created.json()
    assert user["email"] == "new.user@acme.com" and user["tenant_id"] == acme["id"] and user["is_active"]
    assert "password" not in user and "password_hash" not in user
    assert (await login(api, "new.user@acme.com", "s3cret-enough")).status_code == 200
    assert (await api.get(f"/api/v1/auth/users/{user['id']}", headers=admin)).json() == user
    assert (await api.get("/api/v1/auth/users/nope", headers=admin)).status_code == 404

    page = (await api.get("/api/v1/auth/users", params={"limit": 2, "offset": 1}, headers=admin)).json()
    assert page["total"] == 6 and len(page["items"]) == 2
    customers = (await api.get("/api/v1/auth/users", params={"role": "customer"}, headers=admin)).json()
    assert customers["total"] == 4 and {u["role"] for u in customers["items"]} == {"customer"}
    of_acme = (await api.get("/api/v1/auth/users", params={"tenant_id": acme["id"]}, headers=admin)).json()
    assert {u["email"] for u in of_acme["items"]} == {"john@acme.com", "new.user@acme.com"}
    assert (await api.get("/api/v1/auth/users", params={"limit": 0}, headers=admin)).status_code == 422


async def test_bad_users_are_refused_by_field_and_write_nothing(api: httpx.AsyncClient) -> None:
    admin = await headers_of(api, *ADMIN)
    tenants = (await api.get("/api/v1/auth/tenants", headers=admin)).json()["items"]
    before = await counts(api)
    good = {"email": "x@mara.com", "password": "long enough", "role": "operator"}
    cases = {
        "email": {**good, "email": "not-an-email"},
        "password": {**good, "password": "short"},
        "role": {**good, "role": "root"},
        "tenant_id": {**good, "role": "customer"},
        "nickname": {**good, "nickname": "typo"},
    }
    for field, body in cases.items():
        response = await api.post("/api/v1/auth/users", json=body, headers=admin)
        assert response.status_code == 422, (field, response.text)
        assert response.json()["error"]["details"][0]["field"] == field
    for body in ({**good, "tenant_id": tenants[0]["id"]}, {**good, "role": "customer", "tenant_id": "nope"}):
        response = await api.post("/api/v1/auth/users", json=body, headers=admin)
        assert response.status_code == 422 and response.json()["error"]["details"][0]["field"] == "tenant_id"
    duplicate = await api.post("/api/v1/auth/users", headers=admin, json={**good, "email": "OPS@mara.com"})
    assert duplicate.status_code == 409
    assert await counts(api) == before


async def test_role_changes_and_the_last_admin(api: httpx.AsyncClient) -> None:
    admin = await headers_of(api, *ADMIN)
    me = (await api.get("/api/v1/auth/me", headers=admin)).json()
    ops = (await api.get("/api/v1/auth/users", params={"role": "operator"}, headers=admin)).json()["items"][0]
    acme = next(t for t in (await api.get("/api/v1/auth/tenants", headers=admin)).json()["items"]
                if t["slug"] == "acme")

    needs_tenant = await api.patch(f"/api/v1/auth/users/{ops['id']}", json={"role": "customer"}, headers=admin)
    assert needs_tenant.status_code == 422 and needs_tenant.json()["error"]["details"][0]["field"] == "tenant_id"
    moved = await api.patch(f"/api/v1/auth/users/{ops['id']}", headers=admin,
                            json={"role": "customer", "tenant_id": acme["id"]})
    assert moved.status_code == 200 and moved.json()["role"] == "customer"
    back = await api.patch(f"/api/v1/auth/users/{ops['id']}", json={"role": "operator"}, headers=admin)
    assert back.json()["role"] == "operator" and back.json()["tenant_id"] is None
    typo = await api.patch(f"/api/v1/auth/users/{ops['id']}", json={"rol": "admin"}, headers=admin)
    assert typo.status_code == 422 and typo.json()["error"]["details"][0]["field"] == "rol"

    for change in ({"role": "operator"}, {"is_active": False}):
        last = await api.patch(f"/api/v1/auth/users/{me['id']}", json=change, headers=admin)
        assert last.status_code == 409 and "last active administrator" in last.json()["error"]["message"]
    assert (await api.patch("/api/v1/auth/users/nope", json={"role": "operator"}, headers=admin)).status_code == 404

    audit = (await api.get("/api/v1/auth/audit", params={"object_id": ops["id"]}, headers=admin)).json()
    changes = [(e["action"], e["details"].get("to")) for e in audit["items"]]
    assert ("user.role_changed", "customer") in changes and ("user.role_changed", "operator") in changes
    role_change = next(e for e in audit["items"] if e["action"] == "user.role_changed")
    assert role_change["actor_email"] == "admin@mara.com" and role_change["actor_id"] == me["id"]


async def test_admins_reset_passwords_and_sessions_end(api: httpx.AsyncClient) -> None:
    admin = await headers_of(api, *ADMIN)
    ops_tokens = (await login(api, "ops@mara.com", "operator123")).json()
    ops_id = (await api.get("/api/v1/auth/me", headers=bearer(ops_tokens["access_token"]))).json()["id"]
    reset = await api.patch(f"/api/v1/auth/users/{ops_id}", json={"password": "temporary-one"}, headers=admin)
    assert reset.status_code == 200
    assert (await api.get("/api/v1/auth/me", headers=bearer(ops_tokens["access_token"]))).status_code == 401
    assert (await login(api, "ops@mara.com", "temporary-one")).status_code == 200


async def test_tenants_created_by_admins_and_seen_by_their_own(api: httpx.AsyncClient) -> None:
    admin = await headers_of(api, *ADMIN)
    created = await api.post("/api/v1/auth/tenants", json={"slug": "umbrella", "name": "Umbrella"}, headers=admin)
    assert created.status_code == 201 and created.json()["slug"] == "umbrella"
    assert (await api.post("/api/v1/auth/tenants", json={"slug": "umbrella", "name": "Again"},
                           headers=admin)).status_code == 409
    bad = await api.post("/api/v1/auth/tenants", json={"slug": "Not A Slug", "name": "x"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "slug"
    ops = await headers_of(api, "ops@mara.com", "operator123")
    assert (await api.get("/api/v1/auth/tenants", headers=ops)).json()["total"] == 4
    assert (await api.post("/api/v1/auth/tenants", json={"slug": "x1", "name": "x"}, headers=ops)).status_code == 403


async def test_the_audit_log_pages_newest_first_and_filters(api: httpx.AsyncClient) -> None:
    admin = await headers_of(api, *ADMIN)
    await login(api, "ops@mara.com", "wrong password")
    everything = (await api.get("/api/v1/auth/audit", headers=admin)).json()
    seqs = [e["seq"] for e in everything["items"]]
    assert seqs == sorted(seqs, reverse=True) and everything["total"] == len(seqs)
    newest = everything["items"][0]
    assert newest["action"] == "auth.login_failed" and newest["actor_id"] is None
    assert newest["details"] == {"email": "ops@mara.com", "reason": "wrong_password"}
    assert newest["address"] == "127.0.0.1" and newest["prev_hash"] == everything["items"][1]["hash"]
    logins = (await api.get("/api/v1/auth/audit", params={"action": "auth.login", "limit": 1},
                            headers=admin)).json()
    assert logins["total"] == 1 and len(logins["items"]) == 1
    assert everything["total"] >= 7  # the demo's five users created, a login, a failure
    page = (await api.get("/api/v1/auth/audit", params={"limit": 2, "offset": 2}, headers=admin)).json()
    assert [e["seq"] for e in page["items"]] == seqs[2:4]
