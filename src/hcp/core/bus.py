"""The event bus: publish, subscribe under a durable consumer name, acknowledge by returning.

Delivery is at least once: a handler that raises gets the event again (with backoff), and a
consumer that restarts under the same durable name resumes where it stopped. Every event
carries an `id`; publishers de-duplicate within a window (JetStream's `Nats-Msg-Id`) and
consumers that must not apply an event twice record its id (`hcp.core.outbox.first_delivery`).

Event bodies are classes (`Payload` subclasses, one per subject, in `hcp.kernel.events`): the
publisher builds one, each consumer parses the body once with `event.parse(Model)`. A body that
does not parse is malformed: it is logged and dead-lettered (kept under `deadletter.<subject>`)
once, never redelivered, because no retry can make it valid.

Two implementations with the same semantics: `MemoryBus` (one process, the default) and
`NatsBus` (NATS JetStream, for split mode and replicas).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar, Literal, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict, ValidationError

log = structlog.get_logger(__name__)

SUBJECTS = (
    "market.tick",
    "unit.telemetry",
    "unit.state",
    "workload.state",
    "plan.decided",
    "switch.done",
    "alert.raised",
    "alert.resolved",
    "billing.usage",
    "invoice.issued",
)

DEAD_LETTER_PREFIX = "deadletter."
DEDUP_WINDOW_S = 120.0
MAX_DELIVER = 10
Deliver = Literal["all", "new"]


def json_default(value: object) -> str:
    """How event payloads carry what JSON lacks: datetimes ISO 8601, Decimals and ids as strings."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal | uuid.UUID | Enum):
        return str(value.value if isinstance(value, Enum) else value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in an event")


class Payload(BaseModel):
    """The body of one kind of event. Fields a consumer does not know are ignored, so a publisher
    may add one without breaking older consumers."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    subject: ClassVar[str]

    def body(self) -> dict[str, Any]:
        """The JSON body: what the publisher gave (a field it left out stays out), by wire names."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


P = TypeVar("P", bound=Payload)


def validation_summary(exc: ValidationError, *, limit: int = 5) -> str:
    """"field.path: what is wrong" for the first few errors, naming each field."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors()[:limit])


class MalformedEvent(ValueError):
    """An event whose body its model refuses: dead-lettered, never retried."""

    def __init__(self, subject: str, event_id: str, reason: str) -> None:
        super().__init__(f"malformed {subject} event {event_id}: {reason}")
        self.subject, self.event_id, self.reason = subject, event_id, reason


@dataclass(frozen=True)
class Event:
    subject: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    ts: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @classmethod
    def of(cls, payload: Payload, *, ts: datetime | None = None, id: str | None = None) -> Event:
        return cls(subject=payload.subject, data=payload.body(),
                   id=id or uuid.uuid4().hex, ts=(ts or datetime.now(UTC)).isoformat())

    def parse(self, model: type[P]) -> P:
        """The body as `model`; `MalformedEvent` (dead-lettered by the bus) when it is not one."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise MalformedEvent(self.subject, self.id, validation_summary(exc)) from exc

    def to_json(self) -> bytes:
        return json.dumps(
            {"id": self.id, "ts": self.ts, "subject": self.subject, "data": self.data},
            separators=(",", ":"), default=json_default,
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Event:
        obj = json.loads(raw)
        return cls(subject=obj["subject"], data=obj["data"], id=obj["id"], ts=obj["ts"])


Handler = Callable[[Event], Awaitable[None]]


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS wildcard rules: `*` is one token, `>` is one or more trailing tokens."""
    pat, sub = pattern.split("."), subject.split(".")
    for i, token in enumerate(pat):
        if token == ">":
            return len(sub) > i
        if i >= len(sub) or (token != "*" and token != sub[i]):
            return False
    return len(pat) == len(sub)


def _retry_delay(attempt: int) -> float:
    return float(min(0.05 * 2 ** (attempt - 1), 5.0))


class Subscription(ABC):
    @abstractmethod
    async def stop(self) -> None:
        """Stop receiving; a durable consumer keeps its position for the next subscriber."""


class Bus(ABC):
    @abstractmethod
    async def connect(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise if the bus cannot be used now."""

    @abstractmethod
    async def publish(self, event: Event) -> None: ...

    @abstractmethod
    async def subscribe(
        self, subject: str, handler: Handler, *, durable: str | None = None, deliver: Deliver = "all"
    ) -> Subscription:
        """Call `handler` for each event on `subject` (wildcards allowed), in order.

        With `durable`, events are kept for the consumer between subscriptions and shared
        among subscribers of the same name (a work queue); without it the subscription sees
        only events published from now on.
        """

    async def emit(self, payload: Payload, *, ts: datetime | None = None) -> Event:
        """Publish straight to the bus, for facts with no database state behind them
        (telemetry, market ticks). State changes go through the outbox instead."""
        event = Event.of(payload, ts=ts)
        await self.publish(event)
        return event

    async def emit_raw(self, subject: str, data: dict[str, Any], *, ts: datetime | None = None) -> Event:
        """Publish a body no model has checked: for tests and tools that must put something odd on
        the bus (a malformed tick, a load generator's filler). The platform itself uses `emit`."""
        event = Event(subject=subject, data=data, ts=(ts or datetime.now(UTC)).isoformat())
        await self.publish(event)
        return event

    async def dead_letter(self, event: Event, *, consumer: str, reason: str) -> None:
        """Keep a malformed event under `deadletter.<subject>` for an operator to inspect."""
        await self.publish(Event(
            subject=DEAD_LETTER_PREFIX + event.subject, id=f"dead:{consumer}:{event.id}", ts=event.ts,
            data={"event": {"id": event.id, "ts": event.ts, "subject": event.subject, "data": event.data},
                  "consumer": consumer, "reason": reason},
        ))


async def _deliver(handler: Handler, event: Event, *, consumer: str, bus: Bus) -> bool:
    """Run the handler with retries; True once it is done with the event (handled, or malformed
    and dead-lettered), False when it gave up."""
    for attempt in range(1, MAX_DELIVER + 1):
        try:
            await handler(event)
            return True
        except asyncio.CancelledError:
            raise
        except MalformedEvent as exc:
            log.error("malformed event dead-lettered", consumer=consumer, subject=event.subject,
                      event_id=event.id, reason=exc.reason)
            with contextlib.suppress(Exception):  # the log line above is the record of last resort
                await bus.dead_letter(event, consumer=consumer, reason=exc.reason)
            return True
        except Exception:
            log.warning("handler failed", consumer=consumer, subject=event.subject,
                        event_id=event.id, attempt=attempt, exc_info=True)
            await asyncio.sleep(_retry_delay(attempt))
    log.error("event dropped after retries", consumer=consumer, event_id=event.id)
    return False


class _MemoryConsumer:
    def __init__(self, pattern: str, position: int) -> None:
        self.pattern = pattern
        self.position = position
        self.handlers: list[Handler] = []
        self.task: asyncio.Task[None] | None = None


class _MemorySubscription(Subscription):
    def __init__(self, bus: MemoryBus, consumer: _MemoryConsumer, handler: Handler, key: str) -> None:
        self._bus, self._consumer, self._handler, self._key = bus, consumer, handler, key

    async def stop(self) -> None:
        await self._bus._unsubscribe(self._key, self._consumer, self._handler)


class MemoryBus(Bus):
    """An in-process bus with JetStream's semantics: retained log, durable cursors, dedup window."""

    def __init__(self, *, retention: int = 100_000) -> None:
        self._log: list[Event] = []
        self._offset = 0  # sequence number of _log[0]
        self._retention = retention
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._consumers: dict[str, _MemoryConsumer] = {}
        self._wakeup = asyncio.Condition()
        self._closed = False

    async def connect(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        consumers = list(self._consumers.values())
        self._consumers.clear()
        for consumer in consumers:
            if consumer.task is not None:
                consumer.task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await consumer.task

    async def ping(self) -> None:
        if self._closed:
            raise ConnectionError("memory bus is closed")

    async def publish(self, event: Event) -> None:
        if self._closed:
            raise ConnectionError("memory bus is closed")
        now = time.monotonic()
        while self._seen and next(iter(self._seen.values())) < now - DEDUP_WINDOW_S:
            self._seen.popitem(last=False)
        if event.id in self._seen:
            return
        self._seen[event.id] = now
        self._log.append(event)
        if len(self._log) > self._retention:
            drop = len(self._log) - self._retention
            del self._log[:drop]
            self._offset += drop
        async with self._wakeup:
            self._wakeup.notify_all()

    async def subscribe(
        self, subject: str, handler: Handler, *, durable: str | None = None, deliver: Deliver = "all"
    ) -> Subscription:
        end = self._offset + len(self._log)
        if durable is None:
            key = f"_ephemeral.{uuid.uuid4().hex}"
            consumer = _MemoryConsumer(subject, end)
        else:
            key = durable
            consumer = self._consumers.get(key) or _MemoryConsumer(
                subject, self._offset if deliver == "all" else end
            )
        self._consumers[key] = consumer
        consumer.handlers.append(handler)
        if consumer.task is None or consumer.task.done():
            consumer.task = asyncio.create_task(self._run(key, consumer), name=f"bus:{key}")
        return _MemorySubscription(self, consumer, handler, key)

    async def _unsubscribe(self, key: str, consumer: _MemoryConsumer, handler: Handler) -> None:
        if handler in consumer.handlers:
            consumer.handlers.remove(handler)
        if consumer.handlers or consumer.task is None:
            return
        consumer.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer.task
        consumer.task = None
        if key.startswith("_ephemeral."):
            self._consumers.pop(key, None)

    async def _run(self, key: str, consumer: _MemoryConsumer) -> None:
        turn = 0
        while True:
            consumer.position = max(consumer.position, self._offset)
            index = consumer.position - self._offset
            if index >= len(self._log):
                async with self._wakeup:
                    await self._wakeup.wait_for(
                        lambda: consumer.position - self._offset < len(self._log)
                    )
                continue
            event = self._log[index]
            if subject_matches(consumer.pattern, event.subject) and consumer.handlers:
                # Subscribers of one durable name share its events, round robin.
                handler = consumer.handlers[turn % len(consumer.handlers)]
                turn += 1
                await _deliver(handler, event, consumer=key, bus=self)
            consumer.position += 1


class _NatsSubscription(Subscription):
    def __init__(self, task: asyncio.Task[None], psub: Any) -> None:
        self._task, self._psub = task, psub

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        with contextlib.suppress(Exception):
            await self._psub.unsubscribe()


class NatsBus(Bus):
    """NATS JetStream: one stream holding `<prefix>.>`, pull consumers, server-side dedup by id."""

    def __init__(self, url: str, *, prefix: str = "hcp", stream: str = "HCP") -> None:
        self.url, self.prefix, self.stream = url, prefix, stream
        self._nc: Any = None
        self._js: Any = None
        self._subs: list[_NatsSubscription] = []

    async def connect(self) -> None:
        import nats
        from nats.js.api import StreamConfig
        from nats.js.errors import NotFoundError

        self._nc = await nats.connect(
            self.url, connect_timeout=2, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
            # Publishes wait for JetStream's ack, so there is little to drain at close; the
            # client's default (30 s) would hold a stopping process that long when a drain stalls.
            drain_timeout=5, name=f"hcp-{self.prefix}",
        )
        self._js = self._nc.jetstream(timeout=5)
        config = StreamConfig(
            name=self.stream, subjects=[f"{self.prefix}.>"], duplicate_window=DEDUP_WINDOW_S,
            max_age=7 * 24 * 3600, max_msgs=10_000_000,
        )
        try:
            await self._js.stream_info(self.stream)
            await self._js.update_stream(config)
        except NotFoundError:
            await self._js.add_stream(config)

    async def close(self) -> None:
        for sub in self._subs:
            await sub.stop()
        self._subs.clear()
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.drain()
        self._nc = None

    async def ping(self) -> None:
        if self._nc is None or not self._nc.is_connected:
            raise ConnectionError("not connected to NATS")
        await self._js.stream_info(self.stream)

    async def publish(self, event: Event) -> None:
        await self._js.publish(
            f"{self.prefix}.{event.subject}", event.to_json(), stream=self.stream,
            headers={"Nats-Msg-Id": event.id},
        )

    async def subscribe(
        self, subject: str, handler: Handler, *, durable: str | None = None, deliver: Deliver = "all"
    ) -> Subscription:
        from nats.js.api import ConsumerConfig, DeliverPolicy

        policy = DeliverPolicy.ALL if (durable and deliver == "all") else DeliverPolicy.NEW
        config = ConsumerConfig(
            ack_wait=30, max_deliver=MAX_DELIVER, deliver_policy=policy,
            inactive_threshold=None if durable else 60,
        )
        psub = await self._js.pull_subscribe(
            f"{self.prefix}.{subject}", durable=durable, stream=self.stream, config=config
        )
        name = durable or f"ephemeral:{subject}"
        task = asyncio.create_task(self._run(psub, handler, name), name=f"bus:{name}")
        sub = _NatsSubscription(task, psub)
        self._subs.append(sub)
        return sub

    async def _run(self, psub: Any, handler: Handler, name: str) -> None:
        from nats.errors import TimeoutError as NatsTimeout

        while True:
            try:
                msgs = await psub.fetch(batch=256, timeout=1.0)
            except (NatsTimeout, TimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("fetch failed", consumer=name, exc_info=True)
                await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                try:
                    event = Event.from_json(msg.data)
                except (ValueError, KeyError, TypeError):
                    log.error("malformed event dead-lettered", consumer=name, subject=msg.subject,
                              reason="not an event envelope")
                    await msg.term()
                    continue
                if await _deliver(handler, event, consumer=name, bus=self):
                    await msg.ack()
                else:
                    await msg.term()


def create_bus(url: str, *, prefix: str = "hcp", stream: str = "HCP") -> Bus:
    if url.startswith("memory://"):
        return MemoryBus()
    if url.startswith(("nats://", "tls://")):
        return NatsBus(url, prefix=prefix, stream=stream)
    raise ValueError(f"unknown bus URL {url!r}: use memory:// or nats://host:port")
