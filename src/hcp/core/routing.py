"""Routers of the domains: each answers its own part of /health under its name."""

from __future__ import annotations

from fastapi import APIRouter


def domain_router(domain: str, *, tag: str | None = None) -> APIRouter:
    router = APIRouter(tags=[tag or domain])

    @router.get(f"/{domain}/health", summary=f"Liveness of the {domain} domain")
    async def domain_health() -> dict[str, str]:
        return {"domain": domain, "status": "ok"}

    return router
