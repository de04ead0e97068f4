"""Prometheus metrics shared by every service (README.md, "Operating it")."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_LATENCY = Histogram(
    "clinicflow_http_request_duration_seconds",
    "HTTP request latency by route template.",
    ["service", "method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter(
    "clinicflow_events_published_total", "Events the outbox relay published.", ["service", "topic", "type"]
)
EVENTS_CONSUMED = Counter(
    "clinicflow_events_consumed_total",
    "Events consumed, by outcome (handled, duplicate, ignored, dead_lettered).",
    ["service", "consumer", "type", "outcome"],
)
EVENTS_FAILED = Counter(
    "clinicflow_events_failed_total", "Handler attempts that raised.", ["service", "consumer", "type"]
)
DLQ_MESSAGES = Counter("clinicflow_dlq_messages_total", "Messages parked on a dead-letter topic.", ["service", "topic"])
PERSONAL_FIELDS = Counter(
    "clinicflow_personal_fields_total",
    "Events whose personal fields were sealed, and fields opened, read as erased (key shredded) or unreadable.",
    ["outcome"],
)
OUTBOX_BACKLOG = Gauge("clinicflow_outbox_backlog", "Outbox rows not yet published.", ["service"])
OUTBOX_OLDEST_SECONDS = Gauge(
    "clinicflow_outbox_oldest_unpublished_seconds", "Age of the oldest unpublished outbox row.", ["service"]
)
OUTBOX_RELAY_LEADER = Gauge("clinicflow_outbox_relay_leader", "1 while this process holds the relay lock.", ["service"])
CONSUMER_LAG = Gauge(
    "clinicflow_consumer_lag", "Records behind the partition end.", ["service", "consumer", "topic", "partition"]
)
CONSUMER_POLL_RECORDS = Histogram(
    "clinicflow_consumer_poll_records",
    "Records of one poll (every assigned partition's), handled together before the offsets are committed.",
    ["service", "consumer"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
)
CONSUMER_POLL_SECONDS = Histogram(
    "clinicflow_consumer_poll_seconds",
    "From a poll's records in hand to their offsets committed (decode, the transaction, the commit).",
    ["service", "consumer"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
