"""Transactional outbox and inbox tables, and the relay that publishes the outbox (DESIGN §4).

The relay holds a Postgres advisory lock so one process per service database publishes,
which keeps per-key order; it wakes on LISTEN/NOTIFY and polls as a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, Protocol

import asyncpg
import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition
from opentelemetry.trace import Span
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

from contracts.envelope import TRACEPARENT_HEADER
from kit import metrics, tracing
from kit.kafka import KafkaConnection, connection_options

log = logging.getLogger(__name__)

OUTBOX_CHANNEL = "clinicflow_outbox"
#: How long the inbox remembers a handled event id: 31 days, longer than a dead-letter topic keeps a record.
INBOX_RETENTION_HOURS = 24 * 31

#: Any constant works: each service has its own database, so the lock is per service.
RELAY_LOCK_KEY = 0x0C11_F10E

metadata = MetaData()

outbox_table = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=False), nullable=False, unique=True),
    Column("topic", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    Index("ix_outbox_published_at", "published_at", postgresql_where=text("published_at IS NOT NULL")),
)

inbox_table = Table(
    "inbox",
    metadata,
    Column("consumer", Text, nullable=False),
    Column("event_id", UUID(as_uuid=False), nullable=False),
    Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("consumer", "event_id"),
    Index("ix_inbox_handled_at", "handled_at"),
)


class Producer(Protocol):
    async def send(
        self, topic: str, value: bytes, *, key: bytes, headers: list[tuple[str, bytes]]
    ) -> asyncio.Future[Any]: ...


def plain_dsn(url: str) -> str:
    """asyncpg wants postgresql:// without a SQLAlchemy driver suffix."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


class OutboxRelay:
    def __init__(
        self,
        *,
        service: str,
        database_url: str,
        producer: Producer,
        poll_seconds: float = 1.0,
        batch_size: int = 500,
        retention_hours: float = 72.0,
        # At least the dead-letter topics' retention (30 days, deploy/k8s/base/infra/kafka-topics.yaml), so a
        # replay of the oldest parked record still finds the groups that had handled it and they skip it.
        inbox_retention_hours: float = INBOX_RETENTION_HOURS,
        bootstrap: str | KafkaConnection | None = None,
    ) -> None:
        self.service = service
        self.bootstrap = bootstrap
        self.dsn = plain_dsn(database_url)
        self.producer = producer
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.retention_hours = retention_hours
        self.inbox_retention_hours = inbox_retention_hours
        self.is_leader = False
        self._wake = asyncio.Event()

    async def run(self) -> None:
        """Forever: win the lock, publish, and start over after any failure."""
        backoff = 0.5
        while True:
            try:
                await self._lead()
                backoff = 0.5
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying in %.1fs", backoff)
            finally:
                self.is_leader = False
                metrics.OUTBOX_RELAY_LEADER.labels(self.service).set(0)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 10.0)

    async def _lead(self) -> None:
        conn: asyncpg.Connection = await asyncpg.connect(self.dsn)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", RELAY_LOCK_KEY):
                await asyncio.sleep(max(self.poll_seconds, 2.0))  # another replica leads
            self.is_leader = True
            metrics.OUTBOX_RELAY_LEADER.labels(self.service).set(1)
            log.info("outbox relay is the leader")
            if self.bootstrap is not None:
                await self._restore_if_broker_forgot(conn, self.bootstrap)
            await conn.add_listener(OUTBOX_CHANNEL, self._on_notify)
            last_prune = 0.0
            while True:
                published = await self._publish_batch(conn)
                if time.monotonic() - last_prune > 300:
                    await self._prune(conn)
                    last_prune = time.monotonic()
                if published >= self.batch_size:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
                self._wake.clear()
        finally:
            await conn.close(timeout=5)

    async def _restore_if_broker_forgot(self, conn: asyncpg.Connection, bootstrap: str | KafkaConnection) -> None:
        """A topic we published to that holds no record at all is a broker that lost its data (the in-memory
        development broker after a restart; on Kafka offsets never go back to 0): publish again, in id order,
        the rows still retained for it. Consumers' inboxes drop what they had already handled."""
        topics = [
            r["topic"] for r in await conn.fetch("SELECT DISTINCT topic FROM outbox WHERE published_at IS NOT NULL")
        ]
        if not topics:
            return
        ends = await topic_end_offsets(bootstrap, topics)
        forgotten = [t for t in topics if not ends.get(t)]
        if not forgotten:
            return
        status = await conn.execute(
            "UPDATE outbox SET published_at = NULL WHERE published_at IS NOT NULL AND topic = ANY($1::text[])",
            forgotten,
        )
        log.warning(
            "the broker holds nothing of %s: publishing the %s retained outbox rows again",
            ", ".join(forgotten),
            status.rsplit(" ", 1)[-1],
        )

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _publish_batch(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(
            "SELECT id, topic, key, event_type, headers, payload FROM outbox "
            "WHERE published_at IS NULL ORDER BY id LIMIT $1",
            self.batch_size,
        )
        if not rows:
            return 0
        # Queue the whole batch, then wait: aiokafka keeps per-partition order.
        pending = []
        spans: list[Span] = []
        for row in rows:
            headers_json = row["headers"]
            headers = [(k, v.encode()) for k, v in _json_loads(headers_json)]
            if tracing.enabled():
                headers = self._traced(row, headers, spans)
            pending.append(
                await self.producer.send(row["topic"], row["payload"], key=row["key"].encode(), headers=headers)
            )
        try:
            await asyncio.gather(*pending)
        finally:
            for span in spans:
                span.end()
        await conn.execute(
            "UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", [r["id"] for r in rows]
        )
        for row in rows:
            metrics.EVENTS_PUBLISHED.labels(self.service, row["topic"], row["event_type"]).inc()
        return len(rows)

    @staticmethod
    def _traced(row: Any, headers: list[tuple[str, bytes]], spans: list[Span]) -> list[tuple[str, bytes]]:
        """A producer span per record, child of the request's or consumer's span stored with the event; the
        record carries the producer span's traceparent, so the next consumer is its child."""
        given = dict(headers)
        stored = given.get(TRACEPARENT_HEADER)
        event_id = given.get("ce_id", b"").decode()
        span = tracing.publishing(row["topic"], row["event_type"], event_id, stored.decode() if stored else None)
        if span is None:
            return headers
        spans.append(span)
        own = tracing.traceparent_of(span)
        kept = [(k, v) for k, v in headers if k != TRACEPARENT_HEADER]
        return [*kept, (TRACEPARENT_HEADER, own.encode())] if own else kept

    async def _prune(self, conn: asyncpg.Connection) -> None:
        await conn.execute(
            "DELETE FROM outbox WHERE published_at < now() - make_interval(hours => $1)",
            self.retention_hours,
        )
        await conn.execute(
            "DELETE FROM inbox WHERE handled_at < now() - make_interval(hours => $1)",
            self.inbox_retention_hours,
        )


async def topic_end_offsets(bootstrap: str | KafkaConnection, topics: list[str]) -> dict[str, int]:
    """The sum of the partitions' end offsets of each topic (0 for a topic the broker does not have)."""
    client = AIOKafkaConsumer(**connection_options(bootstrap), request_timeout_ms=15_000, enable_auto_commit=False)
    await client.start()
    try:
        await client.topics()  # fetches the metadata of every topic
        wanted = {t: client.partitions_for_topic(t) or set() for t in topics}
        partitions = [TopicPartition(t, p) for t, ps in wanted.items() for p in ps]
        ends = await client.end_offsets(partitions) if partitions else {}
    finally:
        await client.stop()
    return {t: sum(ends.get(TopicPartition(t, p), 0) for p in ps) for t, ps in wanted.items()}


def _json_loads(value: Any) -> list[list[str]]:
    decoded: list[list[str]] = msgspec.json.decode(value) if isinstance(value, (str, bytes)) else value
    return decoded


async def watch_backlog(service: str, database_url: str, interval: float = 1.0) -> None:
    """Report the outbox backlog on its own connection: the relay may be stuck on the broker."""
    conn: asyncpg.Connection | None = None
    while True:
        try:
            if conn is None or conn.is_closed():
                conn = await asyncpg.connect(plain_dsn(database_url))
            row = await conn.fetchrow(
                "SELECT count(*) AS n, extract(epoch FROM now() - min(created_at)) AS age "
                "FROM outbox WHERE published_at IS NULL"
            )
            assert row is not None
            metrics.OUTBOX_BACKLOG.labels(service).set(row["n"])
            metrics.OUTBOX_OLDEST_SECONDS.labels(service).set(float(row["age"] or 0))
        except asyncio.CancelledError:
            if conn is not None:
                await conn.close(timeout=2)
            raise
        except Exception:
            log.warning("could not read the outbox backlog", exc_info=True)
            conn = None
        await asyncio.sleep(interval)
