"""Fault tests: the broker goes away, an event arrives twice, a worker dies mid-stream."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import msgspec
import pytest
from aiokafka import AIOKafkaProducer

from contracts import EventMeta, to_headers
from contracts.leads import LeadCreatedV1
from devkit.stack import Stack
from kit.context import new_id
from tests.e2e.conftest import Api, Sandbox, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.fault]


def metric(stack: Stack, process: str, name: str) -> float:
    text = httpx.get(f"{stack.url(process)}/metrics", timeout=10.0).text
    found = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def exactly_one_each(sandbox: Sandbox, phones: list[str]) -> bool:
    return all(len(sandbox.received(p)) == 1 for p in phones)


def test_broker_outage_loses_and_doubles_nothing(
    stack: Stack, admin: Api, sandbox: Sandbox, unique_phone: Callable[[], str]
) -> None:
    assert stack.infra is not None
    broker = stack.infra.processes.get("tansu")
    if broker is None:
        pytest.skip("the broker is external (KAFKA_BOOTSTRAP_SERVERS): it cannot be paused from here")
    phones: list[str] = []
    backlog_seen = 0.0
    broker.pause()
    try:
        paused_at = time.monotonic()
        while time.monotonic() - paused_at < 12:
            phones.append(unique_phone())
            admin.create_lead(phone=phones[-1], source="phone_call")  # leads keep being accepted
            backlog_seen = max(backlog_seen, metric(stack, "leads-worker", "clinicflow_outbox_backlog"))
            time.sleep(0.4)
    finally:
        broker.resume()
    assert backlog_seen > 0, "the outbox backlog metric never rose while the broker was away"
    wait_until(lambda: exactly_one_each(sandbox, phones), 120.0, "not every lead got its message after the outage")
    wait_until(lambda: metric(stack, "leads-worker", "clinicflow_outbox_backlog") == 0, 30.0, "backlog did not fall")
    time.sleep(2.0)
    assert exactly_one_each(sandbox, phones)


def test_the_same_event_twice_makes_one_message(
    stack: Stack, admin: Api, sandbox: Sandbox, unique_phone: Callable[[], str]
) -> None:
    assert stack.infra is not None
    tenant_id = admin.http.get("/api/v1/me").json()["tenant"]["id"]
    phone = unique_phone()
    event = LeadCreatedV1(
        lead_id=new_id(),
        name="Duda Reis",
        phone=phone,
        source="whatsapp",
        created_at=datetime(2026, 11, 28, 10, 0, tzinfo=UTC),
    )
    meta = EventMeta(
        id=new_id(),
        source="clinicflow/leads",
        type=event.TYPE,
        time=event.created_at,
        subject=event.lead_id,
        tenant_id=tenant_id,
        correlation_id=new_id(),
    )

    async def deliver_twice() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stack.infra.kafka_bootstrap, acks="all")  # type: ignore[union-attr]
        await producer.start()
        try:
            for _ in range(2):
                await producer.send_and_wait(
                    event.TOPIC, msgspec.json.encode(event), key=event.lead_id.encode(), headers=to_headers(meta)
                )
        finally:
            await producer.stop()

    asyncio.run(deliver_twice())
    wait_until(lambda: sandbox.received(phone), 15.0, "the event was not handled")
    time.sleep(2.0)
    assert len(sandbox.received(phone)) == 1
    assert len(admin.messages(event.lead_id)) == 1


def test_notifications_worker_killed_mid_stream(
    stack: Stack, admin: Api, sandbox: Sandbox, unique_phone: Callable[[], str]
) -> None:
    phones = [unique_phone() for _ in range(30)]
    created: list[str] = []

    def create_all() -> None:
        for phone in phones:
            created.append(admin.create_lead(phone=phone, source="website_form")["id"])
            time.sleep(0.05)

    producer = threading.Thread(target=create_all)
    producer.start()
    wait_until(lambda: len(created) >= 10, 30.0, "leads are not being created")
    stack.processes["notifications-worker"].kill()  # SIGKILL: no graceful shutdown
    producer.join(60)
    stack.start_process("notifications-worker")
    stack.wait_ready(["notifications-worker"])
    wait_until(lambda: exactly_one_each(sandbox, phones), 120.0, "a message was lost after the restart")
    time.sleep(2.0)
    assert exactly_one_each(sandbox, phones), "a message was doubled"
    # A message the dead worker had sent but not yet recorded stays `sending` until it is stale (30 s), then it
    # is resent with the same idempotency key: the provider keeps one copy and the row becomes `sent`.
    for lead_id in created:
        wait_until(
            lambda lead_id=lead_id: [m["status"] for m in admin.messages(lead_id)] == ["sent"],
            60.0,
            f"the message of lead {lead_id} never became sent",
        )
        statuses = [m["status"] for m in admin.messages(lead_id)]
        assert statuses == ["sent"], statuses
    assert exactly_one_each(sandbox, phones), "a resend after the restart reached the provider twice"
