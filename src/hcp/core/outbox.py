"""Transactional outbox: a state change and its event commit together, or neither happens.

`add_event` writes the event into `outbox_events` inside the caller's transaction. The
`OutboxRelay` publishes committed rows to the bus and marks them; a crash between publish
and mark publishes again, which the bus's dedup window and `first_delivery` absorb. A rolled
back transaction leaves no row, so its event is never delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import JSON, BigInteger, Index, Integer, String, delete, event, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, Session, mapped_column

from hcp.core.bus import Bus, Event, Payload, json_default
from hcp.core.db import Base, Database, UTCDateTime, new_id, upsert, utcnow
from hcp.core.tasks import wait_event

log = structlog.get_logger(__name__)

_PENDING_KEY = "hcp_outbox_pending"
STOP_GRACE_S = 5.0  # how long stop() lets a batch in flight finish before cancelling it


class OutboxEvent(Base):
    __tablename__ = "outbox_events"

    # BigInteger ids autoincrement on PostgreSQL; SQLite needs INTEGER for its rowid alias.
    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(32), unique=True)
    subject: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    ts: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    __table_args__ = (Index("ix_outbox_events_unpublished", "published_at", "seq"),)


class ProcessedEvent(Base):
    """Ids of events a consumer has applied, so a redelivery changes nothing."""

    __tablename__ = "processed_events"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


def add_event(session: AsyncSession, event: Payload, *, ts: datetime | None = None) -> Event:
    """Queue an event to be published once (and only if) the session's transaction commits."""
    when = ts or utcnow()
    subject, body = event.subject, event.body()
    # Round-trip through JSON now so a payload that cannot be serialised fails the
    # transaction, not the relay later.
    payload = json.loads(json.dumps(body, default=json_default))
    event_obj = Event(subject=subject, data=payload, id=new_id(), ts=when.isoformat())
    session.add(OutboxEvent(id=event_obj.id, subject=subject, payload=payload, ts=when))
    session.sync_session.info[_PENDING_KEY] = True
    return event_obj


async def first_delivery(session: AsyncSession, *, consumer: str, event_id: str) -> bool:
    """Record that `consumer` applies `event_id` in this transaction; False if it already did."""
    values = {"consumer": consumer, "event_id": event_id, "processed_at": utcnow()}
    stmt = upsert(session, ProcessedEvent).values(**values).on_conflict_do_nothing()
    result = await session.execute(stmt)
    return bool(getattr(result, "rowcount", 0) == 1)


class OutboxRelay:
    """Publishes committed outbox rows in order; woken at once by commits of this process."""

    def __init__(
        self, db: Database, bus: Bus, *, poll_s: float = 1.0, batch: int = 500,
        keep_published: timedelta = timedelta(hours=24),
    ) -> None:
        self.db, self.bus, self.poll_s, self.batch = db, bus, poll_s, batch
        self.keep_published = keep_published
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._session_class = db.sync_session_class

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(_PENDING_KEY, False):
            self._wake.set()

    def _after_rollback(self, session: Session, _transaction: object) -> None:
        session.info.pop(_PENDING_KEY, None)

    def start(self) -> None:
        event.listen(self._session_class, "after_commit", self._after_commit)
        event.listen(self._session_class, "after_soft_rollback", self._after_rollback)
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        for name, fn in (("after_commit", self._after_commit),
                         ("after_soft_rollback", self._after_rollback)):
            if event.contains(self._session_class, name, fn):
                event.remove(self._session_class, name, fn)
        if self._task is not None:
            # The loop ends between batches rather than being cancelled inside one: a SQLite
            # transaction cut off mid-statement keeps the write lock for a while, and the
            # final flush below then waits out the busy timeout for it.
            self._stopping = True
            self._wake.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=STOP_GRACE_S)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
            self._task = None
        # Whatever committed before shutdown still goes out.
        with contextlib.suppress(Exception):
            await self.publish_pending()

    async def _run(self) -> None:
        cleaned = utcnow()
        while not self._stopping:
            await wait_event(self._wake, self.poll_s)
            self._wake.clear()
            if self._stopping:
                return
            try:
                while await self.publish_pending() == self.batch and not self._stopping:
                    pass
                if utcnow() - cleaned > timedelta(minutes=10):
                    await self.delete_published()
                    cleaned = utcnow()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox relay failed; retrying", exc_info=True)
                await wait_event(self._wake, self.poll_s)

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished events; returns how many went out."""
        stmt = (
            select(OutboxEvent).where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.seq).limit(self.batch)
        )
        if self.db.dialect == "postgresql":
            # Replicas relay side by side without publishing the same rows at once; row
            # locks do not hold up other writers.
            async with self.db.transaction() as session:
                rows = (await session.execute(stmt.with_for_update(skip_locked=True))).scalars().all()
                await self._publish(rows)
                await self._mark(session, rows)
            return len(rows)
        # SQLite has one writer at a time: read, publish, then mark in a short write.
        async with self.db.session() as session:
            rows = (await session.execute(stmt)).scalars().all()
        await self._publish(rows)
        if rows:
            async with self.db.transaction() as session:
                await self._mark(session, rows)
        return len(rows)

    async def _publish(self, rows: Sequence[OutboxEvent]) -> None:
        for row in rows:
            await self.bus.publish(
                Event(subject=row.subject, data=row.payload, id=row.id, ts=row.ts.isoformat())
            )

    @staticmethod
    async def _mark(session: AsyncSession, rows: Sequence[OutboxEvent]) -> None:
        if rows:
            await session.execute(
                update(OutboxEvent).where(OutboxEvent.seq.in_([r.seq for r in rows]))
                .values(published_at=utcnow())
            )

    async def delete_published(self) -> None:
        cutoff = utcnow() - self.keep_published
        async with self.db.transaction() as session:
            await session.execute(
                delete(OutboxEvent).where(OutboxEvent.published_at.is_not(None),
                                          OutboxEvent.published_at < cutoff)
            )
