"""What the use cases share: the injectable clock, the in-app stream's channel and doorbell, the causation of
follow-up events."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol

from kit import context
from notifications.domain import (
    WHATSAPP,
    Message,
)

log = logging.getLogger(__name__)
CHANNEL = WHATSAPP
Clock = Callable[[], datetime]
INAPP_CHANNEL_PREFIX = "clinicflow:notifications:inapp:"


def utcnow() -> datetime:
    return datetime.now(UTC)


#: Tests and the e2e stack move time by replacing this (an injectable clock for delays and windows).
clock: Clock = utcnow


def inapp_channel(tenant_id: str) -> str:
    """The Redis pub/sub channel of a clinic's in-app notifications: every api replica subscribes."""
    return INAPP_CHANNEL_PREFIX + tenant_id


class Publisher(Protocol):
    def publish(self, channel: str, message: str) -> Awaitable[Any]: ...


async def announce_conversation(
    publisher: Publisher | None, tenant_id: str, conversation_id: str, channel: str, direction: str
) -> None:
    """Ring the in-app stream's doorbell: something new in a conversation (an inbound message, a staff reply,
    a receipt), so open screens re-read it. After the commit; the rows are the truth, a missed push is only a
    later refresh."""
    if publisher is None:
        return
    note = {"kind": "conversation", "conversation_id": conversation_id, "channel": channel, "direction": direction}
    try:
        await publisher.publish(inapp_channel(tenant_id), json.dumps(note))
    except Exception:
        log.warning("could not announce conversation %s", conversation_id, exc_info=True)


@contextmanager
def _caused_by(message: Message) -> Iterator[None]:
    """Follow-up events belong to the flow that caused the message."""
    token = context.correlation_id.set(message.correlation_id)
    cause = context.causation_id.set(message.causation_id)
    try:
        yield
    finally:
        context.correlation_id.reset(token)
        context.causation_id.reset(cause)
