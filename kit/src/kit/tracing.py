"""OpenTelemetry traces along a patient's whole journey, exported over OTLP when an endpoint is configured.

One trace follows a request through the gateway (its server span and the proxied call), the service (server span),
the outbox (the W3C `traceparent` is stored with the event and sent as the CloudEvents distributed-tracing
extension, Kafka header `ce_traceparent`), the relay (a producer span per record), the consumer of the next service
(a consumer span, parent of whatever it does) and its provider calls (httpx and aiohttp client spans), and every
log line written inside a span carries its `trace_id` (kit.logging).

Off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the local stack leaves it empty): then nothing is instrumented and
the cost is nil; an event's `traceparent` still passes from a consumed event to the ones its handler publishes.
The provider is this module's own (not the global one), so a process that shuts it down leaves nothing behind.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from contracts import EventMeta
from kit.settings import ServiceSettings

if TYPE_CHECKING:  # the SDK, the exporter and the httpx instrumentation load only when tracing is on
    from opentelemetry.sdk.trace import TracerProvider

_PROPAGATOR = TraceContextTextMapPropagator()
_provider: TracerProvider | None = None
_tracer: trace.Tracer = trace.NoOpTracer()


def setup(service: str, settings: ServiceSettings) -> TracerProvider | None:
    """Start exporting this process's spans when an OTLP endpoint is configured (idempotent)."""
    global _provider, _tracer
    endpoint = settings.otel_exporter_otlp_endpoint.rstrip("/")
    if _provider is not None or not endpoint:
        return _provider
    # Imported here: with tracing off (the local stack) a process never loads them (~0.3 s of CPU at its start).
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    resource = Resource.create({"service.name": service, "service.namespace": "clinicflow"})
    # A caller's sampling decision is kept; a new trace is sampled at the configured ratio.
    provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(settings.otel_sample_ratio)))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces")))
    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    _provider, _tracer = provider, provider.get_tracer("clinicflow.kit")
    return provider


def shutdown() -> None:
    """Flush what is pending and stop (a worker's or an api's shutdown; tests)."""
    global _provider, _tracer
    if _provider is None:
        return
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().uninstrument()
    _provider.shutdown()
    _provider, _tracer = None, trace.NoOpTracer()


def enabled() -> bool:
    return _provider is not None


def provider() -> TracerProvider | None:
    return _provider


def traceparent_of(span: Span | None = None) -> str | None:
    """The W3C traceparent of the given span (default: the current one); None outside any valid span."""
    carrier: dict[str, str] = {}
    ctx = trace.set_span_in_context(span) if span is not None else None
    _PROPAGATOR.inject(carrier, context=ctx)
    return carrier.get("traceparent")


def _parent(traceparent: str | None) -> Context | None:
    return _PROPAGATOR.extract({"traceparent": traceparent}) if traceparent else None


@contextlib.contextmanager
def consuming(meta: EventMeta, consumer: str, topic: str) -> Iterator[None]:
    """A consumer span, child of the event's traceparent, current while its handler runs."""
    if _provider is None:
        yield
        return
    with _tracer.start_as_current_span(
        f"process {meta.type}",
        context=_parent(meta.traceparent),
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": consumer,
            "messaging.message.id": meta.id,
            "cloudevents.event_id": meta.id,
            "cloudevents.event_type": meta.type,
            "clinicflow.tenant_id": meta.tenant_id,
        },
    ):
        yield


def publishing(topic: str, event_type: str, event_id: str, traceparent: str | None) -> Span | None:
    """A producer span for one outbox record, child of the traceparent stored with it; the relay sends the
    span's own traceparent and ends the span when the broker acknowledged the record."""
    if _provider is None or traceparent is None:
        return None
    return _tracer.start_span(
        f"publish {topic}",
        context=_parent(traceparent),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.destination.name": topic,
            "messaging.message.id": event_id,
            "cloudevents.event_id": event_id,
            "cloudevents.event_type": event_type,
        },
    )


def litestar_plugins() -> list[Any]:
    """Server spans for every HTTP request, continuing the caller's `traceparent` (none when tracing is off)."""
    if _provider is None:
        return []
    from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin

    return [OpenTelemetryPlugin(OpenTelemetryConfig(tracer_provider=_provider, exclude=["/health", "/metrics"]))]


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the current span, for the log lines."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")
