"""The engine in the running platform, fed through the bus: a stale market feed raises an alert
that the next tick resolves, a price spike above break-even, a slow GPU switch; a redelivered
event changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.conftest import running_app
from tests.eventually import eventually

from hcp.alerts import service
from hcp.alerts.service import AlertEngine, engine_of
from hcp.app import create_app
from hcp.core.bus import Event
from hcp.core.security import Principal
from hcp.core.settings import Settings

STAFF = Principal(id="u", email="ops@mara.com", role="operator", tenant_id=None, scopes=frozenset({"read"}))


async def open_causes(engine: AlertEngine) -> dict[str, str]:
    async with engine.platform.db.session() as session:
        rows, _ = await service.list_alerts(session=session, principal=STAFF, limit=1000)
    return {a.cause: a.status for a in reversed(rows)}  # the newest alert of each cause wins


async def until(engine: AlertEngine, want: Callable[[dict[str, str]], bool]) -> dict[str, str]:
    async def wanted() -> dict[str, str]:
        causes = await open_causes(engine)
        assert want(causes), causes
        return causes

    return await eventually(wanted, 10)


async def test_stale_feed_price_spike_and_slow_switch(make_settings: Callable[..., Settings]) -> None:
    # Nothing else in this process consumes market ticks, so bare test ticks bother nobody.
    app = create_app(make_settings(market={"ingest": False}, economics={"plan": False}))
    async with running_app(app):
        engine = engine_of(app.state.platform)
        assert engine is not None
        bus = app.state.platform.bus

        engine._last_tick -= timedelta(seconds=app.state.platform.settings.market.stale_after_s + 1)
        await engine.check_stale()
        await engine.check_stale()  # still stale: still one alert
        assert await open_causes(engine) == {"market_stale:feed": "open"}

        tick: dict[str, Any] = {"hashprice_usd_per_th_day": 0.05,
                                "electricity_usd_per_mwh": {"HB_NORTH": 40.0, "HB_WEST": 300.0}}
        await bus.emit_raw("market.tick", tick)
        causes = await until(engine, lambda c: c.get("market_stale:feed") == "resolved")
        assert causes == {"market_stale:feed": "resolved", "price_spike:HB_WEST": "open"}
        await engine.check_stale()  # the tick made the feed fresh
        assert (await open_causes(engine))["market_stale:feed"] == "resolved"

        slow = await bus.emit_raw("switch.done", {"unit_id": "gpu-001", "latency_ms": 730.0, "phases": {}})
        await until(engine, lambda c: c.get("switch_latency:gpu-001") == "open")
        await bus.emit_raw("market.tick", {**tick, "electricity_usd_per_mwh": {"HB_WEST": 50.0}})
        await bus.emit_raw("switch.done", {"unit_id": "gpu-001", "latency_ms": 400.0, "phases": {}})
        # Ticks and switches are consumed apart: either may be judged first.
        await until(engine, lambda c: c.get("switch_latency:gpu-001") == "resolved"
                    and c.get("price_spike:HB_WEST") == "resolved")

        # At-least-once delivery: the slow switch handed to the engine again changes nothing
        # (were it judged again, it would reopen the alert that the quick switch resolved).
        before = await open_causes(engine)
        await engine._on_event(slow)
        assert await open_causes(engine) == before
        assert len(before) == 3


async def test_the_tick_that_clears_a_stale_feed_is_not_undone_by_the_next_check(
    make_settings: Callable[..., Settings],
) -> None:
    """The shared consumer may judge a tick before this process's own tick listener has seen it;
    the resolution wakes the timer at once, and its stale check must count that tick."""
    app = create_app(make_settings(market={"ingest": False}, economics={"plan": False}))
    async with running_app(app):
        platform = app.state.platform
        engine = engine_of(platform)
        assert engine is not None
        engine._last_tick -= timedelta(seconds=platform.settings.market.stale_after_s + 1)
        await engine.check_stale()
        assert await open_causes(engine) == {"market_stale:feed": "open"}
        tick = Event(subject="market.tick", data={"hashprice_usd_per_th_day": 0.05,
                                                  "electricity_usd_per_mwh": {"HB_NORTH": 40.0}},
                     ts=platform.clock.now().isoformat())
        await engine._on_event(tick)  # as the durable consumer delivers it; `_on_tick` not yet
        await engine.check_stale()
        assert await open_causes(engine) == {"market_stale:feed": "resolved"}
