"""Request/event scoped values carried from HTTP into events and on into the next service."""

from __future__ import annotations

from contextvars import ContextVar

import uuid_utils

correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
causation_id: ContextVar[str | None] = ContextVar("causation_id", default=None)
tenant_id: ContextVar[str | None] = ContextVar("tenant_id", default=None)
traceparent: ContextVar[str | None] = ContextVar("traceparent", default=None)

CORRELATION_HEADER = "x-correlation-id"


def new_id() -> str:
    """UUIDv7: time-ordered, so ids index well and sort by creation."""
    return str(uuid_utils.uuid7())


def current_correlation_id() -> str:
    value = correlation_id.get()
    if value is None:
        value = new_id()
        correlation_id.set(value)
    return value
