"""Request and response bodies of the auth API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from hcp.core.security import Scope
from hcp.kernel.enums import Role

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, max_length=320,
                                         pattern=EMAIL_PATTERN)]
# Long enough to resist guessing; short enough that hashing it is not a denial of service.
Password = Annotated[str, StringConstraints(min_length=8, max_length=256)]


def _unique(scopes: list[Scope]) -> list[Scope]:
    if len(set(scopes)) != len(scopes):
        raise ValueError("scopes must not repeat")
    return scopes


class Input(BaseModel):
    # A misspelt field would otherwise be ignored silently (worst in PATCH).
    model_config = ConfigDict(extra="forbid")


class LoginIn(Input):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class RefreshIn(Input):
    refresh_token: str = Field(min_length=1, max_length=256)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires")


class Me(BaseModel):
    id: str
    email: str
    role: Role
    tenant_id: str | None
    scopes: list[str]
    api_key_id: str | None = Field(None, description="Set when the request came with an API key")


class PasswordChange(Input):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: Password


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    email: str
    role: Role
    tenant_id: str | None
    is_active: bool
    created_at: datetime


class UserList(BaseModel):
    items: list[UserOut]
    total: int


class UserCreate(Input):
    email: Email
    password: Password
    role: Role
    tenant_id: str | None = Field(None, max_length=32)


class UserUpdate(Input):
    """Only the fields sent change. A staff role clears the tenant; a customer needs one."""

    role: Role | None = None
    tenant_id: str | None = Field(None, max_length=32)
    is_active: bool | None = None
    password: Password | None = None


class TenantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    slug: str
    name: str
    created_at: datetime


class TenantList(BaseModel):
    items: list[TenantOut]
    total: int


class TenantCreate(Input):
    slug: str = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1, max_length=200)


class ApiKeyCreate(Input):
    name: str = Field(min_length=1, max_length=100)
    scopes: Annotated[list[Scope], Field(min_length=1), AfterValidator(_unique)]
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class ApiKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    user_id: str
    name: str
    hint: str
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret; shown this once, never again")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]
    total: int


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    id: str
    ts: datetime
    actor_id: str | None
    actor_email: str | None
    api_key_id: str | None
    action: str
    object_type: str
    object_id: str | None
    tenant_id: str | None
    address: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditList(BaseModel):
    items: list[AuditEntryOut]
    total: int


class AuditBreak(BaseModel):
    seq: int
    id: str
    reason: str


class AuditVerification(BaseModel):
    ok: bool = Field(description="Every entry follows the one before it and matches its hash")
    checked: int = Field(description="Entries found intact (before the break, if any)")
    head: str = Field(description="Hash of the last intact entry (the genesis hash for an empty log)")
    broken: AuditBreak | None = Field(description="The first entry that does not fit, if any")
