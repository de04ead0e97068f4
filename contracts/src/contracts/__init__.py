"""Event contracts shared by every ClinicFlow service: envelope, topics, payloads, registry."""

from contracts.envelope import Event, EventMeta, from_headers, to_headers
from contracts.registry import REGISTRY, EventSpec, decode_payload, spec_for, spec_of
from contracts.topics import DLQ_SUFFIX, TOPICS, Topic, dlq_topic

__all__ = [
    "DLQ_SUFFIX",
    "REGISTRY",
    "TOPICS",
    "Event",
    "EventMeta",
    "EventSpec",
    "Topic",
    "decode_payload",
    "dlq_topic",
    "from_headers",
    "spec_for",
    "spec_of",
    "to_headers",
]
