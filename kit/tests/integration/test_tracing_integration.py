"""One trace along the event path, exported over OTLP/HTTP to a real receiver: a request that carries a caller's
`traceparent` -> the service's server span -> the outbox -> the relay's producer span (real Kafka) -> the next
consumer's span -> its provider call (httpx client span, and the provider sees the traceparent); and the log
line written in the handler carries the trace id."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiohttp import web
from litestar import post
from litestar.di import Provide
from litestar.testing import AsyncTestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from contracts import EventMeta, Topic, from_headers
from contracts.leads import LeadCreatedV1
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit import tracing
from kit import web as kit_web
from kit.context import new_id
from kit.db import UnitOfWork, UnitOfWorkFactory, make_engine, uow_factory
from kit.logging import JsonFormatter
from kit.messaging import IdempotentConsumer, ensure_topics, make_producer
from kit.outbox import OutboxRelay
from kit.settings import ServiceSettings

pytestmark = pytest.mark.integration

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


class Receiver:
    """An OTLP/HTTP trace receiver (what an OpenTelemetry Collector listens with on :4318)."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []

    async def traces(self, request: web.Request) -> web.Response:
        export = ExportTraceServiceRequest()
        export.ParseFromString(await request.read())
        for resource_spans in export.resource_spans:
            service = next(a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name")
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    self.spans.append(
                        {
                            "service": service,
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent": span.parent_span_id.hex(),
                            "kind": span.kind,
                        }
                    )
        return web.Response(body=b"", content_type="application/x-protobuf")


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    found = Receiver()
    app = web.Application()
    app.router.add_post("/v1/traces", found.traces)
    runner, url = await serve(app)
    yield found, url
    await runner.cleanup()


async def test_one_trace_from_the_request_through_kafka_to_the_provider_call(
    infra: Infra, receiver: tuple[Receiver, str]
) -> None:
    found, otlp = receiver
    provider_saw: list[str | None] = []

    async def provider_endpoint(request: web.Request) -> web.Response:
        provider_saw.append(request.headers.get("traceparent"))
        return web.json_response({"sent": True})

    provider_app = web.Application()
    provider_app.router.add_post("/messages", provider_endpoint)
    provider_runner, provider_url = await serve(provider_app)

    url = await asyncio.to_thread(fresh_database, infra, "leads")  # alembic runs its own loop
    engine = make_engine(url)
    uow: UnitOfWorkFactory = uow_factory(engine, "leads")
    topic = Topic(f"test.tracing.{new_id()}", 1, "test")
    await ensure_topics(infra.kafka_bootstrap, (topic,))
    tracing.setup("leads", ServiceSettings(otel_exporter_otlp_endpoint=otlp))
    log_lines = io.StringIO()
    handler_log = logging.StreamHandler(log_lines)
    handler_log.setFormatter(JsonFormatter("notifications-worker"))
    logger = logging.getLogger("test.tracing")
    logger.addHandler(handler_log)
    logger.setLevel(logging.INFO)
    producer = make_producer(infra.kafka_bootstrap, idempotent=False, client_id="tracing-test")
    await producer.start()
    relay = OutboxRelay(service="leads", database_url=url, producer=producer, poll_seconds=0.2)
    relay_task = asyncio.create_task(relay.run())
    handled: list[EventMeta] = []

    @post("/leads", status_code=201)
    async def create_lead(data: dict[str, str], uow: UnitOfWorkFactory) -> dict[str, str]:
        async with uow() as work:
            event = LeadCreatedV1(
                lead_id=new_id(),
                name=data["name"],
                phone="+5511999990000",
                source="walk_in",
                created_at=datetime.now(UTC),
            )
            work.publish(event, tenant_id=new_id(), topic=topic.name)  # aimed at this test's topic
            await work.commit()
        return {"lead_id": event.lead_id}

    async def on_created(work: UnitOfWork, event: LeadCreatedV1, meta: EventMeta) -> None:
        async with httpx.AsyncClient() as client:
            await client.post(f"{provider_url}/messages", json={"to": event.phone})
        logger.info("welcome sent to %s", event.lead_id)
        handled.append(meta)

    consumer = IdempotentConsumer(
        service="notifications",
        name=f"test.tracing.{new_id()}",
        topic=topic.name,
        handlers={LeadCreatedV1: on_created},
        uow=uow,
        producer=producer,
    )
    try:
        app = kit_web.create_app(
            service="leads",
            title="tracing test",
            route_handlers=[create_lead],
            checks={},
            dependencies={"uow": Provide(lambda: uow, sync_to_thread=False)},
        )
        async with AsyncTestClient(app) as client:
            answer = await client.post(
                "/leads", json={"name": "Ana"}, headers={"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
            )
            assert answer.status_code == 201, answer.text
        await consumer.start(infra.kafka_bootstrap)
        async with asyncio.timeout(30):
            while not handled:
                await asyncio.sleep(0.1)
    finally:
        await consumer.stop()
        relay_task.cancel()
        await asyncio.gather(relay_task, return_exceptions=True)
        await producer.stop()
        tracing.shutdown()  # flushes every span to the receiver
        logger.removeHandler(handler_log)
        await provider_runner.cleanup()
        await engine.dispose()

    spans = {s["name"]: s for s in found.spans}
    assert {s["trace_id"] for s in found.spans} == {CALLER_TRACE}, found.spans
    server = next(s for s in found.spans if s["name"].startswith("POST /leads") and s["parent"] == CALLER_SPAN)
    producer_span = spans[f"publish {topic.name}"]
    consumer_span = spans[f"process {LeadCreatedV1.TYPE}"]
    client_span = next(s for s in found.spans if s["name"] == "POST" and s["parent"] == consumer_span["span_id"])
    # request -> (outbox) -> producer -> consumer -> provider call: each the parent of the next
    assert producer_span["parent"] == server["span_id"]
    assert consumer_span["parent"] == producer_span["span_id"]
    assert provider_saw == [f"00-{CALLER_TRACE}-{client_span['span_id']}-01"]
    # The consumed event carries the producer span's context as the CloudEvents tracing extension.
    assert handled[0].traceparent == f"00-{CALLER_TRACE}-{producer_span['span_id']}-01"
    (line,) = [json.loads(x) for x in log_lines.getvalue().splitlines()]
    assert (line["trace_id"], line["span_id"]) == (CALLER_TRACE, consumer_span["span_id"])


def test_the_traceparent_header_is_the_cloudevents_extension_and_old_events_still_decode() -> None:
    now = datetime.now(UTC).isoformat()
    base = {"ce_specversion": "1.0", "ce_id": new_id(), "ce_source": "/leads", "ce_type": "t", "ce_time": now}
    base |= {"ce_subject": "s", "ce_tenantid": new_id(), "ce_correlationid": new_id()}
    parent = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    assert from_headers({**base, "ce_traceparent": parent}).traceparent == parent
    assert from_headers({**base, "traceparent": parent}).traceparent == parent  # before the header was renamed
