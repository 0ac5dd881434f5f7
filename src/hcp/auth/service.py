"""Auth domain services: tenants, users, logins and sessions, API keys, and the audit log.

Other domains call `record_audit(session, actor=..., ...)` for what they must account for
(cancellations, payments), and use `hcp.core.security` for principals and tenant isolation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.auth import throttle, tokens
from hcp.auth.audit import (
    AuditFilter,
    ChainReport,
    iter_audit,
    list_audit,
    record_audit,
    verify_audit_chain,
)
from hcp.auth.models import ApiKey, LoginSession, RefreshToken, Tenant, User
from hcp.auth.tokens import hash_password
from hcp.core.clock import Clock
from hcp.core.db import Database, utcnow
from hcp.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from hcp.core.paging import page
from hcp.core.platform import Platform
from hcp.core.security import API_KEY_PREFIX, ROLE_SCOPES, ROLES, Principal, Role, tenant_filter
from hcp.core.settings import Settings

__all__ = [
    "ROLES", "AuditFilter", "ChainReport", "Role", "TokenPair", "authenticate_credential",
    "change_password", "count_users", "create_api_key", "create_tenant", "create_user",
    "ensure_bootstrap_admin", "ensure_tenant", "find_user", "get_tenant", "get_user",
    "hash_password", "iter_audit", "list_api_keys", "list_audit", "list_tenants", "list_users", "login",
    "logout", "normalise_email", "record_audit", "refresh", "revoke_api_key", "update_user",
    "verify_audit_chain",
]

log = structlog.get_logger(__name__)

INVALID_LOGIN = "invalid email or password"
MAX_ACTIVE_API_KEYS = 50
# Writing last_used_at on every request would make each API call a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(seconds=60)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def _principal(user: User, *, scopes: frozenset[str] | None = None, api_key_id: str | None = None,
               session_id: str | None = None, address: str | None = None) -> Principal:
    return Principal(
        id=user.id, email=user.email, role=cast(Role, user.role), tenant_id=user.tenant_id,
        scopes=ROLE_SCOPES[user.role] if scopes is None else scopes,
        api_key_id=api_key_id, session_id=session_id, address=address,
    )


def _may_sign_in(user: User, settings: Settings) -> str | None:
    """Why this user may not authenticate now, or None."""
    if not user.is_active:
        return "disabled"
    if user.is_demo and not settings.demo:
        return "demo_user_outside_demo_mode"
    return None


# --- tenants -------------------------------------------------------------------------------

async def ensure_tenant(*, session: AsyncSession, slug: str, name: str) -> Tenant:
    """The tenant with this slug, created if it does not exist yet."""
    tenant = (await session.execute(select(Tenant).where(Tenant.slug == slug))).scalar_one_or_none()
    if tenant is None:
        tenant = Tenant(slug=slug, name=name)
        session.add(tenant)
        await session.flush()
    return tenant


async def create_tenant(*, session: AsyncSession, actor: Principal | None, slug: str, name: str) -> Tenant:
    if await session.scalar(select(func.count()).select_from(Tenant).where(Tenant.slug == slug)):
        raise Conflict(f"a tenant with slug {slug} exists")
    tenant = Tenant(slug=slug, name=name)
    session.add(tenant)
    await _flush_unique(session, f"a tenant with slug {slug} exists")
    await record_audit(session, actor=actor, action="tenant.created", object_type="tenant",
                       object_id=tenant.id, tenant_id=tenant.id, details={"slug": slug, "name": name})
    return tenant


async def list_tenants(
    *, session: AsyncSession, principal: Principal, limit: int, offset: int
) -> tuple[list[Tenant], int]:
    visible = tenant_filter(principal, Tenant.id)
    return await page(session, select(Tenant).where(visible).order_by(Tenant.slug), limit=limit, offset=offset)


async def get_tenant(*, session: AsyncSession, principal: Principal, tenant_id: str) -> Tenant:
    tenant = (await session.execute(
        select(Tenant).where(Tenant.id == tenant_id, tenant_filter(principal, Tenant.id))
    )).scalar_one_or_none()
    if tenant is None:
        raise NotFound(f"no tenant {tenant_id}")
    return tenant


# --- users ---------------------------------------------------------------------------------

async def _flush_unique(session: AsyncSession, message: str) -> None:
    """Flush; a unique constraint lost to a concurrent writer is a 409, not a 500."""
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(message) from None


async def _check_role_and_tenant(session: AsyncSession, role: str, tenant_id: str | None) -> None:
    if role not in ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")
    if role == "customer" and tenant_id is None:
        raise InvalidInput("tenant_id", "customers need a tenant")
    if role != "customer" and tenant_id is not None:
        raise InvalidInput("tenant_id", "staff (admin, operator) belong to no tenant")
    if tenant_id is not None and await session.get(Tenant, tenant_id) is None:
        raise InvalidInput("tenant_id", f"no tenant {tenant_id}")


async def create_user(
    *, session: AsyncSession, email: str, password: str, role: str, tenant_id: str | None = None,
    is_demo: bool = False, actor: Principal | None = None, audit: bool = True,
) -> User:
    await _check_role_and_tenant(session, role, tenant_id)
    email = normalise_email(email)
    if await session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise Conflict(f"a user with email {email} exists")
    user = User(email=email, password_hash=hash_password(password), role=role, tenant_id=tenant_id,
                is_demo=is_demo, is_active=True)
    session.add(user)
    await _flush_unique(session, f"a user with email {email} exists")
    if audit:
        await record_audit(session, actor=actor, action="user.created", object_type="user",
                           object_id=user.id, tenant_id=tenant_id,
                           details={"email": email, "role": role, "demo": is_demo})
    return user


async def find_user(*, session: AsyncSession, email: str) -> User | None:
    stmt = select(User).where(User.email == normalise_email(email))
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_users(*, session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(User)) or 0)


async def get_user(*, session: AsyncSession, user_id: str) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


async def list_users(
    *, session: AsyncSession, role: str | None = None, tenant_id: str | None = None,
    limit: int, offset: int,
) -> tuple[list[User], int]:
    stmt = select(User)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if tenant_id is not None:
        stmt = stmt.where(User.tenant_id == tenant_id)
    return await page(session, stmt.order_by(User.email), limit=limit, offset=offset)


async def _revoke_sessions(session: AsyncSession, *, user_id: str, reason: str,
                           keep: str | None = None) -> None:
    stmt = update(LoginSession).where(LoginSession.user_id == user_id, LoginSession.revoked_at.is_(None))
    if keep is not None:
        stmt = stmt.where(LoginSession.id != keep)
    await session.execute(stmt.values(revoked_at=utcnow(), revoked_reason=reason))


async def update_user(
    *, session: AsyncSession, actor: Principal, user_id: str, changes: dict[str, Any]
) -> User:
    """Apply `changes` (role, tenant_id, is_active, password: only the keys present)."""
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound(f"no user {user_id}")
    role = changes.get("role") or user.role
    if "tenant_id" in changes:
        tenant_id = changes["tenant_id"]
    else:  # a staff role leaves its tenant behind; a customer keeps theirs
        tenant_id = user.tenant_id if role == "customer" else None
    active = user.is_active if changes.get("is_active") is None else bool(changes["is_active"])
    await _check_role_and_tenant(session, role, tenant_id)
    if user.role == "admin" and user.is_active and (role != "admin" or not active):
        admins = (await session.execute(
            select(User.id).where(User.role == "admin", User.is_active.is_(True)).with_for_update()
        )).scalars().all()
        if len(admins) <= 1:
            raise Conflict("the last active administrator cannot be demoted or disabled")

    audit: list[tuple[str, dict[str, Any]]] = []
    if role != user.role:
        audit.append(("user.role_changed", {"from": user.role, "to": role}))
    if tenant_id != user.tenant_id:
        audit.append(("user.tenant_changed", {"from": user.tenant_id, "to": tenant_id}))
    if active != user.is_active:
        audit.append(("user.enabled" if active else "user.disabled", {}))
    if changes.get("password") is not None:
        audit.append(("user.password_reset", {}))
        user.password_hash = hash_password(changes["password"])
    user.role, user.tenant_id, user.is_active = role, tenant_id, active
    if not active or changes.get("password") is not None:
        await _revoke_sessions(session, user_id=user.id,
                               reason="user_disabled" if not active else "password_changed")
    await session.flush()
    for action, details in audit:
        await record_audit(session, actor=actor, action=action, object_type="user", object_id=user.id,
                           tenant_id=user.tenant_id, details={"email": user.email, **details})
    return user


async def change_password(
    *, session: AsyncSession, principal: Principal, current_password: str, new_password: str
) -> None:
    """A user's own password; every other session of theirs ends."""
    user = await get_user(session=session, user_id=principal.id)
    if not await tokens.verify_password(user.password_hash, current_password):
        raise InvalidInput("current_password", "is not correct")
    user.password_hash = hash_password(new_password)
    await _revoke_sessions(session, user_id=user.id, reason="password_changed", keep=principal.session_id)
    await record_audit(session, actor=principal, action="user.password_changed", object_type="user",
                       object_id=user.id)


async def ensure_bootstrap_admin(*, db: Database, settings: Settings) -> User | None:
    """Create the configured first administrator while no usable administrator exists.

    Demo administrators do not count: outside demo mode they cannot log in.
    """
    email, password = settings.auth.bootstrap_admin_email, settings.auth.bootstrap_admin_password
    if not email or password is None:
        return None
    async with db.transaction() as session:
        usable = select(func.count()).select_from(User).where(
            User.role == "admin", User.is_active.is_(True), User.is_demo.is_(False))
        if await session.scalar(usable):
            return None
        try:
            user = await create_user(session=session, email=email, password=password.get_secret_value(),
                                     role="admin")
        except Conflict:  # another replica created it first, or the address belongs to a non-admin
            log.warning("bootstrap admin not created: the e-mail address is taken", email=email)
            return None
    log.info("bootstrap administrator created", email=user.email)
    return user


# --- logins, sessions and tokens -----------------------------------------------------------

@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


async def _issue(session: AsyncSession, *, user: User, login_session: LoginSession,
                 settings: Settings, now: datetime) -> TokenPair:
    refresh_token = tokens.new_refresh_token()
    session.add(RefreshToken(
        session_id=login_session.id, token_hash=tokens.sha256_hex(refresh_token), created_at=now,
        expires_at=now + timedelta(days=settings.auth.refresh_token_days),
    ))
    await session.flush()
    lifetime = timedelta(minutes=settings.auth.access_token_minutes)
    access = tokens.encode_access_token(
        secret=settings.secret_key, user_id=user.id, role=user.role, tenant_id=user.tenant_id,
        session_id=login_session.id, now=now, lifetime=lifetime,
    )
    return TokenPair(access_token=access, refresh_token=refresh_token,
                     expires_in=int(lifetime.total_seconds()))


async def login(*, db: Database, settings: Settings, email: str, password: str, address: str | None,
                clock: Clock) -> TokenPair:
    """Exchange a password for tokens; 401 with one generic message, 429 while throttled (on
    `clock`'s time: wall-clock time, a stepped clock in tests).

    Three short transactions, not one: the password check (argon2, tens of milliseconds)
    must not hold SQLite's write lock.
    """
    email = normalise_email(email)
    keys = throttle.keys_for(email=email, address=address, settings=settings.auth)
    now = utcnow()  # the tokens' time: a JWT's expiry is checked against the real time
    async with db.transaction() as session:
        await throttle.begin_attempt(session, keys=keys, settings=settings.auth, now=clock.now())
        user = await find_user(session=session, email=email)
    ok = await tokens.verify_password(user.password_hash if user else None, password)
    refusal = ("unknown_email" if user is None else "wrong_password" if not ok
               else _may_sign_in(user, settings))
    async with db.transaction() as session:
        if refusal is not None:
            await record_audit(session, actor=None, action="auth.login_failed", object_type="user",
                               object_id=user.id if user else None, address=address,
                               tenant_id=user.tenant_id if user else None,
                               details={"email": email, "reason": refusal})
        else:
            assert user is not None
            user = await get_user(session=session, user_id=user.id)
            await throttle.attempt_succeeded(session, keys=keys)
            if tokens.needs_rehash(user.password_hash):
                user.password_hash = hash_password(password)
            login_session = LoginSession(user_id=user.id, address=address, created_at=now)
            session.add(login_session)
            await session.flush()
            pair = await _issue(session, user=user, login_session=login_session, settings=settings, now=now)
            await record_audit(session, actor=_principal(user, session_id=login_session.id, address=address),
                               action="auth.login", object_type="user", object_id=user.id)
    if refusal is not None:
        raise Unauthorized(INVALID_LOGIN, code="invalid_credentials")
    return pair


async def refresh(*, db: Database, settings: Settings, refresh_token: str, address: str | None) -> TokenPair:
    """Rotate a refresh token. Each is good once: presenting a used one ends its whole session."""
    now = utcnow()
    failure: Unauthorized | None = None
    pair: TokenPair | None = None
    async with db.transaction() as session:
        row = (await session.execute(
            select(RefreshToken, LoginSession, User)
            .join(LoginSession, LoginSession.id == RefreshToken.session_id)
            .join(User, User.id == LoginSession.user_id)
            .where(RefreshToken.token_hash == tokens.sha256_hex(refresh_token))
        )).first()
        if row is None:
            failure = Unauthorized("invalid refresh token", code="invalid_token")
        else:
            token, login_session, user = row
            if login_session.revoked_at is not None:
                failure = Unauthorized("session ended; log in again", code="token_revoked")
            elif token.expires_at <= now:
                failure = Unauthorized("refresh token expired; log in again", code="token_expired")
            elif not await _claim(session, token.id, now):
                login_session.revoked_at, login_session.revoked_reason = now, "refresh_reuse"
                await record_audit(session, actor=_principal(user, session_id=login_session.id),
                                   action="auth.refresh_reused", object_type="session",
                                   object_id=login_session.id, address=address,
                                   details={"token_id": token.id})
                failure = Unauthorized("refresh token already used; the session has been ended",
                                       code="token_reused")
            elif (reason := _may_sign_in(user, settings)) is not None:
                login_session.revoked_at, login_session.revoked_reason = now, reason
                failure = Unauthorized("invalid refresh token", code="invalid_token")
            else:
                pair = await _issue(session, user=user, login_session=login_session, settings=settings, now=now)
    if failure is not None:
        raise failure
    assert pair is not None
    return pair


async def _claim(session: AsyncSession, token_id: str, now: datetime) -> bool:
    """Mark the token used, atomically: of two concurrent exchanges exactly one wins."""
    result = await session.execute(
        update(RefreshToken).where(RefreshToken.id == token_id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def logout(*, session: AsyncSession, principal: Principal) -> None:
    """End the login session of this access token: its refresh tokens and itself stop working."""
    if principal.session_id is None:
        raise Forbidden("API keys are revoked with DELETE /auth/api-keys/{id}, not logged out")
    result = await session.execute(
        update(LoginSession).where(LoginSession.id == principal.session_id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason="logout")
    )
    if getattr(result, "rowcount", 0):
        await record_audit(session, actor=principal, action="auth.logout", object_type="session",
                           object_id=principal.session_id)


async def authenticate_credential(*, platform: Platform, credential: str, address: str | None) -> Principal:
    """The principal of an access JWT or an API key (wired by the app as `platform.authenticator`)."""
    settings = platform.settings
    if credential.startswith(API_KEY_PREFIX):
        return await _authenticate_api_key(platform.db, settings, credential, address)
    claims = tokens.decode_access_token(credential, secret=settings.secret_key)
    async with platform.db.read() as session:
        row = (await session.execute(
            select(User, LoginSession.revoked_at)
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(User.id == claims.user_id, LoginSession.id == claims.session_id)
        )).first()
    if row is None:
        raise Unauthorized("invalid access token", code="invalid_token")
    user, revoked_at = row
    if revoked_at is not None:
        raise Unauthorized("session ended; log in again", code="token_revoked")
    if _may_sign_in(user, settings) is not None:
        raise Unauthorized("invalid access token", code="invalid_token")
    # The role and tenant come from the database, so a demotion applies at once.
    return _principal(user, session_id=claims.session_id, address=address)


async def _authenticate_api_key(db: Database, settings: Settings, key: str, address: str | None) -> Principal:
    now = utcnow()
    async with db.session() as session:
        row = (await session.execute(
            select(ApiKey, User).join(User, User.id == ApiKey.user_id)
            .where(ApiKey.key_hash == tokens.sha256_hex(key))
        )).first()
        if row is None:
            raise Unauthorized("invalid API key", code="invalid_api_key")
        api_key, user = row
        if api_key.revoked_at is not None:
            raise Unauthorized("API key revoked", code="api_key_revoked")
        if api_key.expires_at is not None and api_key.expires_at <= now:
            raise Unauthorized("API key expired", code="api_key_expired")
        if _may_sign_in(user, settings) is not None:
            raise Unauthorized("invalid API key", code="invalid_api_key")
        if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
            await session.execute(update(ApiKey).where(ApiKey.id == api_key.id).values(last_used_at=now))
            await session.commit()
    # Never more than the owner's role allows now, whatever the key was granted.
    scopes = frozenset(api_key.scopes) & ROLE_SCOPES[user.role]
    return _principal(user, scopes=scopes, api_key_id=api_key.id, address=address)


# --- API keys ------------------------------------------------------------------------------

async def create_api_key(
    *, session: AsyncSession, principal: Principal, name: str, scopes: list[str],
    expires_in_days: int | None = None,
) -> tuple[ApiKey, str]:
    """A new key for the principal's own user; the secret is returned here and never stored."""
    allowed = ROLE_SCOPES[principal.role]
    if not set(scopes) <= allowed:
        raise InvalidInput("scopes", f"a {principal.role} may grant only {', '.join(sorted(allowed))}")
    active = await session.scalar(select(func.count()).select_from(ApiKey).where(
        ApiKey.user_id == principal.id, ApiKey.revoked_at.is_(None)))
    if (active or 0) >= MAX_ACTIVE_API_KEYS:
        raise Conflict(f"at most {MAX_ACTIVE_API_KEYS} active API keys per user; revoke one first")
    now = utcnow()
    new = tokens.new_api_key()
    api_key = ApiKey(
        user_id=principal.id, name=name, key_hash=new.key_hash, hint=new.hint,
        scopes=sorted(scopes), created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    session.add(api_key)
    await session.flush()
    await record_audit(session, actor=principal, action="api_key.created", object_type="api_key",
                       object_id=api_key.id, details={"name": name, "scopes": api_key.scopes,
                                                      "hint": new.hint})
    return api_key, new.key


async def list_api_keys(
    *, session: AsyncSession, principal: Principal, user_id: str | None, limit: int, offset: int
) -> tuple[list[ApiKey], int]:
    """A user's own keys; an administrator may name another user."""
    owner = user_id or principal.id
    if owner != principal.id and principal.role != "admin":
        raise NotFound(f"no user {owner}")
    stmt = select(ApiKey).where(ApiKey.user_id == owner)
    return await page(session, stmt.order_by(ApiKey.created_at.desc(), ApiKey.id), limit=limit, offset=offset)


async def revoke_api_key(*, session: AsyncSession, principal: Principal, key_id: str) -> ApiKey:
    """Revoke a key of one's own (an administrator: anyone's); it stops working at once."""
    api_key = await session.get(ApiKey, key_id, with_for_update=True)
    if api_key is None or (api_key.user_id != principal.id and principal.role != "admin"):
        raise NotFound(f"no API key {key_id}")
    if api_key.revoked_at is None:
        api_key.revoked_at = utcnow()
        owner = await get_user(session=session, user_id=api_key.user_id)
        await session.flush()
        await record_audit(session, actor=principal, action="api_key.revoked", object_type="api_key",
                           object_id=api_key.id, tenant_id=owner.tenant_id,
                           details={"name": api_key.name, "hint": api_key.hint, "owner_id": owner.id})
    return api_key
