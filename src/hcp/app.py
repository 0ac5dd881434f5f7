"""The ASGI application: every domain's router in one process, or one service's in split mode.

`create_app()` is the monolith of `hcp up`; `create_app(service="billing")` is the billing
service of `hcp up --split`. Both answer /health, /ready and /metrics and serve OpenAPI at /docs.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

import structlog
from fastapi import FastAPI, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import PlainTextResponse, RedirectResponse
from pydantic import BaseModel, Field
from pydantic.json_schema import models_json_schema

import hcp
from hcp import demo
from hcp.alerts import components as alerts_components
from hcp.auth import components as auth_components
from hcp.auth.service import authenticate_credential
from hcp.billing import components as billing_components
from hcp.core.component import Component
from hcp.core.console import mount_console
from hcp.core.errors import ErrorOut, HCPError, install_error_handlers
from hcp.core.logging import configure_logging
from hcp.core.metrics import RequestMiddleware, render_metrics
from hcp.core.platform import Platform, describe
from hcp.core.settings import SERVICE_PORTS, Settings, get_settings
from hcp.economics import components as economics_components
from hcp.market import components as market_components
from hcp.migrations import migrate as run_migrations
from hcp.orchestrator import components as orchestrator_components
from hcp.orchestrator.service import queued_demand
from hcp.realtime import components as realtime_components
from hcp.realtime import schemas as realtime_schemas
from hcp.resources import components as resources_components
from hcp.sim import components as sim_components

log = structlog.get_logger(__name__)

API_PREFIX = "/api/v1"

# Which domain packages each service of split mode serves; the monolith serves them all.
SERVICE_DOMAINS: dict[str, tuple[str, ...]] = {
    "orchestrator": ("orchestrator",),
    "optimizer": ("economics", "market"),
    "router": ("router",),
    "resources": ("resources",),
    "billing": ("billing",),
    "auth": ("auth",),
    "websocket": ("realtime", "alerts"),
    "simulator": ("sim",),
}
ALL_DOMAINS: tuple[str, ...] = tuple(d for ds in SERVICE_DOMAINS.values() for d in ds)
assert set(SERVICE_DOMAINS) == set(SERVICE_PORTS)

# What each domain runs in the background, wired here, where collaborators across domains meet
# (the planner learns of queued work through the workloads' domain). A process runs the
# components of the domains it serves, started in this order and stopped in reverse.
COMPONENTS: dict[str, Callable[[Platform], list[Component]]] = {
    "orchestrator": orchestrator_components.components,
    "economics": lambda platform: economics_components.components(platform, workloads=queued_demand),
    "market": market_components.components,
    "resources": resources_components.components,
    "billing": billing_components.components,
    "auth": auth_components.components,
    "realtime": realtime_components.components,
    "alerts": alerts_components.components,
    "sim": sim_components.components,
}
assert set(COMPONENTS) <= set(ALL_DOMAINS)


def register_components(platform: Platform, domains: tuple[str, ...]) -> None:
    """Give the platform the components of `domains` and the auth domain's credential check."""
    platform.authenticator = authenticate_credential
    for domain in domains:
        make = COMPONENTS.get(domain)
        for component in make(platform) if make is not None else ():
            platform.components.add(component)


def _domains_of(service: str | None) -> tuple[str, ...]:
    if service is None:
        return ALL_DOMAINS
    if service not in SERVICE_DOMAINS:
        raise ValueError(f"unknown service {service!r}; one of {', '.join(SERVICE_DOMAINS)}")
    return SERVICE_DOMAINS[service]


def create_app(
    settings: Settings | None = None, *, service: str | None = None, platform: Platform | None = None,
    migrate: bool = True, with_login: bool = False,
) -> FastAPI:
    """`with_login` adds the auth routes to a single service, for one run on its own (`hcp sim`):
    without them nobody could obtain a token for it."""
    settings = settings or get_settings()
    settings.assert_safe_to_serve()
    configure_logging(fmt=settings.log_format, level=settings.log_level)
    domains = _domains_of(service)
    if with_login and "auth" not in domains:
        domains = (*domains, "auth")
    name = service or "hcp"
    # Each domain's api module holds its HTTP routes only; what it runs is in COMPONENTS.
    modules = [importlib.import_module(f"hcp.{domain}.api") for domain in domains]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        plat = platform or Platform(settings)
        app.state.platform = plat
        register_components(plat, domains)
        await plat.start(migrate=run_migrations if migrate else None)
        if settings.demo and "auth" in domains and await demo.is_empty(plat.db):
            await demo.seed(plat.db)
            log.info("demo data seeded")
        try:
            await plat.components.start()
            log.info("service started", service=name, domains=list(domains),
                     components=[c.name for c in plat.components], **describe(plat))
            yield
        finally:
            await plat.components.stop()
            await plat.stop()
            log.info("service stopped", service=name)

    app = FastAPI(
        title="HCP: MARA Hybrid Compute Platform" + (f" ({service})" if service else ""),
        version=hcp.__version__,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    install_error_handlers(app)
    if settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.server.cors_origins, allow_credentials=True,
            allow_methods=["*"], allow_headers=["*"],
        )
    app.add_middleware(RequestMiddleware, service=name)

    @app.get("/health", tags=["ops"], summary="Liveness: the process answers, and how its components are")
    async def health() -> HealthOut:
        platform: Platform = app.state.platform
        return HealthOut(status="ok", service=name, version=hcp.__version__, domains=list(domains),
                         components=platform.components.health(), demo=platform.settings.demo)

    @app.get("/ready", tags=["ops"], summary="Readiness: database and bus reachable",
             responses={503: {"model": ErrorOut, "description": "a dependency is unreachable (details.checks)"}})
    async def ready() -> ReadyOut:
        checks = await app.state.platform.readiness()
        if all(v == "ok" for v in checks.values()):
            return ReadyOut(status="ready", service=name, checks=checks)
        failing = ", ".join(k for k, v in checks.items() if v != "ok")
        raise NotReady(f"not ready: {failing} unreachable", details={"checks": checks})

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics of this process (text exposition format)",
             response_class=PlainTextResponse,
             responses={200: {"content": {METRICS_MEDIA_TYPE: {"schema": {"type": "string"}}}}})
    async def metrics() -> Response:
        body, content_type = render_metrics()
        return Response(body, media_type=content_type)

    for module in modules:
        app.include_router(module.router, prefix=API_PREFIX)
        # Routes a domain serves outside /api/v1 (the realtime domain's /ws).
        if hasattr(module, "root_router"):
            app.include_router(module.root_router)
    if "realtime" in domains:
        _document_websocket(app)
    # The web console at / (the monolith only: in split mode the gateway serves it); without a
    # build, / leads to the API docs.
    if service is not None or not mount_console(app, settings.server.console_dir):
        @app.get("/", include_in_schema=False)
        async def index() -> RedirectResponse:
            return RedirectResponse("/docs")
    return app


class HealthOut(BaseModel):
    status: Literal["ok"]
    service: str
    version: str
    domains: list[str]
    components: dict[str, str] = Field(description='each background component: "ok" or why not')
    demo: bool = Field(description="demo mode: demo users, a public secret key and simulated hardware")


class ReadyOut(BaseModel):
    status: Literal["ready"]
    service: str
    checks: dict[str, str]


class NotReady(HCPError):
    status_code = 503
    code = "not_ready"


METRICS_MEDIA_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _document_websocket(app: FastAPI) -> None:
    """OpenAPI has no WebSocket operations: publish /ws's envelope, control messages and channel
    payloads as components, so that a client generated from the document is typed for them too."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = plain()
        models = realtime_schemas.openapi_components().values()
        _, defs = models_json_schema([(model, "serialization") for model in models],
                                     ref_template="#/components/schemas/{model}")
        wanted = schema.setdefault("components", {}).setdefault("schemas", {})
        for key, value in defs.get("$defs", {}).items():
            # One name, one schema: two different models under one name would leave a client typed
            # for the wrong one.
            if wanted.setdefault(key, value) != value:
                raise RuntimeError(f"two different models are named {key} in the OpenAPI document")
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
