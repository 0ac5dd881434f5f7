"""The economics routes over HTTP: the optimizer, plans, recommendations, demand response."""

import httpx
from tests.economics.test_optimizer import EXAMPLE


async def test_optimize_over_http_and_422_naming_the_field(
    client: httpx.AsyncClient, role_headers: dict[str, dict[str, str]]
) -> None:
    ops = role_headers["operator"]
    plan = await client.post("/api/v1/economics/optimize", json=EXAMPLE, headers=ops)
    assert plan.status_code == 200, plan.text
    body = plan.json()
    assert {a["unit_id"]: a["mode"] for a in body["assignments"]}["a1"] == "mining"
    assert "workload_id" not in body["assignments"][0]  # absent, not null, where it does not apply
    bad = dict(EXAMPLE, units=[dict(EXAMPLE["units"][0], facility_id="mars")])
    refused = await client.post("/api/v1/economics/optimize", json=bad, headers=ops)
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["field"] == "units[0].facility_id"
    nan = await client.post("/api/v1/economics/optimize", content=b'{"btc_usd": NaN}',
                            headers={**ops, "content-type": "application/json"})
    assert nan.status_code == 422
    customer = await client.post("/api/v1/economics/optimize", json=EXAMPLE, headers=role_headers["customer"])
    assert customer.status_code == 403


async def test_demand_response_windows(client: httpx.AsyncClient, role_headers: dict[str, dict[str, str]]) -> None:
    ops = role_headers["operator"]
    window = {"facility_id": "tx-south", "power_cap_kw": 10, "starts_at": "2026-07-01T20:00:00Z",
              "ends_at": "2026-07-01T20:15:00Z", "reason": "ERCOT 4CP"}
    created = await client.post("/api/v1/economics/demand-response", json=window, headers=ops)
    assert created.status_code == 201, created.text
    listed = (await client.get("/api/v1/economics/demand-response", headers=ops)).json()
    assert listed["total"] == 1 and listed["items"][0]["reason"] == "ERCOT 4CP"
    backwards = await client.post("/api/v1/economics/demand-response", headers=ops,
                                  json=dict(window, ends_at="2026-07-01T19:00:00Z"))
    assert backwards.status_code == 422 and backwards.json()["error"]["details"][0]["field"] == "ends_at"
    unknown = await client.post("/api/v1/economics/demand-response", headers=ops,
                                json=dict(window, facility_id="mars"))
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "facility_id"
    naive = await client.post("/api/v1/economics/demand-response", headers=ops,
                              json=dict(window, starts_at="2026-07-01T20:00:00"))
    assert naive.status_code == 422 and naive.json()["error"]["details"][0]["field"] == "starts_at"
    gone = await client.delete(f"/api/v1/economics/demand-response/{created.json()['id']}", headers=ops)
    assert gone.status_code == 204
    again = await client.delete(f"/api/v1/economics/demand-response/{created.json()['id']}", headers=ops)
    assert again.status_code == 404


async def test_plan_is_404_until_the_first_tick(client: httpx.AsyncClient, role_headers) -> None:
    response = await client.get("/api/v1/economics/plan", headers=role_headers["operator"])
    assert response.status_code == 404
    recs = await client.get("/api/v1/economics/recommendations", headers=role_headers["operator"])
    assert recs.json() == {"items": [], "total": 0, "ts": None}
