"""CloudEvents 1.0 envelope in the Kafka binary binding (docs/architecture.md, "Events").

Metadata travels in `ce_*` headers; the record value is the payload as JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import ClassVar

import msgspec

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every event payload. Subclasses set TYPE, TOPIC and AGGREGATE."""

    TYPE: ClassVar[str]
    TOPIC: ClassVar[str]
    #: Which payload field holds the aggregate id (the Kafka key and `ce_subject`).
    AGGREGATE: ClassVar[str]
    #: For an event that may name nobody by id: the field whose phone or e-mail keys its personal fields
    #: (contracts.personal) when it carries no lead or patient id.
    PERSON_ADDRESS: ClassVar[str | None] = None

    def aggregate_id(self) -> str:
        return str(getattr(self, self.AGGREGATE))


class EventMeta(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    source: str
    type: str
    time: datetime
    subject: str
    tenant_id: str
    correlation_id: str
    causation_id: str | None = None
    traceparent: str | None = None


TRACEPARENT_HEADER = "ce_traceparent"

_HEADER_FIELDS = {
    "ce_id": "id",
    "ce_source": "source",
    "ce_type": "type",
    "ce_subject": "subject",
    "ce_tenantid": "tenant_id",
    "ce_correlationid": "correlation_id",
    "ce_causationid": "causation_id",
    # The CloudEvents distributed-tracing extension in the Kafka binding (W3C trace context).
    TRACEPARENT_HEADER: "traceparent",
}
#: What events before the extension's header name was fixed carried; still read.
_LEGACY_HEADERS = {"traceparent": "traceparent"}


class EnvelopeError(ValueError):
    """Headers that do not form a valid CloudEvent."""


def to_headers(meta: EventMeta) -> list[tuple[str, bytes]]:
    headers = [
        ("ce_specversion", SPEC_VERSION.encode()),
        ("ce_time", meta.time.isoformat().encode()),
        ("content-type", CONTENT_TYPE.encode()),
    ]
    for header, field in _HEADER_FIELDS.items():
        value = getattr(meta, field)
        if value is not None:
            headers.append((header, str(value).encode()))
    return headers


def from_headers(headers: Mapping[str, bytes | str] | Iterable[tuple[str, bytes]]) -> EventMeta:
    items = headers.items() if isinstance(headers, Mapping) else headers
    raw = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in items}
    if raw.get("ce_specversion") != SPEC_VERSION:
        raise EnvelopeError(f"unsupported ce_specversion {raw.get('ce_specversion')!r}")
    values: dict[str, object] = {field: raw[header] for header, field in _LEGACY_HEADERS.items() if header in raw}
    values |= {field: raw[header] for header, field in _HEADER_FIELDS.items() if header in raw}
    values["time"] = raw.get("ce_time")
    try:
        return msgspec.convert(values, EventMeta, strict=False)
    except msgspec.ValidationError as exc:
        raise EnvelopeError(f"invalid CloudEvent headers: {exc}") from exc
