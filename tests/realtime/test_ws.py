"""/ws against a real uvicorn server with a real client: authentication, channels and tenants,
a workload's life seen live, resume with `last_id`, and split mode's replicas on NATS."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.conftest import DEMO_CREDENTIALS, NATS_URL, delete_stream, random_loopback_subnet, require_server
from tests.eventually import eventually
from tests.realtime.conftest import Listener, listen, serve, token
from tests.realtime.test_schemas import MESSAGES
from websockets.exceptions import ConnectionClosed

from hcp.app import create_app
from hcp.auth import tokens
from hcp.core.settings import Settings

API = "/api/v1"


async def test_a_bad_or_missing_credential_closes_with_policy_violation(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings())) as served:
        for query in ("", "?token=not-a-token", "?token=hcp_nonsense"):
            async with listen(served.ws_url + query) as client:
                await client.wait_for(lambda c=client: c.task is not None and c.task.done(), what="close")
                assert client.conn.close_code == 1008, query
                assert client.received == []
        # The same credential is good in the query, as a bearer header or as X-API-Key.
        good = await token(served.http, *DEMO_CREDENTIALS["operator"])
        for kwargs in ({"url": f"{served.ws_url}?token={good}"},
                       {"url": served.ws_url, "additional_headers": {"Authorization": f"Bearer {good}"}}):
            async with listen(**kwargs) as client:
                assert (await client.subscribe("resources"))["channels"] == ["resources"]


async def test_a_connection_ends_when_its_credential_no_longer_holds_and_follows_a_role_change(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(realtime={"recheck_s": 0.1})
    async with serve(create_app(settings)) as served:
        async def closed(client: Listener) -> tuple[int | None, str | None]:
            await client.wait_for(lambda: client.task is not None and client.task.done(), what="close")
            return client.conn.close_code, client.conn.close_reason

        # Logging out ends the socket opened with that login's token.
        ops = await token(served.http, *DEMO_CREDENTIALS["operator"])
        async with listen(f"{served.ws_url}?token={ops}") as client:
            await client.subscribe("resources")
            out = await served.http.post(f"{API}/auth/logout", headers={"Authorization": f"Bearer {ops}"})
            assert out.status_code == 204
            assert await closed(client) == (1008, "session ended; log in again")

        # A token that expires while the socket is open ends it (5 s of leeway, 3.5 of them gone).
        ops = await token(served.http, *DEMO_CREDENTIALS["operator"])
        claims = tokens.decode_access_token(ops, secret=settings.secret_key)
        lifetime = timedelta(minutes=15)
        short = tokens.encode_access_token(
            secret=settings.secret_key, user_id=claims.user_id, role=claims.role, tenant_id=None,
            session_id=claims.session_id, now=datetime.now(UTC) - lifetime - timedelta(seconds=3.5),
            lifetime=lifetime)
        async with listen(f"{served.ws_url}?token={short}") as client:
            await client.subscribe("resources")
            assert await closed(client) == (1008, "access token expired; refresh it")

        # An operator made a customer keeps the socket, without the fleet's channels.
        admin_token = await token(served.http, *DEMO_CREDENTIALS["admin"])
        admin = {"Authorization": f"Bearer {admin_token}"}
        async with (listen(f"{served.ws_url}?token={ops}") as client,
                    listen(f"{served.ws_url}?token={admin_token}") as staff):
            await staff.subscribe("resources")
            assert (await client.subscribe("resources", "workloads"))["channels"] == ["resources", "workloads"]
            acme = next(t for t in (await served.http.get(f"{API}/auth/tenants", headers=admin)).json()["items"]
                        if t["slug"] == "acme")
            changed = await served.http.patch(f"{API}/auth/users/{claims.user_id}", headers=admin,
                                              json={"role": "customer", "tenant_id": acme["id"]})
            assert changed.status_code == 200, changed.text
            await client.wait_for(lambda: client.controls("unsubscribed"), what="the fleet's channels taken")
            assert client.controls("unsubscribed")[0]["data"] == {"channels": ["workloads"], "denied": ["resources"]}
            await served.app.state.platform.bus.emit_raw("unit.state", {"id": "u1", "n": 1})
            await staff.wait_for(lambda: staff.events("resources"), what="the unit's event, sent to staff")
            await client.flushed()
            assert client.events("resources") == [] and client.conn.close_code is None


async def test_customers_get_their_tenant_channels_only_and_bad_messages_get_an_error(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings(realtime={"heartbeat_s": 0.2}))) as served:
        john = await token(served.http, *DEMO_CREDENTIALS["customer"])
        async with listen(f"{served.ws_url}?token={john}") as client:
            reply = await client.subscribe("workloads", "resources", "prices", "billing", "alerts", "nonsense")
            assert reply == {"channels": ["alerts", "billing", "workloads"], "denied": ["resources", "prices"],
                             "unknown": ["nonsense"]}
            await client.send({"action": "dance"})
            await client.conn.send("not json")
            await client.wait_for(lambda: len(client.controls("error")) == 2, what="two errors")
            assert {e["data"]["code"] for e in client.controls("error")} == {"invalid_message"}
            await client.send({"action": "unsubscribe", "channels": ["billing"]})
            await client.wait_for(lambda: client.controls("unsubscribed"), what="unsubscribed")
            assert client.controls("unsubscribed")[0]["data"]["channels"] == ["alerts", "workloads"]
            await client.send({"action": "ping"})
            await client.wait_for(lambda: client.controls("pong"), what="pong")
            await client.wait_for(lambda: len(client.controls("heartbeat")) >= 2, what="heartbeats")
            listed = (await served.http.get(f"{API}/realtime/channels",
                                            headers={"Authorization": f"Bearer {john}"})).json()
            assert {c["name"] for c in listed["items"] if c["allowed"]} == {"workloads", "billing", "alerts"}
            for _, message in client.received:
                MESSAGES.validate_python(message)


@pytest.fixture
def gpu_settings(make_settings: Callable[..., Settings]) -> Settings:
    """One simulated GPU in real time, polled twice a second; the orchestrator ticks fast."""
    return make_settings(
        sim={"enabled": True, "asics": 0, "gpus": 1, "asic_subnet": random_loopback_subnet(), "speed": 1},
        resources={"poll_interval_s": 0.5}, orchestrator={"tick_s": 0.05}, economics={"plan": False},
    )


async def test_a_customer_sees_their_workload_live_and_another_tenant_sees_none_of_it(
    gpu_settings: Settings,
) -> None:
    async with serve(create_app(gpu_settings)) as served:
        http = served.http
        john = await token(http, *DEMO_CREDENTIALS["customer"])
        maria = await token(http, "maria@globex.com", "customer123")
        ops = await token(http, *DEMO_CREDENTIALS["operator"])

        async def gpu_online() -> bool:  # the demo registers the simulator's GPU at start
            gpus = (await http.get(f"{API}/resources", params={"kind": "gpu"},
                                   headers={"Authorization": f"Bearer {ops}"})).json()
            assert gpus["total"] == 1 and gpus["items"][0]["status"] == "online", gpus
            return True

        await eventually(gpu_online, 30)
        async with (listen(f"{served.ws_url}?token={john}") as owner,
                    listen(f"{served.ws_url}?token={maria}") as other,
                    listen(f"{served.ws_url}?token={ops}") as staff):
            for client in (owner, other, staff):
                await client.subscribe("workloads")
            created = await http.post(f"{API}/workloads", headers={"Authorization": f"Bearer {john}"}, json={
                "name": "live", "type": "ai_inference", "priority": 5, "gpu_model": "any", "gpu_count": 1,
                "duration_s": 2})
            assert created.status_code == 201, created.text
            workload_id = created.json()["id"]

            def statuses(client: Any) -> list[str]:
                return [m["data"]["status"] for m in client.events("workloads") if m["data"]["id"] == workload_id]

            await owner.wait_for(lambda: "completed" in statuses(owner), timeout=30, what="completed")
            seen = statuses(owner)
            assert seen[seen.index("queued"):] == ["queued", "scheduled", "switching", "running", "completed"]
            history = (await http.get(f"{API}/workloads/{workload_id}",
                                      headers={"Authorization": f"Bearer {john}"})).json()["history"]
            at = {h["to"]: datetime.fromisoformat(h["at"]).timestamp() for h in history}
            for status in ("queued", "running", "completed"):
                arrived = next(t for t, m in owner.received
                               if m["channel"] == "workloads" and m["data"]["status"] == status)
                assert arrived - at[status] < 1.0, (status, arrived - at[status])
                message = next(m for _, m in owner.received
                               if m["channel"] == "workloads" and m["data"]["status"] == status)
                assert message["event"] == "workload.state" and message["data"]["tenant_id"] == \
                    created.json()["tenant_id"] and message["id"] and message["ts"]
            await staff.wait_for(lambda: "completed" in statuses(staff), what="staff sees every tenant's")
            await other.flushed()
            assert other.events() == [], "another tenant's client saw the workload"
            # What was sent is what the WebSocket's models (the OpenAPI components) say.
            for client in (owner, other, staff):
                for _, message in client.received:
                    MESSAGES.validate_python(message)


def numbered(client: Listener) -> list[dict[str, Any]]:
    """This test's events: the platform publishes its own on `metrics` (fleet aggregates) too."""
    return [m for m in client.events() if "n" in m["data"]]


async def test_a_client_resumes_from_last_id_while_held_else_gets_reset(
    make_settings: Callable[..., Settings],
) -> None:
    # The buffer is shared by all channels, and the platform publishes too (units changing state,
    # a stale-feed alert when no market runs): hold enough that the platform's own events cannot
    # push this test's out before it asks, and push them out on purpose with more than are held.
    held = 40
    app = create_app(make_settings(realtime={"replay_events": held, "alerts": {"run": False}},
                                   metrics={"publish": False}))
    async with serve(app) as served:
        bus = app.state.platform.bus
        ops = await token(served.http, *DEMO_CREDENTIALS["operator"])
        url = f"{served.ws_url}?token={ops}"
        # A client that stays connected: once it has an event, the hub holds that event for replay.
        async with listen(url) as watch:
            await watch.subscribe("metrics", "plan")

            async def held_up_to(n: int) -> None:
                await watch.wait_for(lambda: any(m["data"]["n"] == n for m in numbered(watch)), what=f"event {n}")

            async with listen(url) as first:
                await first.subscribe("metrics", "plan")
                for i in range(3):
                    await bus.emit_raw("fleet.metrics", {"n": i})
                await first.wait_for(lambda: len(numbered(first)) == 3, what="three ticks")
                last_id = numbered(first)[-1]["id"]
            await bus.emit_raw("plan.decided", {"n": 3})
            await bus.emit_raw("fleet.metrics", {"n": 4})
            await bus.emit_raw("fleet.metrics", {"n": 5})
            await held_up_to(5)
            async with listen(f"{url}&last_id={last_id}") as back:
                await back.subscribe("metrics")
                # Only the channels asked for are replayed, in order.
                await back.wait_for(lambda: len(numbered(back)) == 2, what="the two missed")
                assert [(m["channel"], m["data"]["n"]) for m in numbered(back)] == [("metrics", 4), ("metrics", 5)]
                # Live events follow the replay.
                await bus.emit_raw("fleet.metrics", {"n": 6})
                await back.wait_for(lambda: len(numbered(back)) == 3, what="live after replay")
            for i in range(7, 7 + held + 1):  # push the first events out of those held
                await bus.emit_raw("fleet.metrics", {"n": i})
            await held_up_to(7 + held)
            async with listen(url) as late:
                await late.subscribe("metrics", last_id=last_id)
                await late.wait_for(lambda: late.controls("reset"), what="reset")
                assert numbered(late) == [] and late.controls("reset")[0]["data"]["last_id"] == last_id


@pytest.mark.nats
async def test_every_websocket_replica_sees_every_event_on_nats(
    make_settings: Callable[..., Settings], bus_names: dict[str, str],
) -> None:
    """Split mode: two WebSocket processes on one NATS stream each relay every event (fan-out,
    not a work queue)."""
    require_server("nats", NATS_URL)
    settings = make_settings(bus_url=NATS_URL)
    try:
        async with serve(create_app(settings)) as one, \
                serve(create_app(settings.model_copy(), service="websocket")) as two:
            ops = await token(one.http, *DEMO_CREDENTIALS["operator"])
            async with listen(f"{one.ws_url}?token={ops}") as a, listen(f"{two.ws_url}?token={ops}") as b:
                await a.subscribe("plan")
                await b.subscribe("plan")
                for i in range(20):
                    await one.app.state.platform.bus.emit_raw("plan.decided", {"n": i})
                for client in (a, b):
                    await client.wait_for(lambda c=client: len(numbered(c)) == 20, timeout=15, what="20 events")
                    assert [m["data"]["n"] for m in numbered(client)] == list(range(20))
                assert [m["id"] for m in numbered(a)] == [m["id"] for m in numbered(b)]
    finally:
        await delete_stream(bus_names["stream"])


async def test_the_server_closes_cleanly_with_clients_connected(make_settings: Callable[..., Settings]) -> None:
    async with serve(create_app(make_settings())) as served:
        ops = await token(served.http, *DEMO_CREDENTIALS["operator"])
        client_cm = listen(f"{served.ws_url}?token={ops}")
        client = await client_cm.__aenter__()
        await client.subscribe("alerts")
    with contextlib.suppress(ConnectionClosed):
        await client.conn.recv()
    await client_cm.__aexit__(None, None, None)
    assert client.conn.close_code is not None


async def test_a_process_full_of_clients_closes_new_ones_with_try_again_later(
    make_settings: Callable[..., Settings],
) -> None:
    async with serve(create_app(make_settings(realtime={"max_clients": 1}))) as served:
        ops = await token(served.http, *DEMO_CREDENTIALS["operator"])
        async with listen(f"{served.ws_url}?token={ops}") as first:
            await first.subscribe("plan")
            async with listen(f"{served.ws_url}?token={ops}") as second:
                await second.wait_for(lambda: second.task is not None and second.task.done(), what="close")
                assert second.conn.close_code == 1013
        async with listen(f"{served.ws_url}?token={ops}") as again:  # the first one left: room again
            assert (await again.subscribe("plan"))["channels"] == ["plan"]
