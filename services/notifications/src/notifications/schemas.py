"""HTTP bodies of notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from notifications.domain import Message


class MessageOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    lead_id: str | None
    channel: str
    to: str
    template: str
    locale: str
    body: str
    status: str
    attempts: int
    last_error: str | None
    provider: str | None
    provider_message_id: str | None
    correlation_id: str | None
    created_at: datetime
    sent_at: datetime | None

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            id=m.id,
            lead_id=m.lead_id,
            channel=m.channel,
            to=m.to,
            template=m.template,
            locale=m.locale,
            body=m.body,
            status=m.status,
            attempts=m.attempts,
            last_error=m.last_error,
            provider=m.provider,
            provider_message_id=m.provider_message_id,
            correlation_id=m.correlation_id,
            created_at=m.created_at,
            sent_at=m.sent_at,
        )


class MessageList(msgspec.Struct, frozen=True):
    items: list[MessageOut]


class TemplateOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    locale: str
    channel: str
    body: str
    customised: bool


class TemplateList(msgspec.Struct, frozen=True):
    items: list[TemplateOut]
    variables: list[str]


class TemplateIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
