"""Credentials as values: argon2 password hashes, access JWTs, opaque refresh tokens, API keys.

Pure functions (apart from the thread that argon2 runs in), so they are easy to test alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hcp.core.db import new_id
from hcp.core.errors import Unauthorized
from hcp.core.security import API_KEY_PREFIX

ALGORITHM = "HS256"
ISSUER = "hcp"
# Clock skew tolerated between the replicas that issue and check tokens.
LEEWAY_S = 5

# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): ~40 ms a check. The
# library's default (64 MiB, 3 passes, 4 lanes) costs several times that per login attempt,
# which makes a flood of bogus logins a cheap way to exhaust the API's CPU.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        # Unknown accounts are checked against a dummy hash: the same work, so the time a
        # login takes does not tell which e-mail addresses have accounts.
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str | None, password: str) -> bool:
    """argon2 costs tens of milliseconds of CPU: off the event loop."""
    return await asyncio.to_thread(_verify, password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class NewApiKey:
    key: str
    key_hash: str
    hint: str


def new_api_key() -> NewApiKey:
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return NewApiKey(key=key, key_hash=sha256_hex(key), hint=f"{API_KEY_PREFIX}...{key[-4:]}")


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    role: str
    tenant_id: str | None
    session_id: str
    jti: str
    issued_at: datetime
    expires_at: datetime


def encode_access_token(
    *, secret: str, user_id: str, role: str, tenant_id: str | None, session_id: str,
    now: datetime, lifetime: timedelta,
) -> str:
    claims: dict[str, Any] = {
        "iss": ISSUER, "typ": "access", "sub": user_id, "role": role, "tenant_id": tenant_id,
        "sid": session_id, "jti": new_id(), "iat": now, "exp": now + lifetime,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, *, secret: str) -> AccessClaims:
    """The claims of a valid access token; Unauthorized for anything else.

    Only HS256 is accepted: `alg: none` and every other algorithm are refused, as are tokens
    without exp, iat, sub, sid or jti, or issued for another purpose.
    """
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER, leeway=LEEWAY_S,
            options={"require": ["exp", "iat", "sub", "sid", "jti", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("access token expired; refresh it", code="token_expired") from None
    except jwt.PyJWTError:
        raise Unauthorized("invalid access token", code="invalid_token") from None
    if claims.get("typ") != "access" or not all(
        isinstance(claims.get(k), str) for k in ("sub", "sid", "jti", "role")
    ):
        raise Unauthorized("invalid access token", code="invalid_token")
    tenant_id = claims.get("tenant_id")
    return AccessClaims(
        user_id=claims["sub"], role=claims["role"],
        tenant_id=tenant_id if isinstance(tenant_id, str) else None,
        session_id=claims["sid"], jti=claims["jti"],
        issued_at=datetime.fromtimestamp(claims["iat"], UTC),
        expires_at=datetime.fromtimestamp(claims["exp"], UTC),
    )
