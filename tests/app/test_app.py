"""The platform's HTTP surface: health, readiness, metrics, docs and the one error envelope."""

from collections.abc import Callable

import httpx
import pytest
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from tests.conftest import running_app

from hcp.app import SERVICE_DOMAINS, create_app
from hcp.auth.models import Tenant, User
from hcp.billing.models import Budget
from hcp.core.settings import Settings
from hcp.resources.models import Facility


async def test_health_ready_metrics_docs(client: httpx.AsyncClient) -> None:
    health = await client.get("/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert set(health.json()["domains"]) >= {"auth", "resources", "billing", "sim"}
    ready = await client.get("/ready")
    assert ready.json() == {"status": "ready", "service": "hcp",
                            "checks": {"database": "ok", "bus": "ok"}}
    assert (await client.get("/api/v1/billing/health")).json() == {"domain": "billing", "status": "ok"}
    metrics = await client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert 'hcp_http_requests_total{method="GET",route="/ready",service="hcp",status="200"}' in metrics.text
    assert "hcp_http_request_duration_seconds_bucket" in metrics.text
    assert (await client.get("/docs")).status_code == 200
    assert "/api/v1/auth/health" in (await client.get("/openapi.json")).json()["paths"]


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    mine = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    assert mine.headers["x-request-id"] == "abc-123"
    assert len((await client.get("/health")).headers["x-request-id"]) == 32


async def test_unknown_route_and_method_get_the_json_envelope(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not_found", "message": "no such route", "details": None}}
    wrong = await client.post("/health")
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


class Probe(BaseModel):
    power_w: float = Field(ge=0)
    name: str


async def test_validation_errors_name_the_field_and_crashes_hide_the_trace(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings())

    @app.post("/api/v1/_probe")
    async def probe(body: list[Probe]) -> dict[str, int]:
        return {"n": len(body)}

    @app.get("/api/v1/_crash")
    async def crash() -> None:
        raise ZeroDivisionError("secret internals")

    async with running_app(app) as client:
        bad = await client.post("/api/v1/_probe", json=[{"power_w": 1, "name": "a"},
                                                        {"power_w": -5, "name": "b"}])
        assert bad.status_code == 422
        err = bad.json()["error"]
        assert err["code"] == "validation_error"
        assert err["message"].startswith("[1].power_w:")
        assert err["details"][0]["field"] == "[1].power_w"
        not_json = await client.post("/api/v1/_probe", content=b"{nope",
                                     headers={"content-type": "application/json"})
        assert not_json.status_code == 422 and not_json.json()["error"]["code"] == "validation_error"
        crash = await client.get("/api/v1/_crash")
        assert crash.status_code == 500
        assert "secret internals" not in crash.text and "Traceback" not in crash.text
        assert crash.json()["error"]["details"]["request_id"] == crash.headers["x-request-id"]


async def test_ready_says_which_dependency_is_down(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings())
    async with running_app(app) as client:
        await app.state.platform.bus.close()
        ready = await client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["error"]["code"] == "not_ready"
        assert "bus" in ready.json()["error"]["message"]
        assert ready.json()["error"]["details"]["checks"]["database"] == "ok"


async def test_demo_start_seeds_once_and_production_start_seeds_nothing(
    make_settings: Callable[..., Settings],
) -> None:
    demo_settings = make_settings()
    for _ in range(2):  # a restart must not seed twice
        app = create_app(demo_settings)
        async with running_app(app):
            async with app.state.platform.db.session() as session:
                count = lambda model: session.scalar(select(func.count()).select_from(model))  # noqa: E731
                assert await count(Facility) == 3
                assert await count(Tenant) == 3
                assert await count(User) == 5
                acme = (await session.execute(select(Tenant).where(Tenant.slug == "acme"))).scalar_one()
                assert str((await session.get(Budget, acme.id)).monthly_limit_usd.normalize()) == "1.25E+4"
                admin = (await session.execute(select(User).where(User.email == "admin@mara.com"))).scalar_one()
                assert admin.role == "admin" and admin.password_hash.startswith("$argon2")

    prod = make_settings(demo=False, secret_key="p" * 40, database_url=demo_settings.database_url + "2")
    app = create_app(prod)
    async with running_app(app):
        async with app.state.platform.db.session() as session:
            assert await session.scalar(select(func.count()).select_from(User)) == 0


def test_production_refuses_the_demo_secret(make_settings: Callable[..., Settings]) -> None:
    from hcp.core.settings import UnsafeSettingsError

    with pytest.raises(UnsafeSettingsError):
        create_app(make_settings(demo=False))


@pytest.mark.parametrize("service", sorted(SERVICE_DOMAINS))
async def test_each_service_serves_only_its_domains(
    service: str, make_settings: Callable[..., Settings]
) -> None:
    async with running_app(create_app(make_settings(), service=service)) as client:
        body = (await client.get("/health")).json()
        assert body["service"] == service and body["domains"] == list(SERVICE_DOMAINS[service])
        assert (await client.get("/ready")).status_code == 200
        for domain in body["domains"]:
            assert (await client.get(f"/api/v1/{domain}/health")).status_code == 200
        others = {d for ds in SERVICE_DOMAINS.values() for d in ds} - set(body["domains"])
        for domain in others:
            assert (await client.get(f"/api/v1/{domain}/health")).status_code == 404


async def test_cors_from_settings(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(server={"cors_origins": ["http://localhost:5173"]})
    async with running_app(create_app(settings)) as client:
        pre = await client.options("/health", headers={
            "Origin": "http://localhost:5173", "Access-Control-Request-Method": "GET"})
        assert pre.headers["access-control-allow-origin"] == "http://localhost:5173"
        other = await client.get("/health", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers
