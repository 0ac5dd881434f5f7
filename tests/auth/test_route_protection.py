"""Every route of the app, found by walking the app (so a new route cannot be forgotten):
public only by explicit exception, 401 anonymously, 403 for a role it does not admit, and 404
for a customer asking for another tenant's object."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts
from tests.conftest import DEMO_CREDENTIALS, login_headers, running_app

from hcp.alerts import rules, service
from hcp.app import ALL_DOMAINS, API_PREFIX, create_app
from hcp.core.security import ROLES, RoleRequirement, authenticate
from hcp.core.settings import Settings

# Routes of the process itself (not a domain's): all public, and only these.
APP_ROUTES = {"/", "/health", "/ready", "/metrics", "/docs", "/docs/oauth2-redirect", "/redoc",
              "/openapi.json",
              # The WebSocket accepts, then authenticates, so that a bad credential closes it with
              # 1008 (tests/realtime/test_ws.py checks it refuses anonymous and forged callers).
              "/ws"}
# The explicit exceptions to "authenticated by default".
PUBLIC_API_ROUTES = {
    ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/token"), ("POST", "/api/v1/auth/refresh"),
    *{("GET", f"/api/v1/{domain}/health") for domain in ALL_DOMAINS},
}
ALL = set(ROLES)
STAFF = {"admin", "operator"}
# Who may call what, pinned for the routes that exist today, so a lost role check shows.
EXPECTED_ROLES = {
    ("POST", "/api/v1/auth/logout"): ALL,
    ("GET", "/api/v1/auth/me"): ALL,
    ("POST", "/api/v1/auth/me/password"): ALL,
    ("GET", "/api/v1/auth/users"): {"admin"},
    ("POST", "/api/v1/auth/users"): {"admin"},
    ("GET", "/api/v1/auth/users/{user_id}"): {"admin"},
    ("PATCH", "/api/v1/auth/users/{user_id}"): {"admin"},
    ("GET", "/api/v1/auth/tenants"): ALL,
    ("POST", "/api/v1/auth/tenants"): {"admin"},
    ("GET", "/api/v1/auth/tenants/{tenant_id}"): ALL,
    ("GET", "/api/v1/auth/api-keys"): ALL,
    ("POST", "/api/v1/auth/api-keys"): ALL,
    ("DELETE", "/api/v1/auth/api-keys/{key_id}"): ALL,
    ("GET", "/api/v1/auth/audit"): {"admin"},
    ("GET", "/api/v1/auth/audit/verify"): {"admin"},
    ("GET", "/api/v1/auth/audit/export.csv"): {"admin"},
    ("GET", "/api/v1/sim/units"): STAFF,
    ("GET", "/api/v1/sim/units/{unit_id}"): STAFF,
    ("POST", "/api/v1/sim/units/{unit_id}/fault"): STAFF,
    ("DELETE", "/api/v1/sim/units/{unit_id}/fault"): STAFF,
    ("POST", "/api/v1/sim/switch"): STAFF,
    ("GET", "/api/v1/sim/switching/stats"): STAFF,
    ("GET", "/api/v1/sim/market"): STAFF,
    ("GET", "/api/v1/sim/clock"): STAFF,
    ("PUT", "/api/v1/sim/clock"): STAFF,
    ("GET", "/api/v1/facilities"): ALL,
    ("GET", "/api/v1/resources"): ALL,
    ("GET", "/api/v1/resources/capacity"): ALL,
    ("GET", "/api/v1/resources/{unit_id}/telemetry"): ALL,
    ("PUT", "/api/v1/facilities/{facility_id}/racks/{rack_id}"): STAFF,
    ("POST", "/api/v1/resources/discover"): STAFF,
    ("POST", "/api/v1/resources/agents/register"): STAFF,
    ("GET", "/api/v1/resources/allocations"): STAFF,
    ("POST", "/api/v1/resources/allocations"): STAFF,
    ("POST", "/api/v1/resources/allocations/release"): STAFF,
    ("PATCH", "/api/v1/resources/{unit_id}"): STAFF,
    ("POST", "/api/v1/resources/{unit_id}/commands"): STAFF,
    ("POST", "/api/v1/economics/optimize"): STAFF,
    ("GET", "/api/v1/economics/plan"): STAFF,
    ("GET", "/api/v1/economics/profitability"): STAFF,
    ("GET", "/api/v1/economics/recommendations"): STAFF,
    ("GET", "/api/v1/economics/demand-response"): STAFF,
    ("POST", "/api/v1/economics/demand-response"): STAFF,
    ("DELETE", "/api/v1/economics/demand-response/{event_id}"): STAFF,
    ("POST", "/api/v1/economics/backtest"): STAFF,
    ("GET", "/api/v1/market/prices"): ALL,
    ("GET", "/api/v1/market/history"): ALL,
    ("POST", "/api/v1/workloads"): ALL,
    ("GET", "/api/v1/workloads"): ALL,
    ("GET", "/api/v1/workloads/{workload_id}"): ALL,
    ("POST", "/api/v1/workloads/{workload_id}/cancel"): ALL,
    ("GET", "/api/v1/orchestrator/switches"): STAFF,
    ("GET", "/api/v1/billing/rates"): ALL,
    ("POST", "/api/v1/billing/estimate"): ALL,
    ("GET", "/api/v1/billing/usage"): ALL,
    ("GET", "/api/v1/billing/budget"): ALL,
    ("PUT", "/api/v1/billing/budget"): {"admin", "customer"},
    ("GET", "/api/v1/billing/invoices"): ALL,
    ("POST", "/api/v1/billing/invoices"): {"admin"},
    ("GET", "/api/v1/billing/invoices/{invoice_id}"): ALL,
    ("GET", "/api/v1/billing/invoices/{invoice_id}/pdf"): ALL,
    ("POST", "/api/v1/billing/invoices/{invoice_id}/pay"): {"admin", "customer"},
    ("POST", "/api/v1/billing/invoices/{invoice_id}/issue"): {"admin"},
    ("POST", "/api/v1/billing/invoices/{invoice_id}/void"): {"admin"},
    ("POST", "/api/v1/billing/invoices/{invoice_id}/correct"): {"admin"},
    ("GET", "/api/v1/billing/revenue"): {"admin"},
    ("GET", "/api/v1/alerts"): ALL,
    ("GET", "/api/v1/alerts/{alert_id}"): ALL,
    ("POST", "/api/v1/alerts/{alert_id}/ack"): ALL,
    ("POST", "/api/v1/alerts/{alert_id}/resolve"): STAFF,
    ("GET", "/api/v1/realtime/channels"): ALL,
}


@dataclass(frozen=True)
class Endpoint:
    method: str  # "WEBSOCKET" for a WebSocket route
    path: str
    dependant: Dependant | None

    @property
    def calls(self) -> list[Any]:
        """Every dependency callable under this route, depth first."""
        def walk(dep: Dependant) -> Iterator[Any]:
            for sub in dep.dependencies:
                yield sub.call
                yield from walk(sub)
        return list(walk(self.dependant)) if self.dependant is not None else []

    @property
    def protected(self) -> bool:
        return authenticate in self.calls

    @property
    def roles(self) -> set[str]:
        allowed = set(ROLES)
        for call in self.calls:
            if isinstance(call, RoleRequirement):
                allowed &= call.roles
        return allowed

    def url(self) -> str:
        return re.sub(r"\{[^}]+\}", "x", self.path)


def endpoints(app: FastAPI) -> list[Endpoint]:
    found = []
    for ctx in iter_route_contexts(app.routes):
        methods = ctx.methods or {"WEBSOCKET"}
        for method in sorted(methods - {"HEAD"}):
            found.append(Endpoint(method, ctx.path, getattr(ctx, "dependant", None)))
    return found


@pytest.fixture
def app(make_settings: Callable[..., Settings]) -> FastAPI:
    return create_app(make_settings())


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with running_app(app) as client:
        client.app = app  # type: ignore[attr-defined]  # for checks that need objects no route makes
        yield client


def test_every_route_is_public_by_exception_or_protected(app: FastAPI) -> None:
    found = endpoints(app)
    api = [e for e in found if e.path.startswith(API_PREFIX + "/")]
    outside = {e.path for e in found if not e.path.startswith(API_PREFIX + "/")}
    assert outside <= APP_ROUTES, f"routes outside {API_PREFIX} must be listed here: {outside - APP_ROUTES}"
    public = {(e.method, e.path) for e in api if not e.protected}
    assert public == PUBLIC_API_ROUTES, (
        f"unexpected public routes {public - PUBLIC_API_ROUTES}; "
        f"protected though meant public {PUBLIC_API_ROUTES - public}"
    )
    # The walk saw what OpenAPI documents, and more (routes hidden from the schema).
    documented = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert documented <= {(e.method, e.path) for e in found}
    for key, roles in EXPECTED_ROLES.items():
        endpoint = next((e for e in api if (e.method, e.path) == key), None)
        assert endpoint is not None, f"{key} is gone: update EXPECTED_ROLES"
        assert endpoint.roles == roles, f"{key} admits {endpoint.roles}, expected {roles}"


def test_protected_routes_are_documented_as_needing_a_credential(app: FastAPI) -> None:
    doc = app.openapi()
    assert {"OAuth2PasswordBearer", "APIKeyHeader"} <= set(doc["components"]["securitySchemes"])
    assert doc["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] \
        == "/api/v1/auth/token"
    assert "security" in doc["paths"]["/api/v1/auth/me"]["get"]
    assert "security" not in doc["paths"]["/api/v1/auth/login"]["post"]


async def test_anonymous_and_forged_callers_get_401_everywhere(app: FastAPI, http: httpx.AsyncClient) -> None:
    protected = [e for e in endpoints(app) if e.path.startswith(API_PREFIX) and e.protected
                 and e.method != "WEBSOCKET"]
    assert len(protected) >= len(EXPECTED_ROLES)
    for endpoint in protected:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"X-API-Key": "hcp_nonsense"},
                        {"Authorization": "Basic YWRtaW5AbWFyYS5jb206YWRtaW4xMjM="}):
            response = await http.request(endpoint.method, endpoint.url(), headers=headers)
            assert response.status_code == 401, (endpoint, headers, response.text)
            assert response.json()["error"]["code"] in ("unauthorized", "invalid_token", "invalid_api_key")
            assert response.headers["www-authenticate"] == "Bearer"


async def test_roles_a_route_does_not_admit_get_403(app: FastAPI, http: httpx.AsyncClient) -> None:
    headers = {role: await login_headers(http, *creds) for role, creds in DEMO_CREDENTIALS.items()}
    checked = 0
    for endpoint in endpoints(app):
        if not endpoint.protected or endpoint.method == "WEBSOCKET":
            continue
        for role in sorted(set(ROLES) - endpoint.roles):
            response = await http.request(endpoint.method, endpoint.url(), headers=headers[role])
            assert response.status_code == 403, (endpoint, role, response.text)
            assert response.json()["error"]["code"] == "forbidden"
            checked += 1
    assert checked >= 20


# --- tenant isolation ----------------------------------------------------------------------
# Each route a customer may call that names an object by id is listed here, with a check that
# another tenant's object is 404 to them; a route added without one fails the guard below.

TenantCheck = Callable[[httpx.AsyncClient, dict[str, dict[str, str]]], Awaitable[None]]


async def _tenants_of_others_are_not_found(http: httpx.AsyncClient, headers: dict[str, dict[str, str]]) -> None:
    all_tenants = (await http.get("/api/v1/auth/tenants", headers=headers["admin"])).json()["items"]
    globex = next(t for t in all_tenants if t["slug"] == "globex")
    acme = next(t for t in all_tenants if t["slug"] == "acme")
    other = await http.get(f"/api/v1/auth/tenants/{globex['id']}", headers=headers["customer"])
    missing = await http.get("/api/v1/auth/tenants/no-such-tenant", headers=headers["customer"])
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    own = await http.get(f"/api/v1/auth/tenants/{acme['id']}", headers=headers["customer"])
    assert own.status_code == 200 and own.json()["slug"] == "acme"
    listed = (await http.get("/api/v1/auth/tenants", headers=headers["customer"])).json()
    assert listed["total"] == 1 and [t["slug"] for t in listed["items"]] == ["acme"]


async def _keys_of_others_are_not_found(http: httpx.AsyncClient, headers: dict[str, dict[str, str]]) -> None:
    maria = await login_headers(http, "maria@globex.com", "customer123")
    created = await http.post("/api/v1/auth/api-keys", json={"name": "globex ci", "scopes": ["read"]},
                              headers=maria)
    key_id, key = created.json()["id"], created.json()["key"]
    for role in ("customer", "operator"):
        gone = await http.delete(f"/api/v1/auth/api-keys/{key_id}", headers=headers[role])
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "not_found"
    assert (await http.get("/api/v1/auth/me", headers={"X-API-Key": key})).status_code == 200
    mine = (await http.get("/api/v1/auth/api-keys", headers=headers["customer"])).json()
    assert key_id not in {k["id"] for k in mine["items"]}
    maria_id = (await http.get("/api/v1/auth/me", headers=maria)).json()["id"]
    peek = await http.get("/api/v1/auth/api-keys", params={"user_id": maria_id}, headers=headers["customer"])
    assert peek.status_code == 404


async def _globex_workload(http: httpx.AsyncClient, headers: dict[str, dict[str, str]]) -> str:
    """A workload of Globex (another tenant than the demo customer's), on a GPU an agent announced."""
    gpu = await http.post("/api/v1/resources/agents/register", headers=headers["admin"], json={
        "driver": "nvml", "address": "nvml://GPU-route-check", "facility_id": "tx-north", "push": True,
        "model": "H100", "serial": "GPU-route-check"})
    assert gpu.status_code == 200, gpu.text
    maria = await login_headers(http, "maria@globex.com", "customer123")
    created = await http.post("/api/v1/workloads", headers=maria, json={
        "name": "globex-train", "type": "ai_training", "priority": 5, "gpu_model": "H100", "gpu_count": 1,
        "duration_s": 3600})
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def _workloads_of_others_are_not_found(http: httpx.AsyncClient, headers: dict[str, dict[str, str]]) -> None:
    workload_id = await _globex_workload(http, headers)
    other = await http.get(f"/api/v1/workloads/{workload_id}", headers=headers["customer"])
    missing = await http.get("/api/v1/workloads/no-such-workload", headers=headers["customer"])
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    listed = (await http.get("/api/v1/workloads", headers=headers["customer"])).json()
    assert workload_id not in {w["id"] for w in listed["items"]}
    seen = await http.get(f"/api/v1/workloads/{workload_id}", headers=headers["operator"])
    assert seen.status_code == 200 and seen.json()["name"] == "globex-train"


async def _others_workloads_cannot_be_cancelled(http: httpx.AsyncClient, headers: dict[str, dict[str, str]]) -> None:
    workload_id = await _globex_workload(http, headers)
    other = await http.post(f"/api/v1/workloads/{workload_id}/cancel", headers=headers["customer"])
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    still = (await http.get(f"/api/v1/workloads/{workload_id}", headers=headers["admin"])).json()
    assert still["status"] != "cancelled"


async def _invoices_of_others_are_not_found(http: httpx.AsyncClient, headers: dict[str, dict[str, str]]) -> None:
    maria = await login_headers(http, "maria@globex.com", "customer123")
    theirs = (await http.get("/api/v1/billing/invoices", headers=maria)).json()["items"]
    invoice_id = next(i["id"] for i in theirs if i["status"] == "issued")
    for method, suffix, extra in (("GET", "", {}), ("GET", "/pdf", {}),
                                  ("POST", "/pay", {"Idempotency-Key": "route-check"})):
        other = await http.request(method, f"/api/v1/billing/invoices/{invoice_id}{suffix}",
                                   headers={**headers["customer"], **extra})
        missing = await http.request(method, f"/api/v1/billing/invoices/no-such-invoice{suffix}",
                                     headers={**headers["customer"], **extra})
        assert other.status_code == missing.status_code == 404, (suffix, other.text)
        assert other.json()["error"]["code"] == "not_found"
    mine = (await http.get("/api/v1/billing/invoices", headers=headers["customer"])).json()["items"]
    assert invoice_id not in {i["id"] for i in mine}
    still = (await http.get(f"/api/v1/billing/invoices/{invoice_id}", headers=maria)).json()
    assert still["status"] == "issued"


async def _alerts_of_others_are_not_found(http: httpx.AsyncClient, headers: dict[str, dict[str, str]]) -> None:
    """Globex's budget alert and a fleet alert are not the demo customer's: not found, not acked."""
    platform = http.app.state.platform  # type: ignore[attr-defined]
    tenants = (await http.get("/api/v1/auth/tenants", headers=headers["admin"])).json()["items"]
    globex = next(t["id"] for t in tenants if t["slug"] == "globex")
    budget = rules.budget_verdict({"tenant_id": globex, "month": "2026-11", "threshold_pct": 80,
                                   "spent_usd": "80.00", "limit_usd": "100.00"})
    hot = rules.Verdict("unit", "asic-route-check", rules.UNIT_RULES, (
        rules.Cause("temperature:asic-route-check", "temperature", "warning", "asic-route-check is hot"),))
    async with platform.db.transaction() as session:
        ids = [alert.id for verdict in (budget, hot) if verdict is not None
               for _, alert in await service.apply_verdict(session=session, verdict=verdict,
                                                           now=platform.clock.now())]
    assert len(ids) == 2
    for alert_id in ids:
        for method, suffix in (("GET", ""), ("POST", "/ack")):
            other = await http.request(method, f"/api/v1/alerts/{alert_id}{suffix}", headers=headers["customer"])
            missing = await http.request(method, f"/api/v1/alerts/no-such-alert{suffix}", headers=headers["customer"])
            assert other.status_code == missing.status_code == 404, (suffix, other.text)
            assert other.json()["error"]["code"] == "not_found"
        still = (await http.get(f"/api/v1/alerts/{alert_id}", headers=headers["operator"])).json()
        assert still["status"] == "open"


TENANT_OBJECT_CHECKS: dict[tuple[str, str], TenantCheck] = {
    ("GET", "/api/v1/alerts/{alert_id}"): _alerts_of_others_are_not_found,
    ("POST", "/api/v1/alerts/{alert_id}/ack"): _alerts_of_others_are_not_found,
    ("GET", "/api/v1/auth/tenants/{tenant_id}"): _tenants_of_others_are_not_found,
    ("DELETE", "/api/v1/auth/api-keys/{key_id}"): _keys_of_others_are_not_found,
    ("GET", "/api/v1/workloads/{workload_id}"): _workloads_of_others_are_not_found,
    ("POST", "/api/v1/workloads/{workload_id}/cancel"): _others_workloads_cannot_be_cancelled,
    ("GET", "/api/v1/billing/invoices/{invoice_id}"): _invoices_of_others_are_not_found,
    ("GET", "/api/v1/billing/invoices/{invoice_id}/pdf"): _invoices_of_others_are_not_found,
    ("POST", "/api/v1/billing/invoices/{invoice_id}/pay"): _invoices_of_others_are_not_found,
}


# Collections whose objects belong to the platform, not to a tenant: nothing to isolate there
# (who may read or change them is a role question, checked above).
OBJECTS_WITHOUT_TENANT = {
    "/api/v1/facilities/": "facilities and their racks are the platform's",
    "/api/v1/resources/": "units are the platform's; a tenant's use of one is a workload",
}


def test_every_customer_route_naming_an_object_has_a_tenant_check(app: FastAPI) -> None:
    unchecked = [
        (e.method, e.path) for e in endpoints(app)
        if e.protected and "customer" in e.roles and "{" in e.path
        and (e.method, e.path) not in TENANT_OBJECT_CHECKS
        and not e.path.startswith(tuple(OBJECTS_WITHOUT_TENANT))
    ]
    assert unchecked == [], (
        f"customers may call {unchecked}, which name an object: if it is staff-only, give the route "
        "require_role('operator'); if its objects belong to no tenant, list the collection in "
        "OBJECTS_WITHOUT_TENANT; else add a check to TENANT_OBJECT_CHECKS"
    )


@pytest.mark.parametrize("route", sorted(TENANT_OBJECT_CHECKS))
async def test_another_tenants_object_is_not_found(
    route: tuple[str, str], http: httpx.AsyncClient
) -> None:
    headers = {role: await login_headers(http, *creds) for role, creds in DEMO_CREDENTIALS.items()}
    await TENANT_OBJECT_CHECKS[route](http, headers)
