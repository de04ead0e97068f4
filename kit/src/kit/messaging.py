"""Kafka plumbing: producer, topics, the idempotent consumer with retries and a DLQ (DESIGN §4)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from contracts import TOPICS, Event, EventMeta, Topic, dlq_topic, from_headers, spec_for
from contracts.envelope import EnvelopeError
from kit import context, metrics
from kit.db import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

#: A use case run for one event; whatever it returns is ignored.
Handler = Callable[[UnitOfWork, Any, EventMeta], Awaitable[object]]

#: Failures worth redelivering rather than dead-lettering: the fault is in the infrastructure.
TRANSIENT = (OSError, TimeoutError, ConnectionError, asyncpg.PostgresConnectionError, OperationalError, InterfaceError)


class PermanentError(Exception):
    """Raise from a handler for input that will never succeed: it goes straight to the DLQ."""


def make_producer(bootstrap: str, *, idempotent: bool, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=idempotent,
        request_timeout_ms=15_000,
        linger_ms=2,
    )


def make_broker(bootstrap: str, *, client_id: str) -> KafkaBroker:
    return KafkaBroker(bootstrap, client_id=client_id, request_timeout_ms=15_000, logger=None)


async def ensure_topics(
    bootstrap: str, topics: tuple[Topic, ...] = TOPICS, *, replication: int = 1, dlq_partitions: int = 1
) -> None:
    """Create every topic (and its DLQ) with its partition count; existing ones are left alone."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15_000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [NewTopic(t.name, t.partitions, replication) for t in topics]
        wanted += [NewTopic(dlq_topic(t.name), dlq_partitions, replication) for t in topics]
        missing = [t for t in wanted if t.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # a sibling process won the race
                await admin.create_topics(missing)
    finally:
        await admin.close()


class IdempotentConsumer:
    """One consumer group on one topic: decode, dedupe through the inbox, handle, commit.

    Delivery is at-least-once; the inbox row written in the handler's transaction makes
    the effects exactly-once. Offsets are committed after that transaction (ack).
    """

    def __init__(
        self,
        *,
        service: str,
        name: str,
        topic: str,
        handlers: dict[type[Event], Handler],
        uow: UnitOfWorkFactory,
        producer: AIOKafkaProducer,
        max_attempts: int = 5,
        base_delay: float = 0.2,
    ) -> None:
        self.service = service
        self.name = name
        self.topic = topic
        self.handlers = {struct.TYPE: handler for struct, handler in handlers.items()}
        self.uow = uow
        self.producer = producer
        self.max_attempts = max_attempts
        self.base_delay = base_delay

    def subscribe(self, broker: KafkaBroker) -> None:
        broker.subscriber(
            self.topic,
            group_id=self.name,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            max_poll_interval_ms=10 * 60 * 1000,
            # We decode with msgspec ourselves: FastStream's JSON decoder would raise on a malformed
            # body before our handler runs, and the nack would redeliver that poison message forever.
            decoder=_raw_body,
        )(self.on_message)

    async def on_message(self, message: KafkaMessage) -> None:
        record = message.raw_message
        assert not isinstance(record, tuple)
        self._report_lag(message, record)
        headers = list(record.headers or ())
        try:
            meta = from_headers(headers)
        except EnvelopeError as exc:
            await self.dead_letter(record, headers, f"envelope: {exc}", "unknown")
            return
        handler = self.handlers.get(meta.type)
        if handler is None:
            metrics.EVENTS_CONSUMED.labels(self.service, self.name, meta.type, "ignored").inc()
            return  # consumers ignore event types they do not handle
        try:
            event = msgspec.json.decode(record.value or b"", type=spec_for(meta.type).struct)
        except msgspec.DecodeError as exc:
            await self.dead_letter(record, headers, f"payload: {exc}", meta.type)
            return
        tokens = (
            context.correlation_id.set(meta.correlation_id),
            context.causation_id.set(meta.id),
            context.tenant_id.set(meta.tenant_id),
            context.traceparent.set(meta.traceparent),
        )
        try:
            await self._handle_with_retries(record, headers, handler, event, meta)
        finally:
            for var, token in zip(
                (context.correlation_id, context.causation_id, context.tenant_id, context.traceparent),
                tokens,
                strict=True,
            ):
                var.reset(token)  # type: ignore[arg-type]

    async def _handle_with_retries(
        self, record: Any, headers: list[tuple[str, bytes]], handler: Handler, event: Event, meta: EventMeta
    ) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = await self._handle_once(handler, event, meta)
                metrics.EVENTS_CONSUMED.labels(self.service, self.name, meta.type, outcome).inc()
                return
            except PermanentError as exc:
                metrics.EVENTS_FAILED.labels(self.service, self.name, meta.type).inc()
                await self.dead_letter(record, headers, f"permanent: {exc}", meta.type)
                return
            except Exception as exc:
                metrics.EVENTS_FAILED.labels(self.service, self.name, meta.type).inc()
                if attempt >= self.max_attempts:
                    if isinstance(exc, TRANSIENT) or _is_disconnect(exc):
                        log.warning("transient failure; leaving %s for redelivery", meta.id, exc_info=True)
                        raise  # nack: the broker hands it back after the outage
                    log.exception("giving up on event %s after %d attempts", meta.id, attempt)
                    await self.dead_letter(record, headers, f"{type(exc).__name__}: {exc}", meta.type)
                    return
                delay = self.base_delay * 2 ** (attempt - 1)
                log.warning("handler failed (attempt %d), retrying in %.1fs: %s", attempt, delay, exc)
                await asyncio.sleep(delay)

    async def _handle_once(self, handler: Handler, event: Event, meta: EventMeta) -> str:
        async with self.uow() as uow:
            if not await uow.claim_inbox(self.name, meta.id):
                return "duplicate"
            await handler(uow, event, meta)
            await uow.commit()
            return "handled"

    async def dead_letter(self, record: Any, headers: list[tuple[str, bytes]], error: str, event_type: str) -> None:
        target = dlq_topic(self.topic)
        extra = [
            ("x-dlq-error", error[:2000].encode()),
            ("x-dlq-consumer", self.name.encode()),
            ("x-dlq-original-topic", record.topic.encode()),
            ("x-dlq-original-partition", str(record.partition).encode()),
            ("x-dlq-original-offset", str(record.offset).encode()),
            ("x-dlq-failed-at", datetime.now(UTC).isoformat().encode()),
        ]
        await (
            await self.producer.send(
                target,
                record.value,
                key=record.key,
                headers=[h for h in headers if not h[0].startswith("x-dlq-")] + extra,
            )
        )
        metrics.DLQ_MESSAGES.labels(self.service, target).inc()
        metrics.EVENTS_CONSUMED.labels(self.service, self.name, event_type, "dead_lettered").inc()
        log.error("parked a message on %s: %s", target, error)

    def _report_lag(self, message: Any, record: Any) -> None:
        consumer = getattr(message, "consumer", None)
        if consumer is None:
            return
        try:
            end = consumer.highwater(TopicPartition(record.topic, record.partition))
        except Exception:
            return
        if end is not None:
            metrics.CONSUMER_LAG.labels(self.service, self.name, record.topic, str(record.partition)).set(
                max(end - record.offset - 1, 0)
            )


async def _raw_body(message: Any) -> Any:
    return message.body


def _is_disconnect(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
