"""Kafka plumbing: producer, topics, the idempotent consumer with retries and a DLQ (DESIGN §4)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError, TopicAlreadyExistsError
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from contracts import TOPICS, Event, EventMeta, Topic, dlq_topic, from_headers, spec_for
from contracts.envelope import EnvelopeError
from kit import context, metrics, tracing
from kit.db import UnitOfWorkFactory
from kit.kafka import KafkaConnection, connection_options
from kit.personal import KeysUnavailable, PersonalCipher

log = logging.getLogger(__name__)

#: A use case run for one event; whatever it returns is ignored. Its first argument is the consumer's unit of
#: work (the service's UnitOfWork subclass, typed by the service as its own kit.db.Work protocol).
Handler = Callable[[Any, Any, EventMeta], Awaitable[object]]

#: Failures worth redelivering rather than dead-lettering: the fault is in the infrastructure.
TRANSIENT = (OSError, TimeoutError, ConnectionError, asyncpg.PostgresConnectionError, OperationalError, InterfaceError)


class PermanentError(Exception):
    """Raise from a handler for input that will never succeed: it goes straight to the DLQ."""


def make_producer(bootstrap: str | KafkaConnection, *, idempotent: bool, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **connection_options(bootstrap),
        client_id=client_id,
        acks="all",
        enable_idempotence=idempotent,
        request_timeout_ms=15_000,
        linger_ms=2,
    )


async def ensure_topics(
    bootstrap: str | KafkaConnection,
    topics: tuple[Topic, ...] = TOPICS,
    *,
    replication: int = 1,
    dlq_partitions: int = 1,
) -> None:
    """Create every topic (and its DLQ) with its partition count; existing ones are left alone."""
    admin = AIOKafkaAdminClient(**connection_options(bootstrap), request_timeout_ms=15_000)
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


@dataclass(slots=True)
class _Item:
    """A decoded record waiting for its handler."""

    record: ConsumerRecord[bytes, bytes]
    headers: list[tuple[str, bytes]]
    handler: Handler
    event: Event
    meta: EventMeta


class _Redeliver(Exception):
    """A record failed for an infrastructure reason on every attempt: read the partition again from it."""

    def __init__(self, offset: int) -> None:
        super().__init__(offset)
        self.offset = offset


#: How long a fetch waits on the broker for new records. With aiokafka's default (500 ms) a hop through Tansu at
#: 200 events/s took p50 140 / p99 320 ms; with 100 ms, p50 47 / p99 113 ms (measured here, 2026-12-02), while an
#: idle consumer still asks only ten times a second. Benchmarks measure their bare broker hop with it.
FETCH_MAX_WAIT_MS = 100


class IdempotentConsumer:
    """One consumer group on one topic: decode, dedupe through the inbox, handle, commit offsets.

    Delivery is at-least-once; the inbox row written in the handler's transaction makes the effects
    exactly-once. Each poll returns up to `batch_size` records of the assigned partitions, all handled in one
    transaction with one inbox row per record, each partition's records in order (so per-key order holds, keys
    map to partitions). One transaction per poll, not per partition: at a steady rate a poll holds a few
    records of each of the topic's partitions, and the transaction's fixed cost (BEGIN, the inbox, what the
    handlers read once per unit of work, the outbox, COMMIT) was most of the consumer's work per event.
    Should any handler raise, that transaction is rolled back and each partition's records are handled again
    concurrently in a transaction of their own, and if that fails too record by record, each in its own
    transaction with retries: a poison record is retried and parked on the DLQ alone while the others are
    applied once. Offsets are committed after the transactions.

    A handler is `async def handle(uow, event, meta)`: it runs inside a unit of work that kit opens and
    commits (it must not commit itself) and that may hold other records of the same batch.
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
        batch_size: int = 200,
        fetch_max_wait_ms: int = FETCH_MAX_WAIT_MS,
    ) -> None:
        self.service = service
        self.name = name
        self.topic = topic
        self.handlers = {struct.TYPE: handler for struct, handler in handlers.items()}
        self.uow = uow
        self.producer = producer
        self.max_attempts = max_attempts
        self.base_delay = base_delay
        self.batch_size = batch_size
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        #: Opens the events' sealed personal fields before the handlers run (set by kit.worker; None: none).
        self.cipher: PersonalCipher | None = None

    # --- lifecycle ------------------------------------------------------------------------
    async def start(self, bootstrap: str | KafkaConnection, *, client_id: str | None = None) -> None:
        """Join the group and start consuming in a background task (see `stop`)."""
        consumer = AIOKafkaConsumer(
            self.topic,
            **connection_options(bootstrap),
            client_id=client_id or self.name,
            group_id=self.name,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            max_poll_interval_ms=10 * 60 * 1000,
            max_poll_records=self.batch_size,
            fetch_max_wait_ms=self.fetch_max_wait_ms,
            request_timeout_ms=15_000,
        )
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()  # a failed start (broker not there yet) is retried with a fresh client
            raise
        self._consumer = consumer
        self._task = asyncio.create_task(self.run(), name=f"consumer {self.name}")

    @property
    def running(self) -> bool:
        """False once the consuming task has ended (it only ends when stopped or when it crashed)."""
        return self._task is not None and not self._task.done()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def run(self) -> None:
        """Poll, handle every partition's batch concurrently, commit what was done, seek back what was not."""
        consumer = self._consumer
        assert consumer is not None, "start() first"
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=1000, max_records=self.batch_size)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("polling %s failed; retrying", self.topic, exc_info=True)
                await asyncio.sleep(1.0)
                continue
            if not batches:
                continue
            began = time.perf_counter()
            parts = list(batches.items())
            prepared = await asyncio.gather(*(self._prepare(records) for _, records in parts), return_exceptions=True)
            together = await self._handle_together([p for p in prepared if isinstance(p, list) and p])
            outcomes = await asyncio.gather(
                *(self._finish(p, handled=together) for p in prepared), return_exceptions=True
            )
            offsets: dict[TopicPartition, OffsetAndMetadata] = {}
            back_off = False
            for (tp, records), outcome in zip(parts, outcomes, strict=True):
                if isinstance(outcome, asyncio.CancelledError):
                    raise outcome
                if isinstance(outcome, _Redeliver):
                    next_offset, back_off = outcome.offset, True
                elif isinstance(outcome, BaseException):  # a bug of ours: redeliver rather than skip
                    log.error("consumer %s failed on %s", self.name, tp, exc_info=outcome)
                    next_offset, back_off = records[0].offset, True
                else:
                    next_offset = records[-1].offset + 1
                if next_offset > records[0].offset:
                    offsets[tp] = OffsetAndMetadata(next_offset, "")
                if next_offset <= records[-1].offset:
                    with contextlib.suppress(IllegalStateError):  # revoked meanwhile: the new owner rereads
                        consumer.seek(tp, next_offset)
                self._report_lag(consumer, tp, next_offset)
            if offsets:
                try:
                    await consumer.commit(offsets)
                except (CommitFailedError, IllegalStateError, KafkaError) as exc:
                    # A rebalance took the partition away: its new owner rereads; the inbox drops repeats.
                    log.warning("offset commit of %s failed (%s); records will be redelivered", self.name, exc)
            # What an SRE reads to see whether a consumer falls behind by its polls' fixed cost or by their size.
            metrics.CONSUMER_POLL_RECORDS.labels(self.service, self.name).observe(sum(len(r) for _, r in parts))
            metrics.CONSUMER_POLL_SECONDS.labels(self.service, self.name).observe(time.perf_counter() - began)
            if back_off:
                await asyncio.sleep(self.base_delay)

    # --- one poll: every partition's records in one transaction -------------------------------
    async def _handle_together(self, partitions: list[list[_Item]]) -> bool:
        """True when the poll's records of several partitions were all handled in one transaction."""
        if len(partitions) < 2:
            return False
        try:
            await self._handle_batch([item for items in partitions for item in items])
            return True
        except Exception as exc:
            log.warning(
                "a poll of %d partitions on %s failed (%s: %s); handling each partition on its own",
                len(partitions),
                self.topic,
                type(exc).__name__,
                exc,
            )
            return False

    async def _finish(self, prepared: list[_Item] | BaseException, *, handled: bool) -> None:
        """A partition's outcome: its preparation's error, nothing left to do, or its records handled now."""
        if isinstance(prepared, BaseException):
            raise prepared
        if prepared and not handled:
            await self._partition(prepared)

    async def _prepare(self, records: list[ConsumerRecord[bytes, bytes]]) -> list[_Item]:
        """A partition's records decoded and opened; a bad one is parked, the key store down redelivers."""
        items = [item for record in records if (item := await self._decode(record)) is not None]
        if items and self.cipher is not None:  # one key-store call for the keys not cached
            try:
                opened = await self.cipher.open([(item.event, item.meta) for item in items])
            except KeysUnavailable as exc:
                log.warning("%s: %s; the records will be read again", self.name, exc)
                raise _Redeliver(records[0].offset) from exc
            for item, event in zip(items, opened, strict=True):
                item.event = event
        return items

    # --- one partition's batch --------------------------------------------------------------
    async def _partition(self, items: list[_Item]) -> None:
        try:
            await self._handle_batch(items)
            return
        except Exception as exc:
            if len(items) > 1:
                log.warning(
                    "a batch of %d on %s failed (%s: %s); handling it record by record",
                    len(items),
                    self.topic,
                    type(exc).__name__,
                    exc,
                )
        for item in items:
            await self._handle_with_retries(item)

    async def _decode(self, record: ConsumerRecord[bytes, bytes]) -> _Item | None:
        """The record's envelope and payload; a bad one is parked on the DLQ, an unknown type ignored."""
        headers = list(record.headers or ())
        try:
            meta = from_headers(headers)
        except EnvelopeError as exc:
            await self.dead_letter(record, headers, f"envelope: {exc}", "unknown")
            return None
        handler = self.handlers.get(meta.type)
        if handler is None:
            metrics.EVENTS_CONSUMED.labels(self.service, self.name, meta.type, "ignored").inc()
            return None  # consumers ignore event types they do not handle
        try:
            event = msgspec.json.decode(record.value or b"", type=spec_for(meta.type).struct)
        except msgspec.DecodeError as exc:
            await self.dead_letter(record, headers, f"payload: {exc}", meta.type)
            return None
        return _Item(record, headers, handler, event, meta)

    async def _handle_batch(self, items: list[_Item]) -> None:
        """All in one transaction: the inbox rows, then each new record's handler in partition order."""
        outcomes: list[str] = []
        async with self.uow() as uow:
            fresh = await uow.claim_inbox_many(self.name, [item.meta.id for item in items])
            for item in items:
                if item.meta.id not in fresh:  # handled before, or twice in this batch
                    outcomes.append("duplicate")
                    continue
                fresh.discard(item.meta.id)
                with _event_context(item.meta), tracing.consuming(item.meta, self.name, self.topic):
                    await item.handler(uow, item.event, item.meta)
                outcomes.append("handled")
            await uow.commit()
        for item, outcome in zip(items, outcomes, strict=True):
            metrics.EVENTS_CONSUMED.labels(self.service, self.name, item.meta.type, outcome).inc()

    async def _handle_with_retries(self, item: _Item) -> None:
        meta = item.meta
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = await self._handle_once(item)
                metrics.EVENTS_CONSUMED.labels(self.service, self.name, meta.type, outcome).inc()
                return
            except PermanentError as exc:
                metrics.EVENTS_FAILED.labels(self.service, self.name, meta.type).inc()
                await self.dead_letter(item.record, item.headers, f"permanent: {exc}", meta.type)
                return
            except Exception as exc:
                metrics.EVENTS_FAILED.labels(self.service, self.name, meta.type).inc()
                if attempt >= self.max_attempts:
                    if isinstance(exc, TRANSIENT) or _is_disconnect(exc):
                        log.warning("transient failure; leaving %s for redelivery", meta.id, exc_info=True)
                        raise _Redeliver(item.record.offset) from exc  # read again after the outage
                    log.exception("giving up on event %s after %d attempts", meta.id, attempt)
                    await self.dead_letter(item.record, item.headers, f"{type(exc).__name__}: {exc}", meta.type)
                    return
                delay = self.base_delay * 2 ** (attempt - 1)
                log.warning("handler failed (attempt %d), retrying in %.1fs: %s", attempt, delay, exc)
                await asyncio.sleep(delay)

    async def _handle_once(self, item: _Item) -> str:
        async with self.uow() as uow:
            if not await uow.claim_inbox(self.name, item.meta.id):
                return "duplicate"
            with _event_context(item.meta), tracing.consuming(item.meta, self.name, self.topic):
                await item.handler(uow, item.event, item.meta)
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

    def _report_lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition, next_offset: int) -> None:
        try:
            end = consumer.highwater(tp)
        except Exception:
            return
        if end is not None:
            metrics.CONSUMER_LAG.labels(self.service, self.name, tp.topic, str(tp.partition)).set(
                max(end - next_offset, 0)
            )


_EVENT_VARS = (context.correlation_id, context.causation_id, context.tenant_id, context.traceparent)


@contextlib.contextmanager
def _event_context(meta: EventMeta) -> Iterator[None]:
    """The event's correlation, causation, tenant and trace for the handler (and the events it publishes)."""
    values = (meta.correlation_id, meta.id, meta.tenant_id, meta.traceparent)
    tokens = [var.set(value) for var, value in zip(_EVENT_VARS, values, strict=True)]
    try:
        yield
    finally:
        for var, token in zip(_EVENT_VARS, tokens, strict=True):
            var.reset(token)  # type: ignore[arg-type]


def _is_disconnect(exc: BaseException) -> bool:
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
