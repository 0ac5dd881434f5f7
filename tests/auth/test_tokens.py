"""Credentials as values: access JWTs (and the forgeries they must refuse), API keys, passwords."""

from __future__ import annotations

import base64
import json
import string
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hcp.auth import tokens
from hcp.core.errors import Unauthorized

SECRET = "s" * 48
NOW = datetime.now(UTC).replace(microsecond=0)
ids = st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=32)


def issue(*, secret: str = SECRET, now: datetime = NOW, minutes: int = 15, **over: str | None) -> str:
    fields: dict[str, str | None] = {"user_id": "u1", "role": "operator", "tenant_id": None, "session_id": "s1"}
    fields.update(over)
    return tokens.encode_access_token(secret=secret, now=now, lifetime=timedelta(minutes=minutes),
                                      user_id=fields["user_id"] or "", role=fields["role"] or "",
                                      tenant_id=fields["tenant_id"], session_id=fields["session_id"] or "")


def b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@given(user_id=ids, role=st.sampled_from(["admin", "operator", "customer"]),
       tenant_id=st.none() | ids, session_id=ids)
def test_access_tokens_round_trip(user_id: str, role: str, tenant_id: str | None, session_id: str) -> None:
    claims = tokens.decode_access_token(
        issue(user_id=user_id, role=role, tenant_id=tenant_id, session_id=session_id), secret=SECRET)
    assert (claims.user_id, claims.role, claims.tenant_id, claims.session_id) == (user_id, role, tenant_id, session_id)
    assert claims.expires_at - claims.issued_at == timedelta(minutes=15)
    assert len(claims.jti) == 32


@given(other=st.text(min_size=32, max_size=64).filter(lambda s: s != SECRET))
def test_a_token_signed_with_another_key_is_refused(other: str) -> None:
    with pytest.raises(Unauthorized) as refused:
        tokens.decode_access_token(issue(secret=other), secret=SECRET)
    assert refused.value.code == "invalid_token"


def test_expired_tokens_are_refused_with_their_own_code() -> None:
    old = issue(now=NOW - timedelta(minutes=20))
    with pytest.raises(Unauthorized) as refused:
        tokens.decode_access_token(old, secret=SECRET)
    assert refused.value.code == "token_expired"


def test_alg_none_and_other_algorithms_are_refused() -> None:
    genuine = jwt.decode(issue(), SECRET, algorithms=["HS256"])
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(genuine)}."
    hs512 = jwt.encode(genuine, SECRET * 2, algorithm="HS512")  # long enough for HS512
    for forged in (unsigned, unsigned[:-1], hs512, jwt.encode(genuine, SECRET, algorithm="HS384")):
        with pytest.raises(Unauthorized):
            tokens.decode_access_token(forged, secret=SECRET)


def test_a_tampered_payload_breaks_the_signature() -> None:
    header, _payload, signature = issue(role="customer").split(".")
    claims = jwt.decode(issue(role="customer"), SECRET, algorithms=["HS256"])
    promoted = f"{header}.{b64({**claims, 'role': 'admin'})}.{signature}"
    with pytest.raises(Unauthorized):
        tokens.decode_access_token(promoted, secret=SECRET)


def test_tokens_missing_claims_or_of_another_kind_are_refused() -> None:
    base = jwt.decode(issue(), SECRET, algorithms=["HS256"])
    for claim in ("exp", "iat", "sub", "sid", "jti", "iss"):
        partial = {k: v for k, v in base.items() if k != claim}
        with pytest.raises(Unauthorized):
            tokens.decode_access_token(jwt.encode(partial, SECRET, algorithm="HS256"), secret=SECRET)
    for odd in ({"typ": "refresh"}, {"iss": "elsewhere"}, {"sub": 42}):
        with pytest.raises(Unauthorized):
            tokens.decode_access_token(jwt.encode({**base, **odd}, SECRET, algorithm="HS256"), secret=SECRET)


def test_api_keys_are_prefixed_high_entropy_and_hinted() -> None:
    keys = [tokens.new_api_key() for _ in range(50)]
    assert len({k.key for k in keys}) == 50
    for k in keys:
        assert k.key.startswith("hcp_") and len(k.key) >= 4 + 43
        assert k.key_hash == tokens.sha256_hex(k.key) and k.key not in k.key_hash
        assert k.hint == f"hcp_...{k.key[-4:]}"


async def test_passwords_verify_and_unknown_accounts_cost_the_same_work() -> None:
    stored = tokens.hash_password("correct horse")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert await tokens.verify_password(stored, "correct horse")
    assert not await tokens.verify_password(stored, "wrong")
    assert not await tokens.verify_password(None, "anything")
    assert not await tokens.verify_password("not-a-hash", "anything")
