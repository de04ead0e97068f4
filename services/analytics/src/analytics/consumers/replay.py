"""`python -m analytics rebuild`: empty the projections and replay every topic from its start into them.

The replay reads each partition from its first retained offset until it has nothing more or reaches records
made after the rebuild began (no consumer group: the live worker's positions are not touched) and applies
them through the same inbox as the live consumers, so a record both handle is applied once. The projections
are order-free (analytics.domain.projection), so the figures are the same as before the rebuild, whatever
the interleaving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

from analytics.consumers import consumer_name, handlers_by_topic
from analytics.services import rebuild
from analytics.services.work import AnalyticsWorkFactory
from contracts import Event, EventMeta, from_headers, spec_for
from contracts.envelope import EnvelopeError
from kit.personal import PersonalCipher

log = logging.getLogger(__name__)
BATCH = 500
#: A poll that waited this long for a record finds the topic read to its end.
IDLE_MS = 1500


async def _topic(
    bootstrap: str, topic: str, uow: AnalyticsWorkFactory, wanted: set[str], cipher: PersonalCipher | None
) -> dict[str, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                client_id="analytics-rebuild")  # fmt: skip
    await consumer.start()
    counts = {"read": 0, "applied": 0}
    try:
        await consumer.topics()  # fetches the cluster's metadata
        ids = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(ids)]
        if not tps:
            return counts
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        # The end is where the partition has nothing more to give, or a record made after the rebuild began (the
        # live consumers handle those). End offsets are not used: the development broker (Tansu) misreports them.
        began_ms = int(time.time() * 1000)
        pending = set(tps)
        name = consumer_name(topic)
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=IDLE_MS, max_records=BATCH)
            if not batches:
                break  # caught up on every partition still open
            events: list[tuple[Event, EventMeta]] = []
            for tp, records in batches.items():
                for record in records:
                    counts["read"] += 1
                    decoded = _decode(record, wanted)
                    if decoded is not None:
                        events.append(decoded)
                    if record.timestamp > began_ms:
                        pending.discard(tp)
                        break
            if events:
                if cipher is not None:
                    opened = await cipher.open(events)
                    events = [(event, meta) for event, (_, meta) in zip(opened, events, strict=True)]
                counts["applied"] += await rebuild.apply(uow, name, events)
    finally:
        await consumer.stop()
    return counts


def _decode(record: Any, wanted: set[str]) -> tuple[Event, EventMeta] | None:
    try:
        meta = from_headers(list(record.headers or ()))
    except EnvelopeError:
        return None  # the live consumer parked it on the DLQ
    if meta.type not in wanted:
        return None
    try:
        return msgspec.json.decode(record.value or b"", type=spec_for(meta.type).struct), meta
    except msgspec.DecodeError:
        return None


async def run(
    bootstrap: str, uow: AnalyticsWorkFactory, cipher: PersonalCipher | None = None
) -> dict[str, dict[str, int]]:
    by_topic = handlers_by_topic()
    await rebuild.clear(uow, [consumer_name(t) for t in by_topic])
    results = await asyncio.gather(
        *(_topic(bootstrap, topic, uow, {s.TYPE for s in handlers}, cipher) for topic, handlers in by_topic.items())
    )
    return dict(zip(by_topic, results, strict=True))
