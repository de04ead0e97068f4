"""Events published by the notifications context on `clinicflow.notifications.events`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

import msgspec

from contracts.envelope import Event
from contracts.personal import CONTACT, PERSONAL
from contracts.topics import NOTIFICATIONS


class MessageSentV1(Event, frozen=True, kw_only=True):
    """The provider accepted an outbound message."""

    TYPE: ClassVar[str] = "clinicflow.notifications.message.sent.v1"
    TOPIC: ClassVar[str] = NOTIFICATIONS.name
    AGGREGATE: ClassVar[str] = "message_id"
    PERSON_ADDRESS: ClassVar[str | None] = "to"

    message_id: str
    lead_id: str | None = None
    channel: str
    to: Annotated[str, CONTACT]
    template: str
    locale: str
    provider: str
    provider_message_id: str
    sent_at: datetime
    #: A staff reply written from the reply assistant's suggestions (reply.suggested): which suggestions,
    #: whether one was sent as it was (`as_is`) or changed first (`edited`), the model and the tokens spent.
    #: All None for every other message.
    suggestion_id: str | None = None
    suggestion_use: str | None = None
    suggestion_model: str | None = None
    suggestion_tokens: int | None = None


class MessageFailedV1(Event, frozen=True, kw_only=True):
    """An outbound message could not be delivered to the provider; it will not be retried."""

    TYPE: ClassVar[str] = "clinicflow.notifications.message.failed.v1"
    TOPIC: ClassVar[str] = NOTIFICATIONS.name
    AGGREGATE: ClassVar[str] = "message_id"
    PERSON_ADDRESS: ClassVar[str | None] = "to"

    message_id: str
    lead_id: str | None = None
    channel: str
    to: Annotated[str, CONTACT]
    template: str
    reason: str
    attempts: int
    failed_at: datetime


class MessageDeliveredV1(Event, frozen=True, kw_only=True):
    """The provider reported the outbound message delivered to the person's device."""

    TYPE: ClassVar[str] = "clinicflow.notifications.message.delivered.v1"
    TOPIC: ClassVar[str] = NOTIFICATIONS.name
    AGGREGATE: ClassVar[str] = "message_id"

    message_id: str
    lead_id: str | None = None
    patient_id: str | None = None
    channel: str
    provider_message_id: str
    delivered_at: datetime


class MessageReadV1(Event, frozen=True, kw_only=True):
    """The provider reported the outbound message read."""

    TYPE: ClassVar[str] = "clinicflow.notifications.message.read.v1"
    TOPIC: ClassVar[str] = NOTIFICATIONS.name
    AGGREGATE: ClassVar[str] = "message_id"

    message_id: str
    lead_id: str | None = None
    patient_id: str | None = None
    channel: str
    provider_message_id: str
    read_at: datetime


class MessageMedia(msgspec.Struct, frozen=True, kw_only=True):
    """A photo, voice note, video or document a person sent with a message."""

    #: image, audio, video, document.
    kind: str
    content_type: str
    size: int | None = None
    #: Hex SHA-256 of the bytes.
    sha256: str | None = None
    #: A presigned URL to notifications' stored copy, valid for `url_expires_at`; None when it could not be
    #: fetched from the provider (the message still arrives).
    url: str | None = None
    url_expires_at: datetime | None = None
    caption: str | None = None


class MessageReceivedV1(Event, frozen=True, kw_only=True):
    """A person wrote to the clinic (or tapped a button) on WhatsApp, SMS, Telegram or Instagram.

    Keyed by the conversation, so one person's messages arrive in order. `lead_id` is None when the
    sender is not known yet: leads then creates a lead with the channel as its source.
    """

    TYPE: ClassVar[str] = "clinicflow.notifications.message.received.v1"
    TOPIC: ClassVar[str] = NOTIFICATIONS.name
    AGGREGATE: ClassVar[str] = "conversation_id"
    PERSON_ADDRESS: ClassVar[str | None] = "sender"

    conversation_id: str
    message_id: str
    lead_id: str | None = None
    patient_id: str | None = None
    #: whatsapp, sms, telegram, instagram.
    channel: str
    #: The sender's address on that channel: E.164 phone, Telegram chat id, Instagram user id.
    sender: Annotated[str, CONTACT]
    #: The name the channel gives for the sender, when it gives one.
    sender_name: Annotated[str | None, PERSONAL] = None
    text: Annotated[str | None, PERSONAL] = None
    #: The id of the tapped button, e.g. appt:<appointment id>:confirm.
    button_id: str | None = None
    #: Our outbound message this one answers, when the channel says so.
    reply_to_message_id: str | None = None
    #: What the message did to the sender's consent on this channel, as notifications (its owner) read it:
    #: False an opt-out keyword (STOP, SAIR, PARAR, ...), True an opt-in (START, VOLTAR, ...), None neither.
    #: Consumers decide by it instead of keeping their own keyword lists.
    consent: bool | None = None
    provider: str
    provider_message_id: str
    received_at: datetime
    #: What came with the message (a WhatsApp image, ...); its caption is also `text`.
    media: list[MessageMedia] = []


class ReplySuggestedV1(Event, frozen=True, kw_only=True):
    """The reply assistant offered a staff member suggested replies in a conversation (the clinic's configured
    OpenAI-compatible model, personal data redacted before the request). The staff reply that uses them names
    `suggestion_id` on its message.sent."""

    TYPE: ClassVar[str] = "clinicflow.notifications.reply.suggested.v1"
    TOPIC: ClassVar[str] = NOTIFICATIONS.name
    AGGREGATE: ClassVar[str] = "suggestion_id"

    suggestion_id: str
    conversation_id: str
    lead_id: str | None = None
    patient_id: str | None = None
    #: The staff member who asked.
    staff_id: str
    #: The channel the reply would go out on (the one the person last wrote on), when known.
    channel: str | None = None
    model: str
    #: How many suggestions were offered.
    count: int
    prompt_tokens: int
    completion_tokens: int
    #: What the request cost at the clinic's configured prices (decimal string), None when no price is set.
    cost: str | None = None
    suggested_at: datetime


class ChannelConsentChangedV1(Event, frozen=True, kw_only=True):
    """A person opted out of a channel (or back in): they wrote an opt-out word (STOP, SAIR, PARAR, СТОП, ...) or
    an opt-in word (START, VOLTAR, ...) on it, or staff recorded it through notifications' opt-out API.

    Notifications stops (or resumes) writing to the address on that channel at once; the privacy service records
    it in the consent ledger (marketing on that channel, with the words as the text) and announces it with its
    `consent.withdrawn` / `consent.given`. Keyed by the address, so a STOP and a later START arrive in order.
    """

    TYPE: ClassVar[str] = "clinicflow.notifications.channel_consent.changed.v1"
    TOPIC: ClassVar[str] = NOTIFICATIONS.name
    AGGREGATE: ClassVar[str] = "address"

    #: The change's id: the ledger entry it becomes (recorded once however often it is delivered).
    change_id: str
    lead_id: str | None = None
    patient_id: str | None = None
    conversation_id: str | None = None
    #: whatsapp, sms, email, telegram, instagram.
    channel: str
    #: The address on that channel: E.164 phone, e-mail, Telegram chat id, Instagram user id.
    address: str
    #: False: opted out; True: opted back in.
    opted_in: bool
    #: stop_word (an opt-out word the person wrote), start_word (an opt-in word), staff (the opt-out API).
    how: str
    #: What the person wrote (the inbound message's text), None when staff recorded it.
    text: Annotated[str | None, PERSONAL] = None
    #: The inbound message that carried the words.
    message_id: str | None = None
    #: The staff member who recorded it through the API.
    staff_id: str | None = None
    at: datetime


class RetentionAppliedV1(Event, frozen=True, kw_only=True):
    """One run of notifications' retention timer for a clinic: what it anonymised because the clinic's rule
    (privacy's `retention.set`, kind `messages`) says it is older than kept. The privacy service records it in the
    clinic's retention report."""

    TYPE: ClassVar[str] = "clinicflow.notifications.retention.applied.v1"
    TOPIC: ClassVar[str] = NOTIFICATIONS.name
    AGGREGATE: ClassVar[str] = "run_id"

    run_id: str
    #: The retention kind applied: messages.
    kind: str
    #: How many records it removed or anonymised in all (the sum of `counts`).
    removed: int
    #: Per kind of record: messages (sent), inbound_messages (what people wrote), media (files people sent).
    counts: dict[str, int] = {}
    #: Records older than this were removed.
    cutoff: datetime
    at: datetime
