"""Alerts: opening, escalating and resolving them from the rules' verdicts, ack and resolve by a
user, and the engine that feeds the rules from the bus.

Every change is one transaction that writes its `alert.raised` / `alert.resolved` event through
the outbox. The engine's consumers are durable and shared, so replicas split the events between
them, and `first_delivery` makes a redelivered event change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import structlog
from prometheus_client import Gauge
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hcp.alerts import rules
from hcp.alerts.models import SEVERITIES, SEVERITY_RANK, Alert
from hcp.core.bus import Event, Payload, Subscription
from hcp.core.component import tasks_health
from hcp.core.db import Database
from hcp.core.errors import Conflict, NotFound
from hcp.core.metrics import REGISTRY
from hcp.core.outbox import add_event, first_delivery
from hcp.core.paging import page
from hcp.core.platform import Platform
from hcp.core.security import Principal, ensure_visible, tenant_filter
from hcp.core.tasks import cancel_tasks, wait_event
from hcp.kernel import events

log = structlog.get_logger(__name__)

RAISED, ACKED, RESOLVED = "alert.raised", "alert.acked", "alert.resolved"
ALERTS_OPEN = Gauge(
    "hcp_alerts_open", "Alerts open or acknowledged (not yet resolved), by severity; counted from the table",
    ["severity"], registry=REGISTRY,
)


def alert_view(alert: Alert) -> dict[str, Any]:
    """An alert as the API shows it (and as `alert.*` events carry it)."""
    return {
        "id": alert.id, "cause": alert.cause, "rule": alert.rule, "severity": alert.severity,
        "status": alert.status, "subject_kind": alert.subject_kind, "subject_id": alert.subject_id,
        "tenant_id": alert.tenant_id, "message": alert.message, "details": dict(alert.details or {}),
        "raised_at": alert.raised_at, "updated_at": alert.updated_at, "acked_at": alert.acked_at,
        "acked_by": alert.acked_by, "resolved_at": alert.resolved_at, "resolved_by": alert.resolved_by,
    }


# --- applying verdicts -------------------------------------------------------------------------
async def apply_verdict(*, session: AsyncSession, verdict: rules.Verdict, now: datetime) -> list[tuple[str, Alert]]:
    """Open an alert per new cause, escalate one whose severity rose, resolve those that cleared.

    Returns the changes as (subject of the event written, alert)."""
    stmt = select(Alert).where(
        Alert.subject_kind == verdict.subject_kind, Alert.subject_id == verdict.subject_id,
        Alert.open_cause.is_not(None), Alert.rule.in_(sorted(verdict.rules)),
    )
    open_by_cause = {a.cause: a for a in (await session.execute(stmt)).scalars().all()}
    changes: list[tuple[str, Alert]] = []
    for cause in verdict.active:
        alert = open_by_cause.pop(cause.cause, None)
        if alert is None:
            alert = await _open(session, verdict, cause, now)
            if alert is not None:
                changes.append((RAISED, alert))
        elif SEVERITY_RANK[cause.severity] > SEVERITY_RANK[alert.severity]:
            # Worse than when it was raised (or acked): say so again, under the same alert.
            alert.severity, alert.message, alert.status = cause.severity, cause.message, "open"
            alert.details, alert.updated_at = dict(cause.details), now
            changes.append((RAISED, alert))
    for alert in open_by_cause.values():
        _close(alert, by="auto", now=now)
        changes.append((RESOLVED, alert))
    if changes:
        await session.flush()
        for subject, alert in changes:
            add_event(session, events.BY_SUBJECT[subject].model_validate(alert_view(alert)), ts=now)
    return changes


async def any_open(*, session: AsyncSession, verdicts: Sequence[rules.Verdict]) -> bool:
    """Whether any of the verdicts' subjects has an alert open under one of their rules."""
    for verdict in verdicts:
        found = await session.scalar(select(Alert.id).where(
            Alert.subject_kind == verdict.subject_kind, Alert.subject_id == verdict.subject_id,
            Alert.open_cause.is_not(None), Alert.rule.in_(sorted(verdict.rules))).limit(1))
        if found is not None:
            return True
    return False


async def _open(session: AsyncSession, verdict: rules.Verdict, cause: rules.Cause, now: datetime) -> Alert | None:
    alert = Alert(
        cause=cause.cause, open_cause=cause.cause, rule=cause.rule, severity=cause.severity, status="open",
        subject_kind=verdict.subject_kind, subject_id=verdict.subject_id, tenant_id=cause.tenant_id,
        message=cause.message[:500], details=dict(cause.details), raised_at=now, updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(alert)
            await session.flush()
    except IntegrityError:
        # Another replica opened this cause a moment ago: one alert per cause, theirs.
        return None
    return alert


def _close(alert: Alert, *, by: str, now: datetime) -> None:
    alert.status, alert.open_cause = "resolved", None
    alert.resolved_at, alert.resolved_by, alert.updated_at = now, by, now


# --- reading and user actions ------------------------------------------------------------------
async def list_alerts(
    *, session: AsyncSession, principal: Principal, status: str | None = None, severity: str | None = None,
    subject_kind: str | None = None, subject_id: str | None = None, tenant_id: str | None = None,
    limit: int = 100, offset: int = 0,
) -> tuple[list[Alert], int]:
    """Newest first; customers see the alerts of their own tenant only (budgets), staff all.

    Every filter is an equality on the field of that name (what the console's live cache compares
    an `alert.*` event against): one unit's alerts are `subject_kind="unit", subject_id=<unit>`."""
    where = [tenant_filter(principal, Alert.tenant_id)]
    for column, value in ((Alert.status, status), (Alert.severity, severity), (Alert.subject_kind, subject_kind),
                          (Alert.subject_id, subject_id), (Alert.tenant_id, tenant_id)):
        if value is not None:
            where.append(column == value)
    return await page(session, select(Alert).where(*where).order_by(Alert.raised_at.desc(), Alert.id),
                      limit=limit, offset=offset)


async def summarize(*, session: AsyncSession, principal: Principal) -> dict[str, dict[str, int]]:
    """The alerts not yet resolved that `principal` may see, counted by status (open, acked) and
    severity (every severity present, zero included)."""
    rows = (await session.execute(
        select(Alert.status, Alert.severity, func.count())
        .where(tenant_filter(principal, Alert.tenant_id), Alert.status != "resolved")
        .group_by(Alert.status, Alert.severity)
    )).all()
    counts = {status: dict.fromkeys(SEVERITIES, 0) for status in ("open", "acked")}
    for status, severity, n in rows:
        if str(status) in counts and str(severity) in counts[str(status)]:
            counts[str(status)][str(severity)] = int(n)
    return counts


async def get_alert(*, session: AsyncSession, principal: Principal, alert_id: str) -> Alert:
    alert = await session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"no alert {alert_id}")
    # Fleet alerts (no tenant) are staff's; a customer sees their own tenant's budget alerts.
    ensure_visible(principal, alert.tenant_id, what="alert", id=alert_id)
    return alert


async def ack(*, session: AsyncSession, principal: Principal, alert_id: str, now: datetime) -> Alert:
    """Someone is on it: staff, or a customer for their own tenant's alerts. Acking twice is
    harmless (one `alert.acked` event); a resolved alert cannot be acked."""
    alert = await get_alert(session=session, principal=principal, alert_id=alert_id)
    if alert.status == "resolved":
        raise Conflict(f"alert {alert_id} is resolved", code="alert_resolved")
    if alert.status == "open":
        alert.status, alert.acked_at, alert.acked_by, alert.updated_at = "acked", now, principal.email, now
        await session.flush()
        add_event(session, events.AlertAcked.model_validate(alert_view(alert)), ts=now)
    return alert


async def resolve(*, session: AsyncSession, principal: Principal, alert_id: str, now: datetime) -> Alert:
    """Close by hand; if the cause persists, the rule's next verdict on it opens a new alert."""
    alert = await get_alert(session=session, principal=principal, alert_id=alert_id)
    if alert.status == "resolved":
        return alert
    _close(alert, by=principal.email, now=now)
    await session.flush()
    add_event(session, events.AlertResolved.model_validate(alert_view(alert)), ts=now)
    return alert


async def count_open(*, session: AsyncSession) -> dict[str, int]:
    rows = (await session.execute(
        select(Alert.severity, func.count()).where(Alert.open_cause.is_not(None)).group_by(Alert.severity)
    )).all()
    counts = dict.fromkeys(SEVERITIES, 0)
    counts.update({str(sev): int(n) for sev, n in rows})
    return counts


async def refresh_gauge(db: Database) -> dict[str, int]:
    """Set `hcp_alerts_open` from the table, so every process reports the fleet's truth."""
    async with db.session() as session:
        counts = await count_open(session=session)
    for severity, n in counts.items():
        ALERTS_OPEN.labels(severity).set(n)
    return counts


# --- the engine --------------------------------------------------------------------------------
class AlertEngine:
    """Feeds the rules from the bus and checks the market feed's freshness on a timer."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.settings = platform.settings.realtime.alerts
        self._subs: list[Subscription] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._last_tick = platform.clock.now()
        self._gauge_dirty = asyncio.Event()
        # A stale check judges the time since the last tick, then writes: a tick resolving the
        # stale-feed alert in between would be undone by the check's late write. They take turns.
        self._feed_turn = asyncio.Lock()

    name = "alerts"

    def health(self) -> str:
        return tasks_health(self._tasks) if self._tasks else "stopped"

    async def start(self) -> None:
        bus = self.platform.bus
        for subject in rules.RULE_SUBJECTS:
            # Durable and shared: replicas split the events, none is judged twice.
            name = "alerts_" + subject.replace(".", "_")
            self._subs.append(await bus.subscribe(subject, self._on_event, durable=name, deliver="new"))
        # Every process: when the last tick came (for the stale-feed rule), and whether any
        # process changed an alert (for the gauge).
        self._subs.append(await bus.subscribe("market.tick", self._on_tick))
        self._subs.append(await bus.subscribe("alert.*", self._on_alert))
        self._tasks.append(asyncio.create_task(self._timer(), name="alerts-timer"))
        self._gauge_dirty.set()

    async def stop(self) -> None:
        await cancel_tasks(self._tasks)
        self._tasks.clear()
        for sub in self._subs:
            with contextlib.suppress(Exception):
                await sub.stop()
        self._subs.clear()

    async def _on_event(self, event: Event) -> None:
        payload = event.parse(events.BY_SUBJECT[event.subject])  # malformed: dead-lettered by the bus
        if isinstance(payload, events.MarketTick):
            async with self._feed_turn:
                # Before its verdicts resolve the stale-feed alert: the resolution wakes the timer,
                # whose stale check must not beat this tick and raise the alert again.
                self._saw_tick(payload, event)
                await self._judge(event, payload)
            return
        await self._judge(event, payload)

    async def _judge(self, event: Event, payload: Payload) -> None:
        resources = self.platform.settings.resources
        verdicts = list(rules.verdicts_of(
            event.subject, payload.body(), resources=resources, switch_latency_ms=self.settings.switch_latency_ms,
            j_per_th=self.settings.break_even_j_per_th,
        ))
        if not verdicts:
            return
        await self.apply(verdicts, event_id=event.id, consumer="alerts:" + event.subject)

    async def apply(self, verdicts: Sequence[rules.Verdict], *, event_id: str | None = None,
                    consumer: str = "alerts") -> list[tuple[str, Alert]]:
        now = self.platform.clock.now()
        changes: list[tuple[str, Alert]] = []
        if not any(v.active for v in verdicts):
            # All clear (nearly every event): only an open alert could change, and with none open
            # there is nothing to write, not even the delivery record (a redelivery is as idle).
            async with self.platform.db.read() as session:
                if not await any_open(session=session, verdicts=verdicts):
                    return []
        async with self.platform.db.transaction() as session:
            if event_id is not None and not await first_delivery(session, consumer=consumer, event_id=event_id):
                return []
            for verdict in verdicts:
                changes.extend(await apply_verdict(session=session, verdict=verdict, now=now))
        for subject, alert in changes:
            log.info("alert " + subject.split(".")[1], alert_id=alert.id, cause=alert.cause, severity=alert.severity)
        if changes:
            self._gauge_dirty.set()
        return changes

    async def _on_tick(self, event: Event) -> None:
        self._saw_tick(event.parse(events.MarketTick), event)

    def _saw_tick(self, tick: events.MarketTick, event: Event) -> None:
        with contextlib.suppress(ValueError):
            self._last_tick = max(self._last_tick, tick.at(event.ts))

    async def _on_alert(self, _event: Event) -> None:
        self._gauge_dirty.set()

    async def check_stale(self) -> None:
        async with self._feed_turn:
            age = (self.platform.clock.now() - self._last_tick).total_seconds()
            verdict = rules.stale_verdict(age_s=age, stale_after_s=self.platform.settings.market.stale_after_s)
            if verdict.active:
                await self.apply([verdict])

    async def _timer(self) -> None:
        while True:
            await wait_event(self._gauge_dirty, self.settings.check_interval_s)
            self._gauge_dirty.clear()
            try:
                await self.check_stale()
                await refresh_gauge(self.platform.db)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("alert checks failed; retrying", exc_info=True)


def engine_of(platform: Platform) -> AlertEngine | None:
    return platform.components.get(AlertEngine)
