"""Who is calling, and may they: the principal of a request, RBAC dependencies, tenant isolation.

`hcp.core.routing.domain_router` attaches `authenticate` to every route it makes, so a route is
authenticated unless it is marked `@public`. The credentials themselves (JWTs, API keys) are
checked by the auth domain, whose `Authenticator` the app wires onto every platform it builds
(`platform.authenticator`): core imports nothing of `hcp.auth`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol, TypeVar, cast

from fastapi import Depends, params
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy import ColumnElement, true
from starlette.exceptions import WebSocketException
from starlette.requests import HTTPConnection
from starlette.status import WS_1008_POLICY_VIOLATION

from hcp.core.errors import Forbidden, HCPError, InvalidInput, NotFound, Unauthorized, Unavailable
from hcp.core.platform import Platform

Role = Literal["admin", "operator", "customer"]
Scope = Literal["read", "write", "admin"]
ROLES: tuple[Role, ...] = ("admin", "operator", "customer")
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")

# What a logged-in user of each role may do; an API key holds a subset of its owner's.
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "admin": frozenset({"read", "write", "admin"}),
    "operator": frozenset({"read", "write"}),
    "customer": frozenset({"read", "write"}),
}
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
API_KEY_PREFIX = "hcp_"
TOKEN_URL = "/api/v1/auth/token"

_PUBLIC_ATTR = "__hcp_public__"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class Principal:
    """The user behind a request, as seen through its credential (an API key narrows scopes)."""

    id: str
    email: str
    role: Role
    tenant_id: str | None
    scopes: frozenset[str]
    api_key_id: str | None = None
    # The login session (refresh-token family) an access token belongs to.
    session_id: str | None = None
    address: str | None = field(default=None, compare=False)

    @property
    def is_api_key(self) -> bool:
        return self.api_key_id is not None

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "operator")


class Authenticator(Protocol):
    def __call__(self, *, platform: Platform, credential: str, address: str | None) -> Awaitable[Principal]: ...


def _authenticator(platform: Platform) -> Authenticator:
    if platform.authenticator is None:
        raise Unavailable("this process has no authenticator wired (the app wires the auth domain's)")
    return cast(Authenticator, platform.authenticator)


def public(endpoint: F) -> F:
    """Mark a route's endpoint as needing no credentials; put it *below* the route decorator.

    Placed above, the route already exists with authentication attached: the mistake fails closed.
    """
    setattr(endpoint, _PUBLIC_ATTR, True)
    return endpoint


def is_public(endpoint: Callable[..., Any]) -> bool:
    return bool(getattr(endpoint, _PUBLIC_ATTR, False))


# Both schemes show in /docs ("Authorize"); the bearer one also carries `hcp_...` API keys.
_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False,
                               description="Access JWT from /auth/login, or an hcp_ API key")
_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An hcp_ API key")


def _for_websocket(conn: HTTPConnection, exc: HCPError) -> Exception:
    # A WebSocket cannot carry the JSON error envelope before it is accepted; close it instead.
    if conn.scope["type"] == "websocket":
        return WebSocketException(code=WS_1008_POLICY_VIOLATION, reason=exc.message[:120])
    return exc


async def authenticate(
    conn: HTTPConnection,
    bearer: Annotated[str | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key_header)],
) -> Principal:
    """The principal of this request, or 401; 403 when an API key lacks the method's scope.

    Reading needs the `read` scope, anything else `write`. A WebSocket may pass `?token=`,
    because browsers cannot set headers on one; plain HTTP may not (URLs end up in logs).
    """
    credential = api_key or bearer
    if credential is None and conn.scope["type"] == "websocket":
        credential = conn.query_params.get("token")
    if not credential:
        raise _for_websocket(conn, Unauthorized("authentication required: send a bearer token or X-API-Key"))
    platform: Platform = conn.app.state.platform
    address = conn.client.host if conn.client else None
    try:
        principal = await _authenticator(platform)(platform=platform, credential=credential, address=address)
    except HCPError as exc:
        raise _for_websocket(conn, exc) from None
    method = conn.scope.get("method", "GET")
    needed = "read" if method in SAFE_METHODS else "write"
    if needed not in principal.scopes:
        raise _for_websocket(conn, Forbidden(f"this API key lacks the {needed!r} scope",
                                             code="insufficient_scope"))
    conn.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(authenticate)]


@dataclass(frozen=True)
class RoleRequirement:
    """Dependency: the principal's role is one of `roles` (admins always pass).

    Routes only admins may call are administration, so an API key needs the `admin` scope too.
    """

    roles: frozenset[str]

    async def __call__(self, conn: HTTPConnection, principal: CurrentUser) -> Principal:
        if principal.role not in self.roles:
            raise _for_websocket(conn, Forbidden(f"needs role {' or '.join(sorted(self.roles))}"))
        if self.roles == {"admin"} and "admin" not in principal.scopes:
            raise _for_websocket(conn, Forbidden("this API key lacks the 'admin' scope",
                                                 code="insufficient_scope"))
        return principal


@dataclass(frozen=True)
class ScopeRequirement:
    """Dependency: the principal holds `scope` (always true of a logged-in user for their role)."""

    scope: str

    async def __call__(self, conn: HTTPConnection, principal: CurrentUser) -> Principal:
        if self.scope not in principal.scopes:
            raise _for_websocket(conn, Forbidden(f"needs the {self.scope!r} scope", code="insufficient_scope"))
        return principal


@dataclass(frozen=True)
class InteractiveRequirement:
    """Dependency: a person logged in with a password, not an API key (keys cannot mint keys)."""

    async def __call__(self, conn: HTTPConnection, principal: CurrentUser) -> Principal:
        if principal.is_api_key:
            raise _for_websocket(conn, Forbidden("not allowed with an API key; log in with a password"))
        return principal


def require_role(*roles: Role) -> params.Depends:
    """`Annotated[Principal, require_role("operator")]` or `dependencies=[require_role(...)]`."""
    if not roles or any(r not in ROLES for r in roles):
        raise ValueError(f"roles must be among {ROLES}")
    return params.Depends(RoleRequirement(frozenset(roles) | {"admin"}))


def require_scope(scope: Scope) -> params.Depends:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}")
    return params.Depends(ScopeRequirement(scope))


OperatorUser = Annotated[Principal, require_role("operator")]
AdminUser = Annotated[Principal, require_role("admin")]
InteractiveUser = Annotated[Principal, Depends(InteractiveRequirement())]


# Tenant isolation, for every domain's service layer: customers see their own tenant only,
# and another tenant's object is "not found" to them (403 would confirm that it exists).

def tenant_filter(principal: Principal, column: ColumnElement[Any] | Any) -> ColumnElement[bool]:
    """A WHERE clause limiting rows to those `principal` may see, by their tenant column."""
    if principal.is_staff:
        return true()
    return cast(ColumnElement[bool], column == principal.tenant_id)


def can_see(principal: Principal, tenant_id: str | None) -> bool:
    return principal.is_staff or (tenant_id is not None and tenant_id == principal.tenant_id)


def ensure_visible(principal: Principal, tenant_id: str | None, *, what: str, id: str) -> None:
    """Raise NotFound (exactly as for a missing object) unless `principal` may see the object."""
    if not can_see(principal, tenant_id):
        raise NotFound(f"no {what} {id}")


async def acting_tenant(
    principal: Principal, asked: str | None, *, find: Callable[[str], Awaitable[object]]
) -> str:
    """The tenant a request acts for: a customer's own (naming it is optional), or the one staff
    name, which `find` must find (it raises NotFound otherwise: the auth domain's lookup, for
    core reads no domain's tables).

    Every refusal is the same 422 on `tenant_id`; a customer naming another tenant is told there
    is no such tenant, exactly as for one that does not exist.
    """
    if not principal.is_staff:
        if principal.tenant_id is None:
            raise InvalidInput("tenant_id", "your account belongs to no tenant")
        if asked is not None and asked != principal.tenant_id:
            raise InvalidInput("tenant_id", f"no tenant {asked}")
        return principal.tenant_id
    if asked is None:
        raise InvalidInput("tenant_id", "staff act on behalf of a tenant: name it")
    try:
        await find(asked)
    except NotFound:
        raise InvalidInput("tenant_id", f"no tenant {asked}") from None
    return asked
