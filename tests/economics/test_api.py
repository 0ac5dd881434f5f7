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


async def test_the_fleet_as_it_stands_runs_as_a_backtest(
    client: httpx.AsyncClient, role_headers: dict[str, dict[str, str]]
) -> None:
    from hcp.economics.fleet import backtest_fleet
    from hcp.economics.planner import UnitState

    ops = role_headers["operator"]
    answer = await client.get("/api/v1/economics/backtest/fleet", headers=ops)
    assert answer.status_code == 200, answer.text
    fleet = answer.json()
    assert {"facilities", "units", "workloads"} <= set(fleet)
    assert (await client.get("/api/v1/economics/backtest/fleet", headers=role_headers["customer"])).status_code == 403

    # Identical units of a facility are one row with a count; another power is another row.
    class Facility:
        def __init__(self, id: str, node: str) -> None:
            self.id, self.power_cap_kw, self.market_node = id, 40.0, node

    units = [UnitState(f"a{i}", "asic", "tx-north", "Antminer S21", 3500.0, 200.0) for i in range(3)] + [
        UnitState("a9", "asic", "tx-north", "Antminer S21", 3000.0, 181.0),
        UnitState("g1", "gpu", "tx-north", "H100", 700.0, idle_power_w=80.0),
        UnitState("g2", "gpu", "nd-ellendale", "A100", 400.0, idle_power_w=55.0)]
    built = backtest_fleet([Facility("tx-north", "HB_NORTH"), Facility("nd-ellendale", "MISO_MINN_HUB")], units)
    counts = {u.id: u.count for u in built.units}
    assert counts == {"tx-north-antminer-s21": 3, "tx-north-antminer-s21-v2": 1, "tx-north-h100": 1,
                      "nd-ellendale-a100": 1}
    body = {"fleet": built.model_dump(exclude_none=True), "from": "2026-06-01T00:00:00Z",
            "to": "2026-06-02T00:00:00Z", "strategies": ["hybrid", "mine-always"]}
    ran = await client.post("/api/v1/economics/backtest", json=body, headers=ops)
    assert ran.status_code == 200, ran.text
    assert [s["strategy"] for s in ran.json()["strategies"]] == ["hybrid", "mine-always"]
