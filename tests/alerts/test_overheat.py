"""End to end: an overheating miner of the simulator, polled by the health monitor, raises one
alert (not one per poll), seen on `/alerts` and on the `alerts` channel within two poll
intervals of the poll that saw it, and resolved by itself once the fault clears."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from tests.conftest import DEMO_CREDENTIALS, free_port, random_loopback_subnet
from tests.eventually import eventually
from tests.realtime.conftest import listen, serve, token

from hcp.app import create_app
from hcp.core.settings import Settings
from hcp.resources.runtime import ResourcesRuntime
from hcp.sim.components import Simulator

API = "/api/v1"
POLL_S = 0.5


async def test_an_overheating_miner_raises_one_alert_that_resolves_itself(
    make_settings: Callable[..., Settings],
) -> None:
    # One LuxOS miner (temperatures on every poll), simulated time 200x so that the chips heat
    # up in a fraction of a second; no plan, so nothing curtails the miner meanwhile.
    settings = make_settings(
        sim={"enabled": True, "asics": 1, "gpus": 0, "luxos_every": 1, "asic_subnet": random_loopback_subnet(),
             "asic_web_port": free_port(), "speed": 200},
        resources={"poll_interval_s": POLL_S, "confirm_retry_s": 0.1},
        economics={"plan": False},
    )
    app = create_app(settings)
    async with serve(app) as served:
        components = app.state.platform.components
        runtime = components.require(ResourcesRuntime)
        await asyncio.wait_for(asyncio.shield(runtime.bootstrap), timeout=30)
        ops = await token(served.http, *DEMO_CREDENTIALS["operator"])
        auth = {"Authorization": f"Bearer {ops}"}
        sim_unit = components.require(Simulator).sim.units["asic-001"]

        async def the_unit() -> dict[str, Any]:
            items = (await served.http.get(f"{API}/resources", params={"kind": "asic"}, headers=auth)).json()["items"]
            return next(u for u in items if u["address"] == sim_unit.address)

        async def online() -> dict[str, Any]:
            unit = await the_unit()
            assert unit["status"] == "online" and "temp_c" in unit["reading"], unit
            return unit

        unit = await eventually(online, 30)
        cause = f"temperature:{unit['id']}"

        async with listen(f"{served.ws_url}?token={ops}") as client:
            await client.subscribe("alerts", "resources")

            def about(event: str) -> list[tuple[float, dict[str, Any]]]:
                return [(t, m) for t, m in client.received if m["channel"] == "alerts" and m["event"] == event
                        and m["data"]["cause"] == cause]

            hit = await served.http.post(f"{API}/sim/units/asic-001/fault", json={"type": "overheat"}, headers=auth)
            assert hit.status_code == 200, hit.text
            injected = time.time()
            await client.wait_for(lambda: about("alert.raised"), timeout=10, what="the alert")
            raised_at, raised = about("alert.raised")[0]
            # The poll that first saw it hot published the unit's state; the alert followed within
            # two poll intervals of it (and of the fault, give or take the chips' heating).
            seen_hot = next(t for t, m in client.received if m["channel"] == "resources"
                            and m["data"]["id"] == unit["id"]
                            and any(r.startswith("temperature") for r in m["data"]["health_reasons"]))
            assert raised_at - seen_hot < 2 * POLL_S, raised_at - seen_hot
            assert raised_at - injected < 5.0
            listed = (await served.http.get(f"{API}/alerts", params={"status": "open"}, headers=auth)).json()
            assert [a["id"] for a in listed["items"] if a["cause"] == cause] == [raised["data"]["id"]]

            rounds = runtime.monitor.rounds
            await eventually(lambda: runtime.monitor.rounds >= rounds + 8, 30,
                             what="many polls of a hot miner later...")
            everything = (await served.http.get(f"{API}/alerts", params={"limit": 1000}, headers=auth)).json()
            assert [a["id"] for a in everything["items"] if a["cause"] == cause] == [raised["data"]["id"]]
            ids = {m["data"]["id"] for _, m in about("alert.raised")}
            assert ids == {raised["data"]["id"]}
            # Raised once, and at most once more when it got worse (warning -> critical).
            assert len(about("alert.raised")) <= 2
            assert about("alert.resolved") == []

            # Someone is on it: the ack reaches the channel; an acked alert still auto-resolves.
            acked = await served.http.post(f"{API}/alerts/{raised['data']['id']}/ack", headers=auth)
            assert acked.status_code == 200, acked.text
            await client.wait_for(lambda: about("alert.acked"), timeout=5, what="the ack")
            assert about("alert.acked")[0][1]["data"]["acked_by"] == DEMO_CREDENTIALS["operator"][0]

            cleared = await served.http.delete(f"{API}/sim/units/asic-001/fault", headers=auth)
            assert cleared.status_code == 200, cleared.text
            await client.wait_for(lambda: about("alert.resolved"), timeout=15, what="the auto-resolve")
            resolved = about("alert.resolved")[0][1]["data"]
            assert resolved["id"] == raised["data"]["id"] and resolved["resolved_by"] == "auto"
            done = (await served.http.get(f"{API}/alerts", params={"status": "resolved"}, headers=auth)).json()
            assert raised["data"]["id"] in {a["id"] for a in done["items"]}
            still_open = (await served.http.get(f"{API}/alerts", params={"status": "open"}, headers=auth)).json()
            assert cause not in {a["cause"] for a in still_open["items"]}
