"""Request/event scoped values carried from HTTP into events and on into the next service."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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


# bound()'s keyword names shadow the variables inside it.
_correlation, _causation, _tenant, _traceparent = correlation_id, causation_id, tenant_id, traceparent


@contextmanager
def bound(
    *,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    tenant_id: str | None = None,
    traceparent: str | None = None,
) -> Iterator[None]:
    """Set the given ids for the block and restore the previous ones after it (None leaves one as it is).

    E.g. a dispatcher sending a queued message publishes its events inside
    `with context.bound(correlation_id=m.correlation_id, causation_id=m.causation_id):`.
    """
    given = {
        _correlation: correlation_id,
        _causation: causation_id,
        _tenant: tenant_id,
        _traceparent: traceparent,
    }
    tokens = [(var, var.set(value)) for var, value in given.items() if value is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)
