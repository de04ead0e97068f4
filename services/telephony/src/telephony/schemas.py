"""Request and response bodies of telephony (msgspec)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from telephony.domain import TrackingNumber
from telephony.repository import Card, StoredCall


class AccountIn(msgspec.Struct, forbid_unknown_fields=True):
    #: Zadarma: the API secret; Twilio: the auth token; Mango Office: the signature key (salt).
    secret: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    #: Mango Office's vpbx_api_key.
    api_key: Annotated[str, msgspec.Meta(max_length=500)] = ""
    #: IANA zone of the times the provider reports (Zadarma); default: the clinic's.
    timezone: Annotated[str, msgspec.Meta(max_length=60)] | None = None


class AccountOut(msgspec.Struct):
    provider: str
    #: Register this URL at the provider.
    webhook_url: str


class ConnectionOut(msgspec.Struct):
    """A provider and whether the clinic connected it; secrets are never returned, only that they are set."""

    provider: str
    connected: bool
    secret_set: bool
    api_key_set: bool
    timezone: str | None
    #: Register this URL at the provider.
    webhook_url: str


class NumberIn(msgspec.Struct, forbid_unknown_fields=True):
    number: Annotated[str, msgspec.Meta(min_length=3, max_length=40)]
    source: Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
    label: Annotated[str, msgspec.Meta(max_length=120)] | None = None


class NumberOut(msgspec.Struct):
    id: str
    number: str
    source: str
    label: str | None
    created_at: datetime

    @classmethod
    def of(cls, n: TrackingNumber) -> NumberOut:
        return cls(id=n.id, number=n.number, source=n.source, label=n.label, created_at=n.created_at)


class ContactOut(msgspec.Struct):
    lead_id: str
    name: str


class CallOut(msgspec.Struct):
    id: str
    provider: str
    provider_call_id: str
    direction: str
    caller: str
    tracking_number: str
    source: str | None
    lead_id: str | None
    state: str
    disposition: str | None
    missed: bool
    started_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    talk_seconds: int
    duration_seconds: int
    recording_ref: str | None

    @classmethod
    def of(cls, c: StoredCall) -> CallOut:
        r = c.record
        return cls(
            id=c.id,
            provider=r.provider,
            provider_call_id=r.provider_call_id,
            direction=r.direction,
            caller=r.caller,
            tracking_number=r.tracking_number,
            source=c.source,
            lead_id=c.lead_id,
            state=r.state,
            disposition=r.disposition,
            missed=r.missed,
            started_at=r.started_at,
            answered_at=r.answered_at,
            ended_at=r.ended_at,
            talk_seconds=r.talk_seconds,
            duration_seconds=r.duration_seconds,
            recording_ref=r.recording_ref,
        )


class CardOut(msgspec.Struct):
    call: CallOut
    #: The lead whose phone matches the caller (Brazilian ninth digit included), else None.
    contact: ContactOut | None
    #: The caller was no known lead when the call came in (a first-time caller), whatever is known since.
    new_caller: bool

    @classmethod
    def of(cls, card: Card) -> CardOut:
        contact = ContactOut(card.contact.lead_id, card.contact.name) if card.contact else None
        return cls(call=CallOut.of(card.call), contact=contact, new_caller=card.call.lead_id is None)


class WebhookAnswer(msgspec.Struct):
    outcome: str
    call_ids: list[str]
