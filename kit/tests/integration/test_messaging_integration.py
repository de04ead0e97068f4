"""Outbox relay, inbox and the idempotent consumer against real PostgreSQL and Kafka."""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client import REGISTRY
from sqlalchemy import text

from contracts import EventMeta, Topic, dlq_topic, from_headers, to_headers
from contracts.leads import LeadCreatedV1
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit import dlq
from kit.context import new_id
from kit.db import UnitOfWork, UnitOfWorkFactory, make_engine, uow_factory
from kit.messaging import IdempotentConsumer, PermanentError, ensure_topics, make_producer
from kit.outbox import OutboxRelay, plain_dsn


def lead_event(n: int, key: str) -> LeadCreatedV1:
    return LeadCreatedV1(
        lead_id=key, name=f"Lead {n}", phone=f"+5511900000{n:03d}", source="walk_in", created_at=datetime.now(UTC)
    )


async def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 20.0) -> list[tuple[bytes, list]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    out: list[tuple[bytes, list]] = []
    try:
        async with asyncio.timeout(timeout):
            while len(out) < expected:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    out.extend((r.value, list(r.headers)) for r in records)
    finally:
        await consumer.stop()
    return out


def committed_effects(factory: UnitOfWorkFactory, effects: list[Any]) -> UnitOfWorkFactory:
    """Units of work whose handlers note effects in `session.info["effects"]`; they reach `effects` only when
    the transaction commits (a batch rolled back after a failure applied nothing)."""

    def make() -> UnitOfWork:
        work = factory()
        commit = work.commit

        async def commit_and_record() -> None:
            done = list(work.session.info.get("effects", []))
            await commit()
            effects.extend(done)

        work.commit = commit_and_record  # type: ignore[method-assign]
        return work

    return make


@pytest.fixture
async def producer(infra: Infra):
    started = make_producer(infra.kafka_bootstrap, idempotent=False, client_id="test")
    await started.start()
    yield started
    await started.stop()


async def test_outbox_relay_publishes_everything_in_per_key_order(infra: Infra, producer: AIOKafkaProducer) -> None:
    url = await asyncio.to_thread(fresh_database, infra, "leads")  # alembic runs its own loop
    topic = Topic(f"test.outbox.{new_id()}", 4, "test")
    await ensure_topics(infra.kafka_bootstrap, (topic,))
    engine = make_engine(url)
    uow = uow_factory(engine, "leads")
    keys = [new_id() for _ in range(5)]
    for n in range(60):
        async with uow() as work:
            event = lead_event(n, keys[n % 5])
            work.publish(event, tenant_id=new_id(), topic=topic.name)  # aimed at this test's topic
            await work.commit()

    relays = [OutboxRelay(service="leads", database_url=url, producer=producer, poll_seconds=0.2) for _ in range(2)]
    tasks = [asyncio.create_task(r.run()) for r in relays]
    try:
        records = await read_topic(infra.kafka_bootstrap, topic.name, 60)
        assert sum(r.is_leader for r in relays) == 1  # the advisory lock elects one relay
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await engine.dispose()

    by_key: dict[str, list[int]] = defaultdict(list)
    for value, headers in records:
        meta = from_headers(headers)
        event = msgspec.json.decode(value, type=LeadCreatedV1)
        assert meta.subject == event.lead_id
        by_key[event.lead_id].append(int(event.name.split()[1]))
    assert all(seq == sorted(seq) for seq in by_key.values()), by_key
    assert sum(len(v) for v in by_key.values()) == 60
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    finally:
        await conn.close()


async def test_uow_rolls_back_state_and_events_together(infra: Infra) -> None:
    url = await asyncio.to_thread(fresh_database, infra, "leads")  # alembic runs its own loop
    engine = make_engine(url)
    uow = uow_factory(engine, "leads")
    with contextlib.suppress(RuntimeError):
        async with uow() as work:
            work.publish(lead_event(1, new_id()), tenant_id=new_id())
            raise RuntimeError("the use case failed")
    async with uow() as work:
        work.publish(lead_event(2, new_id()), tenant_id=new_id())
        # leaving without commit() stores nothing either
    conn = await asyncpg.connect(plain_dsn(url))
    try:
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 0
    finally:
        await conn.close()
        await engine.dispose()


async def test_consumer_dedupes_retries_and_dead_letters(infra: Infra, producer: AIOKafkaProducer) -> None:
    url = await asyncio.to_thread(fresh_database, infra, "notifications")  # alembic runs its own loop
    topic = Topic(f"test.consumer.{new_id()}", 2, "test")
    await ensure_topics(infra.kafka_bootstrap, (topic,))
    engine = make_engine(url)
    handled: list[str] = []
    attempts: dict[str, int] = defaultdict(int)

    async def handler(work: UnitOfWork, event: LeadCreatedV1, meta: EventMeta) -> None:
        attempts[event.name] += 1
        if event.name == "always fails":
            raise ValueError("cannot handle this one")
        if event.name == "permanent":
            raise PermanentError("bad data")
        if event.name == "flaky" and attempts[event.name] < 3:
            raise ValueError("try again")
        work.session.info.setdefault("effects", []).append(event.name)

    consumer = IdempotentConsumer(
        service="test",
        name=f"test-group-{new_id()}",
        topic=topic.name,
        handlers={LeadCreatedV1: handler},
        uow=committed_effects(uow_factory(engine, "notifications"), handled),
        producer=producer,
        max_attempts=4,
        base_delay=0.01,
    )
    await consumer.start(infra.kafka_bootstrap)

    async def send(event: LeadCreatedV1, meta: EventMeta | None = None, value: bytes | None = None) -> EventMeta:
        meta = meta or EventMeta(
            id=new_id(),
            source="clinicflow/test",
            type=event.TYPE,
            time=datetime.now(UTC),
            subject=event.lead_id,
            tenant_id=new_id(),
            correlation_id=new_id(),
        )
        await producer.send_and_wait(
            topic.name, value or msgspec.json.encode(event), key=event.lead_id.encode(), headers=to_headers(meta)
        )
        return meta

    try:
        key = new_id()
        twice = await send(
            LeadCreatedV1(
                lead_id=key, name="once", phone="+5511999990000", source="walk_in", created_at=datetime.now(UTC)
            )
        )
        await send(
            LeadCreatedV1(
                lead_id=key, name="once", phone="+5511999990000", source="walk_in", created_at=datetime.now(UTC)
            ),
            meta=twice,
        )
        for name in ("flaky", "always fails", "permanent"):
            await send(
                LeadCreatedV1(
                    lead_id=key, name=name, phone="+5511999990000", source="walk_in", created_at=datetime.now(UTC)
                )
            )
        await send(lead_event(0, key), value=b"{not json")
        parked = await read_topic(infra.kafka_bootstrap, dlq_topic(topic.name), 3)
        async with asyncio.timeout(10):
            while "flaky" not in handled:
                await asyncio.sleep(0.05)
    finally:
        await consumer.stop()
        await engine.dispose()

    assert handled.count("once") == 1  # delivered twice, handled once
    assert handled.count("flaky") == 1
    assert attempts["flaky"] in (3, 4)  # 3 alone, plus once when it shared a batch that was rolled back
    assert attempts["always fails"] in (4, 5)  # max_attempts alone, then parked
    assert attempts["permanent"] in (1, 2)  # straight to the DLQ once alone
    errors = sorted(dict(h)["x-dlq-error"].decode().split(":")[0] for _, h in parked)
    assert errors == ["ValueError", "payload", "permanent"]
    assert all(dict(h)["x-dlq-original-topic"].decode() == topic.name for _, h in parked)

    # replay puts them back on the original topic, headers intact (x-dlq-* dropped)
    assert await dlq.run("replay", dlq_topic(topic.name), infra.kafka_bootstrap) == 0
    replayed = await read_topic(infra.kafka_bootstrap, topic.name, 9)
    assert len(replayed) == 9
    assert not any(k.startswith("x-dlq-") for _, headers in replayed[-3:] for k, _ in headers)
    assert await dlq.run("replay", dlq_topic(topic.name), infra.kafka_bootstrap) == 0  # nothing twice
    assert len(await read_topic(infra.kafka_bootstrap, topic.name, 9)) == 9


async def test_a_poison_record_mid_batch_is_parked_alone(infra: Infra, producer: AIOKafkaProducer) -> None:
    """A poll's records arrive as one batch in one transaction; the poison one in the middle makes that
    transaction roll back, then each partition's records are handled in a transaction of their own (the
    others' succeed), then the poisoned partition's one by one: the poison record is retried and parked on the
    DLQ alone, every other one is applied exactly once and in order."""
    url = await asyncio.to_thread(fresh_database, infra, "notifications")  # alembic runs its own loop
    topic = Topic(f"test.batch.{new_id()}", 3, "test")
    await ensure_topics(infra.kafka_bootstrap, (topic,))
    engine = make_engine(url)
    applied: list[tuple[str, int]] = []  # (key, n) in the order the transactions committed
    attempts: dict[int, int] = defaultdict(int)
    keys = [new_id() for _ in range(6)]

    async def handler(work: UnitOfWork, event: LeadCreatedV1, meta: EventMeta) -> None:
        n = int(event.name.split()[1])
        attempts[n] += 1
        if n == 50:
            raise ValueError("poison")
        await work.session.execute(text("SELECT 1"))  # real work in the shared transaction
        work.session.info.setdefault("effects", []).append((event.lead_id, n))

    # Records are sent first, so the consumer's first poll sees them all as batches.
    for n in range(100):
        event = lead_event(n, keys[n % len(keys)])
        meta = EventMeta(
            id=new_id(),
            source="clinicflow/test",
            type=event.TYPE,
            time=datetime.now(UTC),
            subject=event.lead_id,
            tenant_id=new_id(),
            correlation_id=new_id(),
        )
        await producer.send(
            topic.name, msgspec.json.encode(event), key=event.lead_id.encode(), headers=to_headers(meta)
        )
    await producer.flush()

    consumer = IdempotentConsumer(
        service="test",
        name=f"test-batch-{new_id()}",
        topic=topic.name,
        handlers={LeadCreatedV1: handler},
        uow=committed_effects(uow_factory(engine, "notifications"), applied),
        producer=producer,
        max_attempts=3,
        base_delay=0.01,
        batch_size=500,
    )
    await consumer.start(infra.kafka_bootstrap)
    try:
        parked = await read_topic(infra.kafka_bootstrap, dlq_topic(topic.name), 1)
        async with asyncio.timeout(20):
            while len(applied) < 99:
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.0)  # nothing more may arrive
    finally:
        await consumer.stop()
        await engine.dispose()

    assert len(parked) == 1
    assert msgspec.json.decode(parked[0][0], type=LeadCreatedV1).name == "Lead 50"
    assert dict(parked[0][1])["x-dlq-error"].decode() == "ValueError: poison"
    assert attempts[50] == 2 + 3  # in the poll's transaction, in its partition's, then max_attempts alone
    assert sorted(n for _, n in applied) == [n for n in range(100) if n != 50]  # none lost, none twice
    by_key: dict[str, list[int]] = defaultdict(list)
    for key, n in applied:
        by_key[key].append(n)
    assert all(seq == sorted(seq) for seq in by_key.values()), by_key  # per-key order kept
    assert max(attempts[n] for n in range(100) if n != 50) <= 3  # the rolled-back poll and partition, then alone
    # The polls are seen by an SRE: all 100 records counted over the consumer's polls, and their time.
    labels = {"service": "test", "consumer": consumer.name}

    def sample(name: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    assert sample("clinicflow_consumer_poll_records_count") >= 1
    assert sample("clinicflow_consumer_poll_records_sum") == 100
    assert sample("clinicflow_consumer_poll_seconds_sum") > 0


async def test_a_pooled_connection_killed_while_idle_is_replaced(infra: Infra) -> None:
    url = await asyncio.to_thread(fresh_database, infra, "leads")  # alembic runs its own loop
    engine = make_engine(url, pool_size=1, ping_idle_seconds=0.2)
    try:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar()
        admin = await asyncpg.connect(plain_dsn(url))
        try:
            assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        await asyncio.sleep(0.3)  # idle past the threshold: the checkout pings, fails, reconnects
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar() != pid
    finally:
        await engine.dispose()


async def test_rate_limiter_shares_state_in_redis(infra: Infra) -> None:
    from redis.asyncio import Redis

    from kit.ratelimit import FixedWindowLimiter, RateLimited

    redis = Redis.from_url(infra.redis_url)
    first, second = FixedWindowLimiter(redis), FixedWindowLimiter(redis)  # two replicas
    key = f"test:{new_id()}"
    try:
        for _ in range(3):
            await first.hit(key, limit=5, window_seconds=60)
        for _ in range(2):
            await second.hit(key, limit=5, window_seconds=60)
        with pytest.raises(RateLimited) as raised:
            await first.hit(key, limit=5, window_seconds=60)
        assert 0 < raised.value.retry_after <= 60
        await second.reset(key)
        await first.hit(key, limit=5, window_seconds=60)
    finally:
        await redis.aclose()
