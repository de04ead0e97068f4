"""Events published by the notifications context on `clinicflow.notifications.events`."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from contracts.envelope import Event
from contracts.topics import NOTIFICATIONS


class MessageSentV1(Event, frozen=True, kw_only=True):
    """The provider accepted an outbound message."""

    TYPE: ClassVar[str] = "clinicflow.notifications.message.sent.v1"
    TOPIC: ClassVar[str] = NOTIFICATIONS.name
    AGGREGATE: ClassVar[str] = "message_id"

    message_id: str
    lead_id: str | None = None
    channel: str
    to: str
    template: str
    locale: str
    provider: str
    provider_message_id: str
    sent_at: datetime


class MessageFailedV1(Event, frozen=True, kw_only=True):
    """An outbound message could not be delivered to the provider; it will not be retried."""

    TYPE: ClassVar[str] = "clinicflow.notifications.message.failed.v1"
    TOPIC: ClassVar[str] = NOTIFICATIONS.name
    AGGREGATE: ClassVar[str] = "message_id"

    message_id: str
    lead_id: str | None = None
    channel: str
    to: str
    template: str
    reason: str
    attempts: int
    failed_at: datetime
