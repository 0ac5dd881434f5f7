"""The RBAC building blocks of hcp.core.security and the authenticated-by-default router, as
another domain would use them: HTTP and WebSocket routes, plain sub-routers, tenant isolation."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, WebSocket
from sqlalchemy import column, select, table
from tests.conftest import DEMO_CREDENTIALS, login_headers, running_app

from hcp.app import create_app
from hcp.core.errors import NotFound
from hcp.core.routing import domain_router
from hcp.core.security import (
    CurrentUser,
    OperatorUser,
    Principal,
    can_see,
    ensure_visible,
    public,
    require_role,
    require_scope,
    tenant_filter,
)
from hcp.core.settings import Settings

ACME_USER = Principal(id="u1", email="a@acme.com", role="customer", tenant_id="acme",
                      scopes=frozenset({"read", "write"}))
OPERATOR = Principal(id="u2", email="o@mara.com", role="operator", tenant_id=None,
                     scopes=frozenset({"read", "write"}), api_key_id="k1")


def test_requirements_name_only_known_roles_and_scopes() -> None:
    with pytest.raises(ValueError):
        require_role("root")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        require_role()
    with pytest.raises(ValueError):
        require_scope("delete")  # type: ignore[arg-type]
    assert OPERATOR.is_api_key and OPERATOR.is_staff and not ACME_USER.is_staff


def test_tenant_isolation_helpers() -> None:
    workloads = table("workloads", column("id"), column("tenant_id"))
    as_customer = str(select(workloads).where(tenant_filter(ACME_USER, workloads.c.tenant_id)))
    as_staff = str(select(workloads).where(tenant_filter(OPERATOR, workloads.c.tenant_id)))
    assert "tenant_id = :tenant_id_1" in as_customer and "tenant_id" not in as_staff.split("WHERE")[-1]
    assert can_see(ACME_USER, "acme") and not can_see(ACME_USER, "globex") and not can_see(ACME_USER, None)
    assert can_see(OPERATOR, "globex")
    ensure_visible(ACME_USER, "acme", what="workload", id="w1")
    with pytest.raises(NotFound) as hidden:
        ensure_visible(ACME_USER, "globex", what="workload", id="w2")
    assert hidden.value.message == "no workload w2"


def demo_domain() -> APIRouter:
    """A domain as a later engineer writes one."""
    router = domain_router("widgets")

    @router.get("/widgets")
    async def widgets(principal: CurrentUser) -> dict[str, Any]:
        return {"for": principal.email}

    @router.post("/widgets/reset", dependencies=[require_role("operator")])
    async def reset() -> dict[str, str]:
        return {"reset": "ok"}

    @public  # above the route decorator: too late, the route is protected (fails closed)
    @router.get("/widgets/misplaced")
    async def misplaced() -> dict[str, str]:
        return {"public": "no"}

    @router.get("/widgets/catalogue")
    @public
    async def catalogue() -> dict[str, str]:
        return {"public": "yes"}

    plain = APIRouter()

    @plain.get("/widgets/plain")
    async def from_a_plain_router() -> dict[str, str]:
        return {"plain": "still protected"}

    router.include_router(plain)

    @router.websocket("/widgets/live")
    async def live(websocket: WebSocket, principal: OperatorUser) -> None:
        await websocket.accept()
        await websocket.send_json({"for": principal.email})
        await websocket.close()

    return router


@pytest.fixture
def app(make_settings: Callable[..., Settings]) -> FastAPI:
    application = create_app(make_settings())
    application.include_router(demo_domain(), prefix="/api/v1")
    return application


async def test_a_new_domain_is_authenticated_by_default(app: FastAPI) -> None:
    async with running_app(app) as client:
        ops = await login_headers(client, *DEMO_CREDENTIALS["operator"])
        customer = await login_headers(client, *DEMO_CREDENTIALS["customer"])
        for path in ("/api/v1/widgets", "/api/v1/widgets/misplaced", "/api/v1/widgets/plain"):
            assert (await client.get(path)).status_code == 401, path
            assert (await client.get(path, headers=ops)).status_code == 200, path
        assert (await client.get("/api/v1/widgets/catalogue")).json() == {"public": "yes"}
        assert (await client.get("/api/v1/widgets/health")).status_code == 200
        assert (await client.post("/api/v1/widgets/reset", headers=customer)).status_code == 403
        assert (await client.post("/api/v1/widgets/reset", headers=ops)).status_code == 200


async def websocket_session(app: FastAPI, path: str, query: str = "",
                            headers: list[tuple[bytes, bytes]] | None = None) -> list[dict[str, Any]]:
    """Connect to a WebSocket route over raw ASGI; the messages the app sent."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await inbox.put({"type": "websocket.connect"})
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "websocket.close":
            await inbox.put({"type": "websocket.disconnect", "code": 1000})

    scope = {"type": "websocket", "asgi": {"version": "3.0"}, "scheme": "ws", "path": path,
             "raw_path": path.encode(), "root_path": "", "query_string": query.encode(),
             "headers": headers or [], "client": ("127.0.0.1", 50000), "server": ("hcp.test", 80),
             "subprotocols": [], "state": {}}
    await asyncio.wait_for(app(scope, inbox.get, send), timeout=5)
    return sent


async def test_websockets_authenticate_by_header_or_token_query(app: FastAPI) -> None:
    async with running_app(app) as client:
        ops = await login_headers(client, *DEMO_CREDENTIALS["operator"])
        customer = await login_headers(client, *DEMO_CREDENTIALS["customer"])
        token = ops["Authorization"].removeprefix("Bearer ")
        anonymous = await websocket_session(app, "/api/v1/widgets/live")
        assert anonymous[0]["type"] == "websocket.close" and anonymous[0]["code"] == 1008
        by_query = await websocket_session(app, "/api/v1/widgets/live", f"token={token}")
        assert [m["type"] for m in by_query] == ["websocket.accept", "websocket.send", "websocket.close"]
        assert json.loads(by_query[1]["text"]) == {"for": "ops@mara.com"}
        by_header = await websocket_session(app, "/api/v1/widgets/live",
                                            headers=[(b"authorization", ops["Authorization"].encode())])
        assert by_header[0]["type"] == "websocket.accept"
        wrong_role = await websocket_session(app, "/api/v1/widgets/live",
                                             f"token={customer['Authorization'].removeprefix('Bearer ')}")
        assert wrong_role[0]["type"] == "websocket.close" and wrong_role[0]["code"] == 1008
        # A query-string token is for WebSockets only: URLs end up in access logs.
        assert (await client.get(f"/api/v1/widgets?token={token}")).status_code == 401


async def test_the_principal_carries_the_callers_address_and_session(app: FastAPI) -> None:
    seen: list[Principal] = []
    router = domain_router("probe")

    @router.get("/probe/whoami")
    async def whoami(principal: CurrentUser) -> dict[str, str]:
        seen.append(principal)
        return {"id": principal.id}

    app.include_router(router, prefix="/api/v1")
    async with running_app(app) as client:
        ops = await login_headers(client, *DEMO_CREDENTIALS["operator"])
        response = await client.get("/api/v1/probe/whoami", headers=ops)
        assert response.status_code == 200 and seen[0].address == "127.0.0.1"
        assert seen[0].session_id is not None and not seen[0].is_api_key
