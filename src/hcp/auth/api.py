"""HTTP routes of the auth domain, mounted under /api/v1.

Public: login (JSON), token (the OAuth2 password form /docs uses) and refresh. Everything else
needs a credential; users, tenants' creation and the audit log need an administrator.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Depends, Query, Request, Response
from fastapi.responses import StreamingResponse

from hcp.auth import service, throttle
from hcp.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    AuditBreak,
    AuditEntryOut,
    AuditList,
    AuditVerification,
    LoginIn,
    Me,
    PasswordChange,
    RefreshIn,
    TenantCreate,
    TenantList,
    TenantOut,
    TokenPair,
    UserCreate,
    UserList,
    UserOut,
    UserUpdate,
)
from hcp.core import csv_export
from hcp.core.clock import Clock
from hcp.core.errors import InvalidInput
from hcp.core.platform import PlatformDep, SessionDep
from hcp.core.routing import domain_router
from hcp.core.security import AdminUser, CurrentUser, InteractiveUser, public
from hcp.kernel.enums import Role

router = domain_router("auth")

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def login_clock() -> Clock:
    """The login throttle's time: wall-clock time (tests override this dependency)."""
    return throttle.WALL_CLOCK


LoginClock = Annotated[Clock, Depends(login_clock)]


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _tokens(pair: service.TokenPair) -> TokenPair:
    return TokenPair(access_token=pair.access_token, refresh_token=pair.refresh_token,
                     expires_in=pair.expires_in)


@router.post("/auth/login", response_model=TokenPair, summary="Log in with e-mail and password")
@public
async def login(body: LoginIn, request: Request, platform: PlatformDep, clock: LoginClock) -> TokenPair:
    return _tokens(await service.login(db=platform.db, settings=platform.settings, email=body.email,
                                       password=body.password, address=_address(request), clock=clock))


_FORM_SCHEMA: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object", "required": ["username", "password"],
        "properties": {"grant_type": {"type": "string", "enum": ["password"]},
                       "username": {"type": "string", "description": "e-mail address"},
                       "password": {"type": "string", "format": "password"}},
    }}}},
}


@router.post("/auth/token", response_model=TokenPair, openapi_extra=_FORM_SCHEMA,
             summary="OAuth2 password grant (form), as /docs 'Authorize' sends it")
@public
async def token(request: Request, platform: PlatformDep, clock: LoginClock) -> TokenPair:
    # Parsed by hand: the form is two fields, not worth a multipart parser dependency.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise InvalidInput("body", "send application/x-www-form-urlencoded (username, password)")
    try:
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True, max_num_fields=10))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("body", "not a valid form") from None
    if form.get("grant_type", "password") != "password":
        raise InvalidInput("grant_type", "must be 'password'")
    for field in ("username", "password"):
        if not form.get(field):
            raise InvalidInput(field, "Field required")
        if len(form[field]) > 1024:
            raise InvalidInput(field, "too long")
    return _tokens(await service.login(db=platform.db, settings=platform.settings, email=form["username"],
                                       password=form["password"], address=_address(request), clock=clock))


@router.post("/auth/refresh", response_model=TokenPair, summary="Rotate a refresh token (single use)")
@public
async def refresh(body: RefreshIn, request: Request, platform: PlatformDep) -> TokenPair:
    return _tokens(await service.refresh(db=platform.db, settings=platform.settings,
                                         refresh_token=body.refresh_token, address=_address(request)))


@router.post("/auth/logout", status_code=204, summary="End this login session")
async def logout(principal: InteractiveUser, session: SessionDep) -> Response:
    await service.logout(session=session, principal=principal)
    await session.commit()
    return Response(status_code=204)


@router.get("/auth/me", response_model=Me, summary="Who the credential belongs to")
async def me(principal: CurrentUser) -> Me:
    return Me(id=principal.id, email=principal.email, role=principal.role, tenant_id=principal.tenant_id,
              scopes=sorted(principal.scopes), api_key_id=principal.api_key_id)


@router.post("/auth/me/password", status_code=204, summary="Change your password (ends other sessions)")
async def change_password(body: PasswordChange, principal: InteractiveUser, session: SessionDep) -> Response:
    await service.change_password(session=session, principal=principal,
                                  current_password=body.current_password, new_password=body.new_password)
    await session.commit()
    return Response(status_code=204)


# --- users (administrators) ----------------------------------------------------------------

@router.get("/auth/users", response_model=UserList, summary="Users (admin)")
async def list_users(
    _: AdminUser, session: SessionDep, limit: Limit = 100, offset: Offset = 0,
    role: Role | None = None, tenant_id: Annotated[str | None, Query(max_length=32)] = None,
) -> UserList:
    users, total = await service.list_users(session=session, role=role, tenant_id=tenant_id,
                                            limit=limit, offset=offset)
    return UserList(items=[UserOut.model_validate(u) for u in users], total=total)


@router.post("/auth/users", response_model=UserOut, status_code=201, summary="Create a user (admin)")
async def create_user(body: UserCreate, principal: AdminUser, session: SessionDep) -> UserOut:
    user = await service.create_user(session=session, email=body.email, password=body.password,
                                     role=body.role, tenant_id=body.tenant_id, actor=principal)
    await session.commit()
    return UserOut.model_validate(user)


@router.get("/auth/users/{user_id}", response_model=UserOut, summary="One user (admin)")
async def get_user(user_id: str, _: AdminUser, session: SessionDep) -> UserOut:
    return UserOut.model_validate(await service.get_user(session=session, user_id=user_id))


@router.patch("/auth/users/{user_id}", response_model=UserOut,
              summary="Change a user's role or tenant, disable or enable, reset the password (admin)")
async def update_user(user_id: str, body: UserUpdate, principal: AdminUser, session: SessionDep) -> UserOut:
    user = await service.update_user(session=session, actor=principal, user_id=user_id,
                                     changes=body.model_dump(exclude_unset=True))
    await session.commit()
    return UserOut.model_validate(user)


# --- tenants -------------------------------------------------------------------------------

@router.get("/auth/tenants", response_model=TenantList, summary="Tenants (a customer sees their own)")
async def list_tenants(principal: CurrentUser, session: SessionDep, limit: Limit = 100,
                       offset: Offset = 0) -> TenantList:
    tenants, total = await service.list_tenants(session=session, principal=principal, limit=limit, offset=offset)
    return TenantList(items=[TenantOut.model_validate(t) for t in tenants], total=total)


@router.post("/auth/tenants", response_model=TenantOut, status_code=201, summary="Create a tenant (admin)")
async def create_tenant(body: TenantCreate, principal: AdminUser, session: SessionDep) -> TenantOut:
    tenant = await service.create_tenant(session=session, actor=principal, slug=body.slug, name=body.name)
    await session.commit()
    return TenantOut.model_validate(tenant)


@router.get("/auth/tenants/{tenant_id}", response_model=TenantOut, summary="One tenant")
async def get_tenant(tenant_id: str, principal: CurrentUser, session: SessionDep) -> TenantOut:
    return TenantOut.model_validate(
        await service.get_tenant(session=session, principal=principal, tenant_id=tenant_id))


# --- API keys ------------------------------------------------------------------------------

@router.get("/auth/api-keys", response_model=ApiKeyList, summary="Your API keys (admin: ?user_id=)")
async def list_api_keys(
    principal: CurrentUser, session: SessionDep, limit: Limit = 100, offset: Offset = 0,
    user_id: Annotated[str | None, Query(max_length=32)] = None,
) -> ApiKeyList:
    keys, total = await service.list_api_keys(session=session, principal=principal, user_id=user_id,
                                              limit=limit, offset=offset)
    return ApiKeyList(items=[ApiKeyOut.model_validate(k) for k in keys], total=total)


@router.post("/auth/api-keys", response_model=ApiKeyCreated, status_code=201,
             summary="Create an API key; the secret is in this response only")
async def create_api_key(body: ApiKeyCreate, principal: InteractiveUser, session: SessionDep) -> ApiKeyCreated:
    api_key, secret = await service.create_api_key(session=session, principal=principal, name=body.name,
                                                   scopes=list(body.scopes), expires_in_days=body.expires_in_days)
    await session.commit()
    return ApiKeyCreated(**ApiKeyOut.model_validate(api_key).model_dump(), key=secret)


@router.delete("/auth/api-keys/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_api_key(key_id: str, principal: CurrentUser, session: SessionDep) -> Response:
    await service.revoke_api_key(session=session, principal=principal, key_id=key_id)
    await session.commit()
    return Response(status_code=204)


# --- audit log -----------------------------------------------------------------------------

_AUDIT_CSV_COLUMNS = ("seq", "id", "ts", "actor_id", "actor_email", "api_key_id", "action", "object_type",
                      "object_id", "tenant_id", "address", "details", "prev_hash", "hash")


def audit_filter(
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: Annotated[str | None, Query(max_length=32)] = None,
    actor_email: Annotated[str | None, Query(max_length=320, description="exact, case-insensitive")] = None,
    object_type: Annotated[str | None, Query(max_length=64)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    tenant_id: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[datetime | None, Query(alias="from", description="entries at or after (with a time zone)")] = None,
    until: Annotated[datetime | None, Query(alias="to", description="entries before (with a time zone)")] = None,
) -> service.AuditFilter:
    """The audit log's filters, shared by the list and the CSV export."""
    for name, value in (("from", since), ("to", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput(name, "give a time zone (e.g. 2026-11-01T00:00:00Z)")
    if since is not None and until is not None and since >= until:
        raise InvalidInput("from", "must be before to")
    return service.AuditFilter(
        action=action, actor_id=actor_id,
        actor_email=service.normalise_email(actor_email) if actor_email else None,
        object_type=object_type, object_id=object_id, tenant_id=tenant_id,
        since=since.astimezone(UTC) if since else None, until=until.astimezone(UTC) if until else None)


AuditWhere = Annotated[service.AuditFilter, Depends(audit_filter)]


@router.get("/auth/audit", response_model=AuditList, summary="The audit log, newest first (admin)")
async def audit(_: AdminUser, session: SessionDep, where: AuditWhere, limit: Limit = 100,
                offset: Offset = 0) -> AuditList:
    entries, total = await service.list_audit(session=session, where=where, limit=limit, offset=offset)
    return AuditList(items=[AuditEntryOut.model_validate(e) for e in entries], total=total)


@router.get("/auth/audit/verify", response_model=AuditVerification,
            summary="Check the audit log's hash chain, as `hcp audit verify` does (admin)")
async def audit_verify(_: AdminUser, session: SessionDep) -> AuditVerification:
    report = await service.verify_audit_chain(session=session)
    broken = report.broken
    return AuditVerification(
        ok=report.ok, checked=report.checked, head=report.head,
        broken=None if broken is None else AuditBreak(seq=broken.seq, id=broken.id, reason=broken.reason))


@router.get("/auth/audit/export.csv", response_class=StreamingResponse,
            responses=csv_export.responses("Every entry the filters select"),
            summary="The audit log as CSV, newest first, with the list's filters (admin)")
async def audit_export(_: AdminUser, platform: PlatformDep, where: AuditWhere) -> StreamingResponse:
    """Streamed in batches: the whole filtered log, however long, in constant memory. `details`
    is JSON; a cell that starts like a formula (=, +, -, @) gets a leading apostrophe."""

    async def chunks() -> AsyncIterator[str]:
        yield csv_export.lines([_AUDIT_CSV_COLUMNS])
        async for batch in service.iter_audit(db=platform.db, where=where):
            yield csv_export.lines([csv_export.cell(row[c]) for c in _AUDIT_CSV_COLUMNS] for row in batch)

    stamp = platform.clock.now().astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return csv_export.response(chunks(), filename=f"audit-{stamp}.csv")
