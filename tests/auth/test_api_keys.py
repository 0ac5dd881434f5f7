"""API keys: shown once, stored hashed, work for exactly their scopes, stop the moment they are
revoked, never exceed what their owner's role allows now."""

from __future__ import annotations

from datetime import timedelta
from itertools import combinations

import httpx
from sqlalchemy import select, update
from tests.auth.conftest import bearer, login

from hcp.auth.models import ApiKey
from hcp.auth.tokens import sha256_hex
from hcp.core.db import utcnow

ADMIN = ("admin@mara.com", "admin123")
SCOPE_SETS = [set(c) for n in (1, 2, 3) for c in combinations(("read", "write", "admin"), n)]


async def admin_headers(api: httpx.AsyncClient) -> dict[str, str]:
    return bearer((await login(api, *ADMIN)).json()["access_token"])


async def new_key(api: httpx.AsyncClient, headers: dict[str, str], scopes: list[str],
                  name: str = "ci") -> dict[str, str]:
    response = await api.post("/api/v1/auth/api-keys", json={"name": name, "scopes": scopes}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def test_a_key_is_shown_once_and_stored_only_as_a_hash(api: httpx.AsyncClient) -> None:
    admin = await admin_headers(api)
    created = await new_key(api, admin, ["read", "write"])
    assert created["key"].startswith("hcp_") and created["hint"] == f"hcp_...{created['key'][-4:]}"
    assert created["scopes"] == ["read", "write"] and created["revoked_at"] is None
    listed = (await api.get("/api/v1/auth/api-keys", headers=admin)).json()
    assert listed["total"] == 1 and "key" not in listed["items"][0]
    assert listed["items"][0]["hint"] == created["hint"]
    async with api.app.state.platform.db.session() as session:  # type: ignore[attr-defined]
        stored = (await session.execute(select(ApiKey))).scalar_one()
    assert stored.key_hash == sha256_hex(created["key"])
    assert created["key"] not in repr(stored.__dict__)


async def test_a_key_works_for_exactly_its_scopes(api: httpx.AsyncClient) -> None:
    admin = await admin_headers(api)
    victim = await new_key(api, admin, ["read"], name="to be revoked by others")
    for n, scopes in enumerate(SCOPE_SETS):
        key = (await new_key(api, admin, sorted(scopes), name=f"k{n}"))["key"]
        headers = {"X-API-Key": key}
        # (request, the scopes it needs): reading, writing, administration (read or write too).
        checks = [
            (("GET", "/api/v1/auth/me", None), {"read"}),
            (("GET", "/api/v1/auth/users", None), {"read", "admin"}),
            (("POST", "/api/v1/auth/tenants", {"slug": f"t{n}", "name": "T"}), {"write", "admin"}),
            (("DELETE", f"/api/v1/auth/api-keys/{victim['id']}", None), {"write"}),
        ]
        for (method, path, body), needs in checks:
            response = await api.request(method, path, json=body, headers=headers)
            allowed = needs <= scopes
            assert response.status_code == ({"GET": 200, "POST": 201, "DELETE": 204}[method] if allowed else 403), \
                (scopes, method, path, response.text)
            if not allowed:
                assert response.json()["error"]["code"] == "insufficient_scope"
        me = await api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {key}"})
        assert me.status_code == (200 if "read" in scopes else 403)
        if "read" in scopes:
            assert set(me.json()["scopes"]) == scopes and me.json()["api_key_id"]


async def test_a_revoked_key_stops_at_once(api: httpx.AsyncClient) -> None:
    admin = await admin_headers(api)
    created = await new_key(api, admin, ["read", "write"])
    headers = {"X-API-Key": created["key"]}
    assert (await api.get("/api/v1/auth/me", headers=headers)).status_code == 200
    assert (await api.delete(f"/api/v1/auth/api-keys/{created['id']}", headers=admin)).status_code == 204
    refused = await api.get("/api/v1/auth/me", headers=headers)
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "api_key_revoked"
    assert (await api.delete(f"/api/v1/auth/api-keys/{created['id']}", headers=admin)).status_code == 204
    listed = (await api.get("/api/v1/auth/api-keys", headers=admin)).json()["items"]
    assert listed[0]["revoked_at"] is not None
    audit = (await api.get("/api/v1/auth/audit", params={"object_id": created["id"]}, headers=admin)).json()
    assert [e["action"] for e in audit["items"]] == ["api_key.revoked", "api_key.created"]


async def test_a_key_can_revoke_itself_but_cannot_mint_keys_or_log_out(api: httpx.AsyncClient) -> None:
    admin = await admin_headers(api)
    created = await new_key(api, admin, ["read", "write", "admin"])
    headers = {"X-API-Key": created["key"]}
    mint = await api.post("/api/v1/auth/api-keys", json={"name": "child", "scopes": ["read"]}, headers=headers)
    assert mint.status_code == 403
    assert (await api.post("/api/v1/auth/logout", headers=headers)).status_code == 403
    assert (await api.delete(f"/api/v1/auth/api-keys/{created['id']}", headers=headers)).status_code == 204
    assert (await api.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_scopes_are_bounded_by_the_role_now_and_at_creation(api: httpx.AsyncClient) -> None:
    admin = await admin_headers(api)
    ops = bearer((await login(api, "ops@mara.com", "operator123")).json()["access_token"])
    too_much = await api.post("/api/v1/auth/api-keys", json={"name": "x", "scopes": ["read", "admin"]}, headers=ops)
    assert too_much.status_code == 422 and too_much.json()["error"]["details"][0]["field"] == "scopes"
    for bad in ({"name": "x", "scopes": []}, {"name": "x", "scopes": ["root"]},
                {"name": "x", "scopes": ["read", "read"]}, {"name": "", "scopes": ["read"]},
                {"name": "x", "scopes": ["read"], "expires_in_days": 0}):
        response = await api.post("/api/v1/auth/api-keys", json=bad, headers=ops)
        assert response.status_code == 422, bad

    # An admin's key with the admin scope loses it the moment its owner is demoted.
    created = await api.post("/api/v1/auth/users", headers=admin, json={
        "email": "second@mara.com", "password": "long enough", "role": "admin"})
    second_id = created.json()["id"]
    second = bearer((await login(api, "second@mara.com", "long enough")).json()["access_token"])
    key = {"X-API-Key": (await new_key(api, second, ["read", "write", "admin"]))["key"]}
    assert (await api.get("/api/v1/auth/users", headers=key)).status_code == 200
    await api.patch(f"/api/v1/auth/users/{second_id}", json={"role": "operator"}, headers=admin)
    assert (await api.get("/api/v1/auth/users", headers=key)).status_code == 403
    me = (await api.get("/api/v1/auth/me", headers=key)).json()
    assert me["role"] == "operator" and me["scopes"] == ["read", "write"]


async def test_expired_keys_are_refused_and_use_is_recorded(api: httpx.AsyncClient) -> None:
    admin = await admin_headers(api)
    created = await api.post("/api/v1/auth/api-keys", headers=admin,
                             json={"name": "temp", "scopes": ["read"], "expires_in_days": 1})
    body = created.json()
    assert body["expires_at"] is not None and body["last_used_at"] is None
    assert (await api.get("/api/v1/auth/me", headers={"X-API-Key": body["key"]})).status_code == 200
    listed = (await api.get("/api/v1/auth/api-keys", headers=admin)).json()["items"][0]
    assert listed["last_used_at"] is not None
    async with api.app.state.platform.db.transaction() as session:  # type: ignore[attr-defined]
        await session.execute(update(ApiKey).values(expires_at=utcnow() - timedelta(seconds=1)))
    refused = await api.get("/api/v1/auth/me", headers={"X-API-Key": body["key"]})
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "api_key_expired"


async def test_admins_may_see_and_revoke_anyones_keys(api: httpx.AsyncClient) -> None:
    admin = await admin_headers(api)
    john = bearer((await login(api, "john@acme.com", "customer123")).json()["access_token"])
    johns = await new_key(api, john, ["read"])
    john_id = (await api.get("/api/v1/auth/me", headers=john)).json()["id"]
    seen = (await api.get("/api/v1/auth/api-keys", params={"user_id": john_id}, headers=admin)).json()
    assert [k["id"] for k in seen["items"]] == [johns["id"]]
    assert (await api.delete(f"/api/v1/auth/api-keys/{johns['id']}", headers=admin)).status_code == 204
    assert (await api.get("/api/v1/auth/me", headers={"X-API-Key": johns["key"]})).status_code == 401
    assert (await api.delete("/api/v1/auth/api-keys/nope", headers=admin)).status_code == 404
