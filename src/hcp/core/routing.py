"""Routers of the domains: every route authenticated unless marked `@public`.

Each domain answers its own (public) `/<domain>/health`. A domain may add dependencies for all
its protected routes, such as a role: `domain_router("sim", dependencies=[require_role("operator")])`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from fastapi import APIRouter, Depends, params
from pydantic import BaseModel

from hcp.core.security import authenticate, is_public, public


class DomainHealth(BaseModel):
    domain: str
    status: Literal["ok"]


class DomainRouter(APIRouter):
    """An APIRouter that puts authentication (and the domain's own checks) on every route."""

    def __init__(self, domain: str, *, tag: str | None = None,
                 dependencies: Sequence[params.Depends] = ()) -> None:
        super().__init__(tags=[tag or domain])
        self.domain = domain
        # First, so that an anonymous caller gets 401 before any other check or lookup runs.
        self.protected_dependencies: list[params.Depends] = [Depends(authenticate), *dependencies]

    def add_api_route(
        self, path: str, endpoint: Callable[..., Any], *,
        dependencies: Sequence[params.Depends] | None = None, **kwargs: Any,
    ) -> None:
        if not is_public(endpoint):
            dependencies = [*self.protected_dependencies, *(dependencies or ())]
        super().add_api_route(path, endpoint, dependencies=dependencies, **kwargs)

    def add_api_websocket_route(
        self, path: str, endpoint: Callable[..., Any], name: str | None = None, *,
        dependencies: Sequence[params.Depends] | None = None,
    ) -> None:
        if not is_public(endpoint):
            dependencies = [*self.protected_dependencies, *(dependencies or ())]
        super().add_api_websocket_route(path, endpoint, name, dependencies=dependencies)

    def include_router(self, router: APIRouter, **kwargs: Any) -> None:
        # A plain APIRouter's routes never passed through add_api_route above: protect them all.
        if not isinstance(router, DomainRouter):
            kwargs["dependencies"] = [*self.protected_dependencies, *(kwargs.get("dependencies") or ())]
        super().include_router(router, **kwargs)


def domain_router(domain: str, *, tag: str | None = None,
                  dependencies: Sequence[params.Depends] = ()) -> DomainRouter:
    router = DomainRouter(domain, tag=tag, dependencies=dependencies)

    @router.get(f"/{domain}/health", summary=f"Liveness of the {domain} domain")
    @public
    async def domain_health() -> DomainHealth:
        return DomainHealth(domain=domain, status="ok")

    return router
