"""Logging in, refreshing, logging out; tokens refused when expired, forged or revoked; login
throttling; demo users in demo mode only. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from datetime import timedelta

import httpx
import jwt
from sqlalchemy import func, select
from tests.auth.conftest import bearer, client_from, login
from tests.conftest import running_app

from hcp.app import create_app
from hcp.auth import tokens
from hcp.auth.api import login_clock
from hcp.auth.models import AuditEntry
from hcp.core.clock import SteppedClock
from hcp.core.db import utcnow
from hcp.core.settings import DEMO_SECRET_KEY, Settings

OPS = ("ops@mara.com", "operator123")
ADMIN = ("admin@mara.com", "admin123")


async def audit_actions(client: httpx.AsyncClient) -> list[str]:
    async with client.app.state.platform.db.session() as session:  # type: ignore[attr-defined]
        return list((await session.execute(select(AuditEntry.action).order_by(AuditEntry.seq))).scalars())


async def test_login_issues_a_short_lived_jwt_and_a_refresh_token(api: httpx.AsyncClient) -> None:
    response = await login(api, "  Ops@MARA.com ", "operator123")
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    claims = jwt.decode(body["access_token"], DEMO_SECRET_KEY, algorithms=["HS256"])
    assert {"exp", "iat", "sub", "role", "tenant_id", "jti", "sid"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 15 * 60 and claims["role"] == "operator"
    assert len(body["refresh_token"]) >= 40 and "." not in body["refresh_token"]
    me = await api.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json() | {"id": "-"} == {"id": "-", "email": "ops@mara.com", "role": "operator",
                                       "tenant_id": None, "scopes": ["read", "write"], "api_key_id": None}
    customer = (await login(api, "john@acme.com", "customer123")).json()
    assert (await api.get("/api/v1/auth/me", headers=bearer(customer["access_token"]))).json()["tenant_id"]
    assert (await audit_actions(api)).count("auth.login") == 2


async def test_wrong_password_and_unknown_account_look_the_same(api: httpx.AsyncClient) -> None:
    wrong = await login(api, "ops@mara.com", "operator124")
    unknown = await login(api, "nobody@mara.com", "operator123")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"error": {
        "code": "invalid_credentials", "message": "invalid email or password", "details": None}}
    assert (await audit_actions(api))[-2:] == ["auth.login_failed", "auth.login_failed"]
    missing = await api.post("/api/v1/auth/login", json={"email": "ops@mara.com"})
    assert missing.status_code == 422 and missing.json()["error"]["details"][0]["field"] == "password"


async def test_oauth2_password_form_for_docs(api: httpx.AsyncClient) -> None:
    ok = await api.post("/api/v1/auth/token", data={"username": OPS[0], "password": OPS[1],
                                                    "grant_type": "password"})
    assert ok.status_code == 200 and ok.json()["token_type"] == "bearer"
    no_password = await api.post("/api/v1/auth/token", data={"username": OPS[0]})
    assert no_password.status_code == 422
    assert no_password.json()["error"]["details"][0]["field"] == "password"
    wrong_grant = await api.post("/api/v1/auth/token", data={"username": OPS[0], "password": OPS[1],
                                                             "grant_type": "client_credentials"})
    assert wrong_grant.status_code == 422 and wrong_grant.json()["error"]["details"][0]["field"] == "grant_type"
    as_json = await api.post("/api/v1/auth/token", json={"username": OPS[0], "password": OPS[1]})
    assert as_json.status_code == 422
    bad = await api.post("/api/v1/auth/token", data={"username": OPS[0], "password": "nope"})
    assert bad.status_code == 401


async def test_refresh_rotates_and_a_reused_token_ends_the_whole_session(api: httpx.AsyncClient) -> None:
    first = (await login(api, *OPS)).json()
    other_device = (await login(api, *OPS)).json()
    second = await api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second_tokens = second.json()
    assert second_tokens["refresh_token"] != first["refresh_token"]
    third = (await api.post("/api/v1/auth/refresh", json={"refresh_token": second_tokens["refresh_token"]})).json()
    assert (await api.get("/api/v1/auth/me", headers=bearer(third["access_token"]))).status_code == 200

    # The first token again: stolen and replayed, or the client's copy leaked. Either way the
    # session is compromised, so all of it ends.
    replay = await api.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "token_reused"
    latest = await api.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert latest.status_code == 401 and latest.json()["error"]["code"] == "token_revoked"
    for access in (first["access_token"], second_tokens["access_token"], third["access_token"]):
        refused = await api.get("/api/v1/auth/me", headers=bearer(access))
        assert refused.status_code == 401 and refused.json()["error"]["code"] == "token_revoked"
    assert "auth.refresh_reused" in await audit_actions(api)
    # Another login of the same user is another session, untouched.
    assert (await api.get("/api/v1/auth/me", headers=bearer(other_device["access_token"]))).status_code == 200
    unknown = await api.post("/api/v1/auth/refresh", json={"refresh_token": "made-up"})
    assert unknown.status_code == 401


async def test_concurrent_refreshes_of_one_token_let_at_most_one_through(api: httpx.AsyncClient) -> None:
    tokens_ = (await login(api, *OPS)).json()
    results = await asyncio.gather(*(
        api.post("/api/v1/auth/refresh", json={"refresh_token": tokens_["refresh_token"]}) for _ in range(5)))
    assert sum(r.status_code == 200 for r in results) <= 1
    assert all(r.status_code in (200, 401) for r in results)


async def test_logout_revokes_the_access_and_refresh_tokens(api: httpx.AsyncClient) -> None:
    session = (await login(api, *OPS)).json()
    assert (await api.post("/api/v1/auth/logout", headers=bearer(session["access_token"]))).status_code == 204
    after = await api.get("/api/v1/auth/me", headers=bearer(session["access_token"]))
    assert after.status_code == 401 and after.json()["error"]["code"] == "token_revoked"
    again = await api.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
    assert again.status_code == 401
    assert "auth.logout" in await audit_actions(api)


async def test_expired_and_forged_tokens_are_refused(api: httpx.AsyncClient) -> None:
    genuine = (await login(api, *OPS)).json()["access_token"]
    claims = jwt.decode(genuine, DEMO_SECRET_KEY, algorithms=["HS256"])
    now = utcnow()
    expired = tokens.encode_access_token(
        secret=DEMO_SECRET_KEY, user_id=claims["sub"], role="operator", tenant_id=None,
        session_id=claims["sid"], now=now - timedelta(minutes=16), lifetime=timedelta(minutes=15))
    wrong_key = jwt.encode(claims, "k" * 48, algorithm="HS256")
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    unsigned = f"{header}.{genuine.split('.')[1]}."
    promoted = jwt.encode({**claims, "role": "admin", "sid": "no-such-session"}, DEMO_SECRET_KEY, algorithm="HS256")
    outcomes = {}
    for name, token in {"expired": expired, "wrong_key": wrong_key, "alg_none": unsigned,
                        "unknown_session": promoted, "garbage": "a.b.c"}.items():
        response = await api.get("/api/v1/auth/me", headers=bearer(token))
        outcomes[name] = (response.status_code, response.json()["error"]["code"])
    assert outcomes == {"expired": (401, "token_expired"), "wrong_key": (401, "invalid_token"),
                        "alg_none": (401, "invalid_token"), "unknown_session": (401, "invalid_token"),
                        "garbage": (401, "invalid_token")}
    # The role in a token is not trusted: it comes from the database on every request.
    assert (await api.get("/api/v1/auth/users", headers=bearer(genuine))).status_code == 403


async def test_twenty_wrong_passwords_are_throttled_without_locking_out_others(api: httpx.AsyncClient) -> None:
    statuses, retry_after = [], []
    for _ in range(20):
        response = await login(api, OPS[0], "guess")
        statuses.append(response.status_code)
        if response.status_code == 429:
            retry_after.append(int(response.headers["retry-after"]))
            assert response.json()["error"]["code"] == "rate_limited"
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429] * 15
    assert all(0 < s <= 30 for s in retry_after)
    # While throttled, even the right password waits: guessing it would otherwise be possible.
    assert (await login(api, *OPS)).status_code == 429
    # Another account from the same address logs in normally...
    assert (await login(api, *ADMIN)).status_code == 200
    # ...and so does the throttled account from elsewhere: an attacker cannot lock its owner out.
    async with client_from(api.app, "198.51.100.7") as elsewhere:  # type: ignore[attr-defined]
        assert (await login(elsewhere, *OPS)).status_code == 200


async def test_parallel_guesses_cannot_slip_past_the_limit(api: httpx.AsyncClient) -> None:
    results = await asyncio.gather(*(login(api, OPS[0], f"guess-{i}") for i in range(12)))
    statuses = sorted(r.status_code for r in results)
    assert statuses.count(401) == 5 and statuses.count(429) == 7


async def test_throttling_backs_off_and_expires(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(auth={"login_failures_per_account_address": 2, "login_backoff_s": 1,
                                   "login_backoff_max_s": 2, "login_failures_per_address": 4})
    app = create_app(settings)
    clock = SteppedClock()  # the throttle's time, moved by hand instead of waited for
    app.dependency_overrides[login_clock] = lambda: clock
    async with running_app(app) as client:
        assert [(await login(client, OPS[0], "x")).status_code for _ in range(3)] == [401, 401, 429]
        await clock.advance(0.9)
        assert (await login(client, OPS[0], "x")).status_code == 429  # not yet
        await clock.advance(0.1)
        assert (await login(client, OPS[0], "x")).status_code == 401  # one more try, then a longer wait
        blocked = await login(client, OPS[0], "x")
        assert blocked.status_code == 429 and blocked.headers["retry-after"] == "2"
        await clock.advance(2)
        assert (await login(client, *OPS)).status_code == 200  # backoff, not lockout
        assert (await login(client, OPS[0], "x")).status_code == 401  # and the slate is clean
        # One address trying many accounts is throttled as an address (4 failures so far).
        assert (await login(client, "a@example.com", "x")).status_code == 429
        async with client_from(client._transport.app, "203.0.113.5") as other:  # type: ignore[attr-defined]
            assert (await login(other, *ADMIN)).status_code == 200


async def test_a_disabled_user_is_locked_out_at_once(api: httpx.AsyncClient) -> None:
    admin = bearer((await login(api, *ADMIN)).json()["access_token"])
    ops_session = (await login(api, *OPS)).json()
    ops_id = (await api.get("/api/v1/auth/me", headers=bearer(ops_session["access_token"]))).json()["id"]
    disabled = await api.patch(f"/api/v1/auth/users/{ops_id}", json={"is_active": False}, headers=admin)
    assert disabled.status_code == 200 and disabled.json()["is_active"] is False
    assert (await api.get("/api/v1/auth/me", headers=bearer(ops_session["access_token"]))).status_code == 401
    assert (await api.post("/api/v1/auth/refresh",
                           json={"refresh_token": ops_session["refresh_token"]})).status_code == 401
    assert (await login(api, *OPS)).json()["error"]["message"] == "invalid email or password"
    await api.patch(f"/api/v1/auth/users/{ops_id}", json={"is_active": True}, headers=admin)
    assert (await login(api, *OPS)).status_code == 200
    assert {"user.disabled", "user.enabled"} <= set(await audit_actions(api))


async def test_changing_ones_password_ends_other_sessions(api: httpx.AsyncClient) -> None:
    here = (await login(api, *OPS)).json()
    there = (await login(api, *OPS)).json()
    wrong = await api.post("/api/v1/auth/me/password", headers=bearer(here["access_token"]),
                           json={"current_password": "nope", "new_password": "a much better one"})
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["field"] == "current_password"
    short = await api.post("/api/v1/auth/me/password", headers=bearer(here["access_token"]),
                           json={"current_password": OPS[1], "new_password": "short"})
    assert short.status_code == 422 and short.json()["error"]["details"][0]["field"] == "new_password"
    done = await api.post("/api/v1/auth/me/password", headers=bearer(here["access_token"]),
                          json={"current_password": OPS[1], "new_password": "a much better one"})
    assert done.status_code == 204
    assert (await api.get("/api/v1/auth/me", headers=bearer(here["access_token"]))).status_code == 200
    assert (await api.get("/api/v1/auth/me", headers=bearer(there["access_token"]))).status_code == 401
    assert (await login(api, *OPS)).status_code == 401
    assert (await login(api, OPS[0], "a much better one")).status_code == 200


async def test_demo_users_log_in_only_in_demo_mode(make_settings: Callable[..., Settings]) -> None:
    demo = make_settings()
    demo_app = create_app(demo)
    async with running_app(demo_app) as client:
        for email, password in (ADMIN, OPS, ("john@acme.com", "customer123")):
            assert (await login(client, email, password)).status_code == 200
        admin = bearer((await login(client, *ADMIN)).json()["access_token"])
        key = (await client.post("/api/v1/auth/api-keys", json={"name": "ci", "scopes": ["read"]},
                                 headers=admin)).json()["key"]
        assert (await client.get("/api/v1/auth/me", headers={"X-API-Key": key})).status_code == 200

    # The same database, served for real: the demo accounts and their keys are inert.
    production = make_settings(demo=False, secret_key="p" * 40, database_url=demo.database_url,
                               auth={"bootstrap_admin_email": "root@example.com",
                                     "bootstrap_admin_password": "a real secret"})
    prod_app = create_app(production)
    async with running_app(prod_app) as client:
        for email, password in (ADMIN, OPS, ("john@acme.com", "customer123")):
            refused = await login(client, email, password)
            assert refused.status_code == 401 and refused.json()["error"]["message"] == "invalid email or password"
        assert (await client.get("/api/v1/auth/me", headers={"X-API-Key": key})).status_code == 401
        assert (await login(client, "root@example.com", "a real secret")).status_code == 200
        async with prod_app.state.platform.db.session() as session:
            reasons = (await session.execute(select(AuditEntry.details).where(
                AuditEntry.action == "auth.login_failed"))).scalars().all()
        assert {r["reason"] for r in reasons} == {"demo_user_outside_demo_mode"}


async def test_the_bootstrap_admin_is_created_once(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(demo=False, secret_key="p" * 40,
                             auth={"bootstrap_admin_email": "Root@Example.com",
                                   "bootstrap_admin_password": "first secret"})
    async with running_app(create_app(settings)) as client:
        assert (await login(client, "root@example.com", "first secret")).status_code == 200
    again = make_settings(demo=False, secret_key="p" * 40, database_url=settings.database_url,
                          auth={"bootstrap_admin_email": "root@example.com",
                                "bootstrap_admin_password": "second secret"})
    app = create_app(again)
    async with running_app(app) as client:
        assert (await login(client, "root@example.com", "second secret")).status_code == 401
        assert (await login(client, "root@example.com", "first secret")).status_code == 200
        async with app.state.platform.db.session() as session:
            created = await session.scalar(select(func.count()).select_from(AuditEntry).where(
                AuditEntry.action == "user.created"))
        assert created == 1
    assert json.dumps(settings.auth.model_dump(mode="json")).count("first secret") == 0

