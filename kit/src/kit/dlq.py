"""Inspect and replay dead-letter topics.

    python -m kit.dlq list   clinicflow.leads.events.dlq
    python -m kit.dlq replay clinicflow.leads.events.dlq

`replay` republishes each parked record, headers intact, onto the topic it came from; the
consumer group `clinicflow.dlq-replay` remembers how far it got, so a record is replayed once.
Consumers dedupe by event id, so groups that had handled the event skip it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from contracts.topics import DLQ_SUFFIX
from kit.settings import environ_get

REPLAY_GROUP = "clinicflow.dlq-replay"


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


async def run(command: str, topic: str, bootstrap: str) -> int:
    if not topic.endswith(DLQ_SUFFIX):
        print(f"{topic} is not a dead-letter topic (they end in {DLQ_SUFFIX})", file=sys.stderr)
        return 2
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=REPLAY_GROUP if command == "replay" else None,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await consumer.start()
    await producer.start()
    count = 0
    try:
        # `replay` resumes at the group's committed offset; `list` (no group) reads from the start.
        async for record in _records(consumer, topic):
            headers = dict((k, v.decode(errors="replace")) for k, v in record.headers)
            origin = headers.get("x-dlq-original-topic", topic.removesuffix(DLQ_SUFFIX))
            if command == "list":
                print(
                    f"{record.partition}:{record.offset} {headers.get('ce_type', '?')} id={headers.get('ce_id', '?')} "
                    f"consumer={headers.get('x-dlq-consumer', '?')} error={headers.get('x-dlq-error', '?')}"
                )
            else:
                kept = [(k, v) for k, v in record.headers if not k.startswith("x-dlq-")]
                await producer.send_and_wait(origin, record.value, key=record.key, headers=kept)
                await consumer.commit({TopicPartition(record.topic, record.partition): record.offset + 1})
            count += 1
    finally:
        await producer.stop()
        await consumer.stop()
    print(f"{'replayed' if command == 'replay' else 'listed'} {count} record(s) from {topic}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m kit.dlq")
    parser.add_argument("command", choices=["list", "replay"])
    parser.add_argument("topic")
    parser.add_argument("--bootstrap", default=environ_get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:59092"))
    args = parser.parse_args()
    return asyncio.run(run(args.command, args.topic, args.bootstrap))


if __name__ == "__main__":
    sys.exit(main())
