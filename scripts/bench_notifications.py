"""just bench notifications [--messages N] [--batch B ...]: the dispatcher on its own.
just bench notifications --offered R [--seconds S]: the whole event path at an offered rate.

Dispatcher mode queues N welcome messages through the rules (as the consumer would, 100 events per
transaction), then lets the batched dispatcher hand them to the sandbox WhatsApp provider (a real HTTP server in
its own process) and reports messages per second, rounds, and what the provider recorded (exactly N, no duplicates).
Real PostgreSQL, nothing else shared: a figure for the dispatcher, not the whole event path.

Offered-rate mode starts the broker, PostgreSQL, the sandbox and the notifications worker on free ports, publishes
`lead.created` to Kafka at R events/s for S seconds (each a new person, as the leads relay would), and times
publish -> the provider's request for every message (the sandbox stamps each request it receives; one clock).
The ceiling of the same run is the bare broker hop (publish -> a plain consumer gets it, at the same rate) and a
bare provider request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bench_intake  # the CPU accounting from /proc is shared with the intake bench
import httpx
import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import event

from contracts import EventMeta, to_headers
from contracts.leads import LeadCreatedV1
from devkit import infra as devinfra
from devkit.stack import Stack
from devkit.testing import fresh_database
from kit import migrations
from kit.context import new_id
from kit.db import make_engine, uow_factory
from kit.messaging import FETCH_MAX_WAIT_MS
from notifications import channels, services
from notifications.channels import WhatsAppCloud
from notifications.domain import WHATSAPP

ROOT = Path(__file__).resolve().parents[1]


async def queue(uow: object, n: int, tenant: str) -> float:
    started = time.perf_counter()
    for first in range(0, n, 100):
        async with uow() as u:  # type: ignore[operator]
            for i in range(first, min(first + 100, n)):
                event = LeadCreatedV1(
                    lead_id=new_id(),
                    name=f"Lead {i}",
                    phone=f"+5511{900000000 + i}",
                    source="bench",
                    created_at=datetime.now(UTC),
                )
                meta = EventMeta(
                    id=new_id(),
                    source="bench",
                    type=event.TYPE,
                    time=event.created_at,
                    subject=event.lead_id,
                    tenant_id=tenant,
                    correlation_id=new_id(),
                )
                await services.handle_event(u, event, meta)
            await u.commit()
    return time.perf_counter() - started


async def run(url: str, sandbox: str, n: int, batch: int, concurrency: int) -> None:
    engine = make_engine(url, pool_size=8)
    uow = uow_factory(engine, "notifications")
    async with httpx.AsyncClient() as client:
        await client.delete(f"{sandbox}/sandbox/whatsapp/messages")
    statements = [0]

    def count(*_: object) -> None:
        statements[0] += 1

    # Round trips per event are the figure a loaded machine cannot blur (time per event it can).
    event.listen(engine.sync_engine, "before_cursor_execute", count)
    queued = await queue(uow, n, new_id())
    event.remove(engine.sync_engine, "before_cursor_execute", count)
    per_event = statements[0] / n
    client = channels.provider_client(concurrency)
    adapter = WhatsAppCloud(base_url=sandbox, api_version="v21.0", phone_number_id="1", token="bench", client=client)
    dispatcher = services.Dispatcher(uow, {WHATSAPP: adapter}, batch_size=batch, concurrency=concurrency)
    rounds, started = 0, time.perf_counter()
    while await dispatcher.dispatch_due():
        rounds += 1
    elapsed = time.perf_counter() - started
    await adapter.close()
    async with httpx.AsyncClient() as client:
        got = (await client.get(f"{sandbox}/sandbox/whatsapp/messages")).json()
    await engine.dispose()
    print(
        f"batch {batch:>4}, concurrency {concurrency:>3}: "
        f"queued {n} in {queued:.2f}s ({n / queued:.0f}/s through the rules, "
        f"{per_event:.2f} statements per event); "
        f"dispatched in {elapsed:.2f}s = {n / elapsed:.0f} msg/s over {rounds} rounds; provider recorded "
        f"{len(got['items'])}, duplicates {got['duplicates']}"
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summary(latencies_ms: list[float], span_s: float) -> dict[str, float]:
    return {
        "count": len(latencies_ms),
        "per_s": round(len(latencies_ms) / span_s, 1) if span_s > 0 else 0.0,
        "p50_ms": round(percentile(latencies_ms, 50), 1),
        "p95_ms": round(percentile(latencies_ms, 95), 1),
        "p99_ms": round(percentile(latencies_ms, 99), 1),
        "max_ms": round(max(latencies_ms), 1),
    }


def lead_created(tenant: str, phone: str) -> tuple[LeadCreatedV1, EventMeta]:
    now = datetime.now(UTC)
    created = LeadCreatedV1(lead_id=new_id(), name="Bench Lead", phone=phone, source="bench", created_at=now)
    meta = EventMeta(
        id=new_id(),
        source="clinicflow/leads",
        type=created.TYPE,
        time=now,
        subject=created.lead_id,
        tenant_id=tenant,
        correlation_id=new_id(),
    )
    return created, meta


async def offer(producer: AIOKafkaProducer, topic: str, rate: float, count: int, make: Any) -> dict[str, float]:
    """Publish `count` records at `rate` per second on a fixed schedule; the publish time of each, by its key."""
    sent: dict[str, float] = {}
    started = time.perf_counter()
    pending = []
    for i in range(count):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        key, value, headers = make(i)
        sent[key] = time.time()
        pending.append(await producer.send(topic, value, key=key.encode(), headers=headers))
    await asyncio.gather(*pending)
    return sent


async def broker_ceiling(bootstrap: str, rate: float, count: int) -> dict[str, float]:
    """The bare broker hop at the same rate: publish -> a plain consumer has the record."""
    topic = f"bench.ceiling.{new_id()}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    # The services' own fetch wait: with aiokafka's default (500 ms) the "ceiling" measured the consumer's
    # setting, not the broker (p99 254 ms on Tansu vs ~100 ms with the services' 100 ms).
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=FETCH_MAX_WAIT_MS
    )
    await producer.start()
    await producer.send_and_wait(topic, b"warm", key=b"warm")
    await consumer.start()
    received: dict[str, float] = {}

    async def consume() -> None:
        async for record in consumer:
            if record.key and record.key != b"warm":
                received[record.key.decode()] = time.time()
                if len(received) >= count:
                    return

    reader = asyncio.create_task(consume())
    await asyncio.sleep(1.0)  # the consumer has its partitions before the first record is timed
    sent = await offer(producer, topic, rate, count, lambda i: (f"k{i}", b"{}", []))
    await asyncio.wait_for(reader, timeout=120)
    await producer.stop()
    await consumer.stop()
    latencies = [(received[k] - sent[k]) * 1000 for k in sent]
    return summary(latencies, max(received.values()) - min(sent.values()))


async def provider_ceiling(sandbox: str, token: str, count: int) -> dict[str, float]:
    """A bare provider request (what the dispatcher's adapter sends), one at a time."""
    body = {"messaging_product": "whatsapp", "to": "5511900000000", "type": "text", "text": {"body": "ceiling"}}
    latencies: list[float] = []
    async with httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}) as client:
        started = time.perf_counter()
        for _ in range(count):
            began = time.perf_counter()
            answer = await client.post(f"{sandbox}/v21.0/1/messages", json=body)
            answer.raise_for_status()
            latencies.append((time.perf_counter() - began) * 1000)
        span = time.perf_counter() - started
        await client.delete(f"{sandbox}/sandbox/whatsapp/messages")
    return summary(latencies, span)


async def offered_path(stack: Stack, sandbox: str, token: str, rate: float, seconds: float) -> dict[str, Any]:
    assert stack.infra is not None
    bootstrap = stack.infra.kafka_bootstrap
    tenant = new_id()
    count = int(rate * seconds)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    async with httpx.AsyncClient(timeout=30.0) as client:

        async def recorded() -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = (await client.get(f"{sandbox}/sandbox/whatsapp/messages")).json()["items"]
            return items

        # Warm up: the worker has its partitions and the clinic's rules are read once.
        deadline = time.monotonic() + 180
        while not await recorded():
            if time.monotonic() > deadline:
                raise TimeoutError("the worker sent nothing for the warm-up events")
            created, meta = lead_created(tenant, "+5511800000000")
            await producer.send_and_wait(
                created.TOPIC, msgspec.json.encode(created), key=created.lead_id.encode(), headers=to_headers(meta)
            )
            await asyncio.sleep(2.0)
        await client.delete(f"{sandbox}/sandbox/whatsapp/messages")

        def make(i: int) -> tuple[str, bytes, list[tuple[str, bytes]]]:
            created, meta = lead_created(tenant, f"+5511{910000000 + i}")
            return created.phone or "", msgspec.json.encode(created), to_headers(meta)

        before = bench_intake.cpu_sample(stack)
        sent_by_phone = await offer(producer, LeadCreatedV1.TOPIC, rate, count, make)
        await producer.stop()
        sent = {phone.lstrip("+"): at for phone, at in sent_by_phone.items()}
        deadline = time.monotonic() + max(60.0, seconds * 4)
        items = await recorded()
        while len({m["to"] for m in items if m["to"] in sent}) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            items = await recorded()
        after = bench_intake.cpu_sample(stack)
        body = (await client.get(f"{sandbox}/sandbox/whatsapp/messages")).json()
    arrived = {m["to"]: datetime.fromisoformat(m["received_at"]).timestamp() for m in items if m["to"] in sent}
    latencies = [(arrived[to] - sent[to]) * 1000 for to in arrived]
    result: dict[str, Any] = {"offered_per_s": rate, "published": count, "handed_to_provider": len(arrived)}
    result["duplicates"] = body["duplicates"]
    if latencies:
        result |= summary(latencies, max(arrived.values()) - min(sent.values()))
    # CPU ms per message of each process (from /proc): the figure a loaded machine blurs least.
    usage = bench_intake.cpu_usage(before, after)
    handed = max(len(arrived), 1)
    result["cpu_ms_per_message"] = {
        name: round(cpu * 1000 / handed, 2) for name, cpu in usage["cpu_s"].items() if cpu >= 0.005
    }
    result["machine_busy_pct_of_all_cores"] = usage["machine_busy_pct_of_all_cores"]
    return result


def offered_main(rate: float, seconds: float) -> int:
    state_dir = Path(tempfile.mkdtemp(prefix="clinicflow-bench-notifications-"))
    state_dir.chmod(0o755)  # the embedded PostgreSQL runs as another user when started by root
    stack = Stack(state_dir, free_ports=True)
    stack.key_store = False  # privacy-api is not started: the events go in clear
    report: dict[str, Any] = {"offered_per_s": rate, "seconds": seconds}
    try:
        print(f"starting broker, PostgreSQL, sandbox and notifications worker in {state_dir} ...", flush=True)
        infra = stack.start_infra()
        migrations_upgrade(stack)
        for name in ("sandbox", "notifications-worker"):
            stack.start_process(name)
        stack.wait_ready(["sandbox", "notifications-worker"])
        sandbox, token = stack.url("sandbox"), stack.env()["SANDBOX_WHATSAPP_TOKEN"]
        report["ceiling_provider_request"] = asyncio.run(provider_ceiling(sandbox, token, 200))
        report["ceiling_broker_hop"] = asyncio.run(broker_ceiling(infra.kafka_bootstrap, rate, int(rate * seconds)))
        report["event_to_provider"] = asyncio.run(offered_path(stack, sandbox, token, rate, seconds))
    finally:
        stack.stop()
    print(json.dumps(report, indent=2))
    return 0


def migrations_upgrade(stack: Stack) -> None:
    """Only notifications' database: the bench runs no other service."""
    assert stack.infra is not None
    asyncio.run(migrations.ensure_database(stack.infra.postgres_url, stack.database_name("notifications")))
    migrations.upgrade(ROOT / "services" / "notifications", stack.database_url("notifications"))


def main() -> int:
    parser = argparse.ArgumentParser(prog="just bench notifications")
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--batch", type=int, nargs="+", default=[20, 200])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[16], help="provider requests in flight")
    parser.add_argument("--offered", type=float, help="events/s: time the whole event path at this rate")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to offer (with --offered)")
    args = parser.parse_args()
    if args.offered:
        return offered_main(args.offered, args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        infra = devinfra.start(Path(tmp))
        port = devinfra.free_port()
        env = {
            **os.environ,
            "SANDBOX_HTTP_PORT": str(port),
            "SANDBOX_WHATSAPP_TOKEN": "bench",
            "SANDBOX_LOG_LEVEL": "WARNING",
        }
        box = subprocess.Popen([sys.executable, "-m", "sandbox"], env=env, cwd=ROOT)
        try:
            sandbox = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if httpx.get(f"{sandbox}/health/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            for batch in args.batch:
                for concurrency in args.concurrency:
                    database = fresh_database(infra, "notifications")
                    asyncio.run(run(database, sandbox, args.messages, batch, concurrency))
        finally:
            box.terminate()
            box.wait(10)
            infra.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
