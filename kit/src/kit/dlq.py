"""Inspect and replay dead-letter topics.

    python -m kit.dlq list   clinicflow.leads.events.dlq
    python -m kit.dlq replay clinicflow.leads.events.dlq
    python -m kit.dlq replay clinicflow.leads.events.dlq --type clinicflow.leads.lead.created.v1 \
        --since 2026-01-01T10:00:00Z --until 2026-01-01T12:00:00Z --dry-run
    python -m kit.dlq replay clinicflow.leads.events.dlq --event-id 0190...  --event-id 0191...

`replay` republishes each parked record, headers intact, onto the topic it came from; the
consumer group `clinicflow.dlq-replay` remembers how far it got, so a record is replayed once.
Consumers dedupe by event id, so groups that had handled the event skip it.

Filters (`--event-id`, repeatable; `--type`, repeatable; `--since` / `--until`, when the record was parked)
select records; a filtered replay reads the whole topic without the group and commits nothing, so the
records it skipped stay replayable later (a record replayed twice is skipped by the consumers' inbox).
`--dry-run` prints what would be replayed and publishes nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from contracts.topics import DLQ_SUFFIX
from kit.kafka import KafkaConnection, connection_options
from kit.kafka import from_settings as kafka_connection
from kit.settings import ServiceSettings, environ_get, load

REPLAY_GROUP = "clinicflow.dlq-replay"


@dataclass(frozen=True)
class Filters:
    """Which parked records a replay takes; empty means all."""

    event_ids: frozenset[str] = field(default_factory=frozenset)
    types: frozenset[str] = field(default_factory=frozenset)
    since: datetime | None = None
    until: datetime | None = None

    @property
    def empty(self) -> bool:
        return not (self.event_ids or self.types or self.since or self.until)

    def take(self, headers: dict[str, str], parked_at: datetime) -> bool:
        if self.event_ids and headers.get("ce_id") not in self.event_ids:
            return False
        if self.types and headers.get("ce_type") not in self.types:
            return False
        if self.since is not None and parked_at < self.since:
            return False
        return self.until is None or parked_at < self.until


def _when(value: str) -> datetime:
    """An ISO 8601 instant; a naive one is UTC."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def _records(consumer: AIOKafkaConsumer, topic: str) -> AsyncIterator[ConsumerRecord[bytes, bytes]]:
    """Every record up to the end offsets as they were when we started."""
    partitions = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or ())]
    ends = await consumer.end_offsets(partitions)
    while True:
        positions = {tp: await consumer.position(tp) for tp in partitions}
        if all(positions[tp] >= ends[tp] for tp in partitions):
            return
        batch = await consumer.getmany(timeout_ms=1000)
        for records in batch.values():
            for record in records:
                yield record


async def run(
    command: str,
    topic: str,
    bootstrap: str | KafkaConnection,
    filters: Filters | None = None,
    *,
    dry_run: bool = False,
) -> int:
    if not topic.endswith(DLQ_SUFFIX):
        print(f"{topic} is not a dead-letter topic (they end in {DLQ_SUFFIX})", file=sys.stderr)
        return 2
    filters = filters or Filters()
    # Only a plain replay moves the group: a filtered or dry run must leave the skipped records replayable.
    resume = command == "replay" and filters.empty and not dry_run
    consumer = AIOKafkaConsumer(
        topic,
        **connection_options(bootstrap),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=REPLAY_GROUP if resume else None,
    )
    producer = AIOKafkaProducer(**connection_options(bootstrap), acks="all")
    await consumer.start()
    await producer.start()
    count = 0
    try:
        # `replay` resumes at the group's committed offset; `list` (no group) reads from the start.
        async for record in _records(consumer, topic):
            headers = dict((k, v.decode(errors="replace")) for k, v in record.headers)
            if not filters.take(headers, datetime.fromtimestamp(record.timestamp / 1000, UTC)):
                continue
            origin = headers.get("x-dlq-original-topic", topic.removesuffix(DLQ_SUFFIX))
            if command == "list" or dry_run:
                prefix = f"would replay to {origin}: " if dry_run and command == "replay" else ""
                print(
                    f"{prefix}{record.partition}:{record.offset} {headers.get('ce_type', '?')} "
                    f"id={headers.get('ce_id', '?')} consumer={headers.get('x-dlq-consumer', '?')} "
                    f"error={headers.get('x-dlq-error', '?')}"
                )
            else:
                kept = [(k, v) for k, v in record.headers if not k.startswith("x-dlq-")]
                await producer.send_and_wait(origin, record.value, key=record.key, headers=kept)
                if resume:
                    await consumer.commit({TopicPartition(record.topic, record.partition): record.offset + 1})
            count += 1
    finally:
        await producer.stop()
        await consumer.stop()
    done = "listed" if command == "list" else "would replay" if dry_run else "replayed"
    print(f"{done} {count} record(s) from {topic}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kit.dlq")
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("topic")
    parser.add_argument("--bootstrap", default=environ_get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:59092"))
    parser.add_argument("--event-id", action="append", default=[], help="only this event id (repeatable)")
    parser.add_argument("--type", action="append", default=[], help="only this event type (repeatable)")
    parser.add_argument("--since", type=_when, help="only records parked at or after this instant (ISO 8601)")
    parser.add_argument("--until", type=_when, help="only records parked before this instant (ISO 8601)")
    parser.add_argument("--dry-run", action="store_true", help="print what would be replayed, publish nothing")
    args = parser.parse_args(argv)
    filters = Filters(frozenset(args.event_id), frozenset(args.type), args.since, args.until)
    # In a pod the tool takes the same KAFKA_SECURITY_PROTOCOL / KAFKA_SASL_* / KAFKA_SSL_CAFILE as the worker.
    shared = msgspec.structs.replace(load(ServiceSettings, ""), kafka_bootstrap_servers=args.bootstrap)
    connection = kafka_connection(shared)
    return asyncio.run(run(args.command, args.topic, connection, filters, dry_run=args.dry_run))


if __name__ == "__main__":
    sys.exit(main())
