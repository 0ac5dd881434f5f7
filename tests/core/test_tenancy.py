"""Which tenant a request acts for: one resolution, one error (422 on `tenant_id`) for every refusal."""

import pytest

from hcp.core.errors import InvalidInput, NotFound
from hcp.core.security import Principal, acting_tenant

ACME, GLOBEX = "t-acme", "t-globex"


def _who(role: str, tenant_id: str | None = None) -> Principal:
    return Principal(id=f"u-{role}", email=f"{role}@x.test", role=role, tenant_id=tenant_id,  # type: ignore[arg-type]
                     scopes=frozenset({"read", "write"}))


async def _find(tenant_id: str) -> object:
    if tenant_id not in (ACME, GLOBEX):
        raise NotFound(f"no tenant {tenant_id}")
    return tenant_id


async def test_a_customer_acts_for_their_own_tenant() -> None:
    customer = _who("customer", ACME)
    assert await acting_tenant(customer, None, find=_find) == ACME
    assert await acting_tenant(customer, ACME, find=_find) == ACME


async def test_staff_act_for_the_tenant_they_name() -> None:
    for role in ("operator", "admin"):
        assert await acting_tenant(_who(role), GLOBEX, find=_find) == GLOBEX


@pytest.mark.parametrize(("who", "asked", "message"), [
    # Another tenant's id reads exactly as one that does not exist: nothing is confirmed.
    (_who("customer", ACME), GLOBEX, "no tenant t-globex"),
    (_who("customer", ACME), "t-nope", "no tenant t-nope"),
    (_who("operator"), "t-nope", "no tenant t-nope"),
    (_who("operator"), None, "staff act on behalf of a tenant: name it"),
    (_who("customer"), None, "your account belongs to no tenant"),
])
async def test_every_refusal_is_one_422_on_tenant_id(who: Principal, asked: str | None, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        await acting_tenant(who, asked, find=_find)
    assert refused.value.status_code == 422
    assert refused.value.details == [{"field": "tenant_id", "message": message}]


async def test_a_customer_never_looks_another_tenant_up() -> None:
    looked_up: list[str] = []

    async def find(tenant_id: str) -> object:
        looked_up.append(tenant_id)
        return tenant_id

    with pytest.raises(InvalidInput):
        await acting_tenant(_who("customer", ACME), GLOBEX, find=find)
    assert looked_up == []
