"""Request and response bodies of telephony (msgspec)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from kit.inputs import Uuid
from telephony.domain import Recording, RecordingAccess, TrackingNumber
from telephony.repository import Card, StoredCall


class AccountIn(msgspec.Struct, forbid_unknown_fields=True):
    #: Zadarma: the API secret; Twilio: the auth token; Mango Office: the signature key (salt).
    secret: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    #: Mango Office's vpbx_api_key.
    api_key: Annotated[str, msgspec.Meta(max_length=500)] = ""
    #: IANA zone of the times the provider reports (Zadarma, Asterisk); default: the clinic's.
    timezone: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    #: The provider API's address: required for Asterisk (the PBX's ARI, e.g. https://pbx.clinic:8089);
    #: Twilio and Telfin default to their public APIs.
    api_url: Annotated[str, msgspec.Meta(max_length=300)] = ""


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


class RecordingOut(msgspec.Struct):
    id: str
    #: pending, stored, linked (only the provider's reference), failed, deleted (retention).
    state: str
    content_type: str | None
    size: int | None
    stored_at: datetime | None

    @classmethod
    def of(cls, r: Recording) -> RecordingOut:
        return cls(id=r.id, state=r.state, content_type=r.content_type, size=r.size, stored_at=r.stored_at)


class CardOut(msgspec.Struct):
    call: CallOut
    #: The lead whose phone matches the caller (Brazilian ninth digit included), else None.
    contact: ContactOut | None
    #: The caller was no known lead when the call came in (a first-time caller), whatever is known since.
    new_caller: bool
    #: The call's recording; play it through `GET /api/v1/telephony/recordings/{id}/link`.
    recording: RecordingOut | None = None

    @classmethod
    def of(cls, card: Card) -> CardOut:
        contact = ContactOut(card.contact.lead_id, card.contact.name) if card.contact else None
        return cls(
            call=CallOut.of(card.call),
            contact=contact,
            new_caller=card.call.lead_id is None,
            recording=RecordingOut.of(card.recording) if card.recording else None,
        )


class DialIn(msgspec.Struct, forbid_unknown_fields=True):
    #: twilio, telfin or asterisk (the others have no call API: 422).
    provider: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    #: The staff member's extension (or SIP address / phone) the provider rings first.
    extension: Annotated[str, msgspec.Meta(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_+@.:\-]+$")]
    #: The person's phone; or `call_id`, a call card whose caller is called back.
    to: Annotated[str, msgspec.Meta(min_length=3, max_length=40)] | None = None
    call_id: Uuid | None = None
    #: The clinic's number shown to the person; default: the card's tracking number, else the first one.
    line: Annotated[str, msgspec.Meta(min_length=3, max_length=40)] | None = None


class DialOut(msgspec.Struct):
    call_id: str
    provider: str
    provider_call_id: str


class RecordingLinkOut(msgspec.Struct):
    #: Plays the recording without a staff token until it expires; every use is audited.
    url: str
    expires_at: datetime


class AccessOut(msgspec.Struct):
    id: str
    recording_id: str
    call_id: str
    action: str
    user_id: str | None
    link_id: str | None
    client: str | None
    at: datetime

    @classmethod
    def of(cls, a: RecordingAccess) -> AccessOut:
        return cls(a.id, a.recording_id, a.call_id, a.action, a.user_id, a.link_id, a.client, a.at)


class RetentionIn(msgspec.Struct, forbid_unknown_fields=True):
    days: int
    #: Recordings younger than this are kept when their person's data is erased (0..days); omitted: unchanged.
    hold_on_erasure_days: int | None = None


class RetentionOut(msgspec.Struct):
    days: int
    #: False: the service's default applies (the clinic set none).
    custom: bool
    #: Recordings younger than this many days stay when their person's data is erased (docs/privacy.md).
    hold_on_erasure_days: int = 0


class WebhookAnswer(msgspec.Struct):
    outcome: str
    call_ids: list[str]


class BitrixResult(msgspec.Struct):
    #: The call's id for telephony.externalcall.finish (register answers it; finish echoes it).
    CALL_ID: str | None
    outcome: str


class BitrixAnswer(msgspec.Struct):
    """Bitrix24 REST answers `{"result": ...}`."""

    result: BitrixResult
