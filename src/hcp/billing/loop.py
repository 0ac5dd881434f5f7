"""The billing domain's background work: the metering consumer and the monthly close / mining
accrual loop, and the payment provider the routes charge through.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from hcp.billing import invoices, metering, payments, revenue, service
from hcp.core.bus import Event, Subscription
from hcp.core.component import OK, Periodic
from hcp.core.platform import Platform
from hcp.kernel.events import WorkloadState

log = structlog.get_logger(__name__)


class Payments:
    """The payment provider of this process (simulated: no card network is reachable from here)."""

    name = "payments"

    def __init__(self, provider: payments.PaymentProvider | None = None) -> None:
        self.provider: payments.PaymentProvider = provider or payments.SimulatedProvider()

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def health(self) -> str:
        return OK


class BillingLoop:
    """Meters `workload.state` events into usage, and periodically closes months and accrues mining."""

    name = "billing"

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.settings = platform.settings.billing
        self.subscription: Subscription | None = None
        self.periodic = Periodic(
            "billing-loop", self.tick, clock=platform.clock,
            every_s=min(self.settings.close_interval_s, self.settings.mining_accrual_interval_s))

    async def start(self) -> None:
        # Durable: replicas share one consumer group (each event to one of them) and a restart
        # resumes; `first_delivery` in `apply_event` absorbs redeliveries.
        self.subscription = await self.platform.bus.subscribe(
            WorkloadState.subject, self.on_workload_state, durable=metering.CONSUMER)
        await self.periodic.start()

    async def stop(self) -> None:
        if self.subscription is not None:
            await self.subscription.stop()
            self.subscription = None
        await self.periodic.stop()

    def health(self) -> str:
        return self.periodic.health() if self.subscription is not None else "stopped"

    async def on_workload_state(self, event: Event) -> None:
        workload = event.parse(WorkloadState)
        if metering.mark_kind(workload.previous_status, workload.status) is None:
            return  # not a start or an end of billable time: nothing to record, nor to de-duplicate
        async with self.platform.db.transaction() as session:
            created = await metering.apply_event(session=session, event=event, settings=self.settings,
                                                 workload=workload)
            for tenant_id, when in {(u.tenant_id, u.ended_at) for u in created}:
                await service.check_thresholds(session=session, tenant_id=tenant_id, when=when)

    async def tick(self) -> None:
        now = self.platform.clock.now()
        async with self.platform.db.session() as session:
            due = await invoices.months_to_close(session=session, now=now)
        for tenant_id, period in due:
            async with self.platform.db.transaction() as session:
                await invoices.close_month(session=session, settings=self.settings, tenant_id=tenant_id,
                                           period=period, now=now)
        await self.accrue_mining(now)

    async def accrue_mining(self, now: datetime) -> None:
        current = now.replace(minute=0, second=0, microsecond=0)
        async with self.platform.db.session() as session:
            until = await revenue.accrued_until(session=session)
        # At most a day back: telemetry samples are kept for two days.
        hour = max(until or current, current - timedelta(hours=24))
        while hour < current:
            async with self.platform.db.transaction() as session:
                await revenue.accrue_hour(session=session, settings=self.settings, hour=hour)
            hour += revenue.HOUR
