"""The ASGI application: every domain's router in one process, or one service's in split mode.

`create_app()` is the monolith of `hcp up`; `create_app(service="billing")` is the billing
service of `hcp up --split`. Both answer /health, /ready and /metrics and serve OpenAPI at /docs.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse

import hcp
from hcp import demo
from hcp.core.errors import error_body, install_error_handlers
from hcp.core.logging import configure_logging
from hcp.core.metrics import RequestMiddleware, render_metrics
from hcp.core.platform import Platform, describe
from hcp.core.settings import SERVICE_PORTS, Settings, get_settings

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
    # A domain's api module may define `start(platform)` / `stop(platform)` for what it runs.
    modules = [importlib.import_module(f"hcp.{domain}.api") for domain in domains]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        plat = platform or Platform(settings)
        app.state.platform = plat
        await plat.start(migrate=migrate)
        if settings.demo and "auth" in domains and await demo.is_empty(plat.db):
            await demo.seed(plat.db)
            log.info("demo data seeded")
        started = []
        try:
            for module in modules:
                if hasattr(module, "start"):
                    await module.start(plat)
                    started.append(module)
            log.info("service started", service=name, domains=list(domains), **describe(plat))
            yield
        finally:
            for module in reversed(started):
                if hasattr(module, "stop"):
                    await module.stop(plat)
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

    @app.get("/health", tags=["ops"], summary="Liveness: the process answers")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "service": name, "version": hcp.__version__, "domains": list(domains)}

    @app.get("/ready", tags=["ops"], summary="Readiness: database and bus reachable")
    async def ready() -> JSONResponse:
        checks = await app.state.platform.readiness()
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "ready", "service": name, "checks": checks})
        failing = ", ".join(k for k, v in checks.items() if v != "ok")
        return JSONResponse(
            error_body("not_ready", f"not ready: {failing} unreachable", {"checks": checks}),
            status_code=503,
        )

    @app.get("/metrics", tags=["ops"], summary="Prometheus metrics of this process")
    async def metrics() -> Response:
        body, content_type = render_metrics()
        return Response(body, media_type=content_type)

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/docs")

    for module in modules:
        app.include_router(module.router, prefix=API_PREFIX)
        # Routes a domain serves outside /api/v1 (the realtime domain's /ws).
        if hasattr(module, "root_router"):
            app.include_router(module.root_router)
    return app
