"""GET /api/v1/fleet/history: the fleet's recent snapshots as a chart needs them, kept as
telemetry of a pseudo-unit (raw while retained, per-minute rollups beyond), staff only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from fastapi import FastAPI
from tests.conftest import DEMO_CREDENTIALS, login_headers, running_app

from hcp.app import create_app
from hcp.core.clock import SteppedClock
from hcp.core.platform import Platform
from hcp.core.settings import Settings
from hcp.orchestrator.fleet_metrics import FleetMetrics
from hcp.resources import telemetry

HISTORY = "/api/v1/fleet/history"


@pytest.fixture
async def app(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = make_settings(metrics={"publish": True, "interval_s": 3600},
                             resources={"telemetry_retention_h": 1.0})
    platform = Platform(settings, clock=SteppedClock(1_800_000_000.0))  # on a minute boundary
    application = create_app(settings, platform=platform)
    async with running_app(application) as client:
        yield application, client


def metrics_of(app: FastAPI) -> FleetMetrics:
    return app.state.platform.components.require(FleetMetrics)


async def test_the_history_holds_each_minute_of_snapshots_and_stays_staff_only(
        app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    platform: Platform = application.state.platform
    clock = platform.clock
    assert isinstance(clock, SteppedClock)
    published = []
    for _ in range(4):  # two snapshots in each of two minutes
        assert await metrics_of(application).publish_once()
        snapshot = metrics_of(application).snapshot
        assert snapshot is not None
        published.append(snapshot.payload())
        await clock.advance(30)

    staff = await login_headers(client, *DEMO_CREDENTIALS["operator"])
    answer = await client.get(HISTORY, params={"window_s": 600}, headers=staff)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["window_s"] == 600 and body["step_s"] == 60 and body["source"] == "raw"
    points = body["points"]
    assert [p["ts"][:19] for p in points] == ["2027-01-15T08:00:00", "2027-01-15T08:01:00"]
    first = published[0]
    assert points[0]["hashrate_ths"] == pytest.approx((published[0].hashrate_ths + published[1].hashrate_ths) / 2)
    assert points[0]["power_w"]["total"] == pytest.approx((first.power_w["total"] + published[1].power_w["total"]) / 2)
    assert set(points[0]["power_w"]) == set(first.power_w) and set(points[0]["power_w_by_facility"]) == set(
        first.power_w_by_facility)
    assert points[1]["gpus_total"] == first.gpus_total

    customer = await login_headers(client, *DEMO_CREDENTIALS["customer"])
    assert (await client.get(HISTORY, headers=customer)).status_code == 403
    assert (await client.get(HISTORY)).status_code == 401


async def test_older_windows_come_from_the_per_minute_rollups(app: tuple[FastAPI, httpx.AsyncClient]) -> None:
    application, client = app
    platform: Platform = application.state.platform
    clock = platform.clock
    assert isinstance(clock, SteppedClock)
    assert await metrics_of(application).publish_once()
    hashrate = metrics_of(application).snapshot.payload().hashrate_ths  # type: ignore[union-attr]
    async with platform.db.transaction() as session:
        await telemetry.roll_up(session=session, since_ms=telemetry.to_ms(clock.now()) - 60_000,
                                until_ms=telemetry.to_ms(clock.now()) + 120_000)
    await clock.advance(2 * 3600)  # past the raw retention of one hour
    staff = await login_headers(client, *DEMO_CREDENTIALS["admin"])
    body = (await client.get(HISTORY, params={"window_s": 3 * 3600, "step_s": 300}, headers=staff)).json()
    assert body["source"] == "rollup" and len(body["points"]) == 1
    assert body["points"][0]["hashrate_ths"] == pytest.approx(hashrate)


@pytest.mark.parametrize(("params", "field"), [({"window_s": 10}, "window_s"), ({"step_s": 90}, "step_s"),
                                                ({"window_s": "hour"}, "window_s")])
async def test_bad_windows_are_refused_naming_the_field(app: tuple[FastAPI, httpx.AsyncClient],
                                                        params: dict[str, object], field: str) -> None:
    _, client = app
    staff = await login_headers(client, *DEMO_CREDENTIALS["operator"])
    answer = await client.get(HISTORY, params=params, headers=staff)
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["field"] == field
