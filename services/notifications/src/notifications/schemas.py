"""HTTP bodies of notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from notifications.domain import Message, Rule

Key = Annotated[str, msgspec.Meta(min_length=2, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]+$")]
HHMM = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class MessageOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    lead_id: str | None
    patient_id: str | None
    conversation_id: str | None
    rule: str
    recipient: str
    event_type: str | None
    channel: str
    channels: list[str]
    to: str
    template: str
    locale: str
    subject: str | None
    body: str
    status: str
    attempts: int
    last_error: str | None
    provider: str | None
    provider_message_id: str | None
    correlation_id: str | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    delivered_at: datetime | None
    read_at: datetime | None

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            id=m.id,
            lead_id=m.lead_id,
            patient_id=m.patient_id,
            conversation_id=m.conversation_id,
            rule=m.rule_key,
            recipient=m.recipient,
            event_type=m.event_type,
            channel=m.channel,
            channels=list(m.channels),
            to=m.to,
            template=m.template,
            locale=m.locale,
            subject=m.subject,
            body=m.body,
            status=m.status,
            attempts=m.attempts,
            last_error=m.last_error,
            provider=m.provider,
            provider_message_id=m.provider_message_id,
            correlation_id=m.correlation_id,
            created_at=m.created_at,
            next_attempt_at=m.next_attempt_at,
            sent_at=m.sent_at,
            delivered_at=m.delivered_at,
            read_at=m.read_at,
        )


class MessageList(msgspec.Struct, frozen=True):
    items: list[MessageOut]


class TemplateOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    locale: str
    channel: str
    body: str
    customised: bool
    subject: str | None = None
    wa_template: str | None = None
    event_type: str | None = None
    variables: list[str] = []


class TemplateList(msgspec.Struct, frozen=True):
    items: list[TemplateOut]
    variables: list[str]


class TemplateIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    #: E-mail subject / in-app title.
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    #: The name of the clinic's approved WhatsApp template for this text (used outside the 24-hour window).
    wa_template: Annotated[str, msgspec.Meta(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")] | None = None


class PreviewIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)] | None = None
    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


class PreviewOut(msgspec.Struct, frozen=True, kw_only=True):
    channel: str
    locale: str
    body: str
    subject: str | None = None
    buttons: list[dict[str, str]] = []
    wa: dict[str, Any] | None = None
    variables: dict[str, Any] = {}


class RuleIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    event_type: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    template: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    channels: Annotated[list[str], msgspec.Meta(min_length=1, max_length=6)]
    recipient: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] = "person"
    conditions: dict[str, str | int | bool | list[str]] = {}
    delay_seconds: Annotated[int, msgspec.Meta(ge=0, le=30 * 24 * 3600)] = 0
    quiet_hours: bool = True
    cancel_on: list[str] = []
    enabled: bool = True


class RuleOut(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    event_type: str
    template: str
    channels: list[str]
    recipient: str
    conditions: dict[str, Any]
    delay_seconds: int
    quiet_hours: bool
    cancel_on: list[str]
    enabled: bool
    builtin: bool

    @classmethod
    def of(cls, r: Rule) -> RuleOut:
        return cls(
            key=r.key,
            event_type=r.event_type,
            template=r.template,
            channels=list(r.channels),
            recipient=r.recipient,
            conditions=dict(r.conditions),
            delay_seconds=r.delay_seconds,
            quiet_hours=r.quiet_hours,
            cancel_on=list(r.cancel_on),
            enabled=r.enabled,
            builtin=r.builtin,
        )


class RuleList(msgspec.Struct, frozen=True):
    items: list[RuleOut]
    event_types: list[str]


class Enabled(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    enabled: bool


class SettingsIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    timezone: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    locale: str
    quiet_start: HHMM | None = None
    quiet_end: HHMM | None = None


class SettingsOut(msgspec.Struct, frozen=True, kw_only=True):
    timezone: str
    locale: str
    quiet_start: str | None
    quiet_end: str | None


class OptOutIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    channel: str
    address: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]


class OptOutOut(msgspec.Struct, frozen=True, kw_only=True):
    channel: str
    address: str
    source: str
    created_at: datetime


class OptOutList(msgspec.Struct, frozen=True):
    items: list[OptOutOut]


class AccountIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    account_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class AccountOut(msgspec.Struct, frozen=True):
    channel: str
    account_id: str


class AccountList(msgspec.Struct, frozen=True):
    items: list[AccountOut]


class ConversationOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    lead_id: str | None
    patient_id: str | None
    name: str | None
    last_message_at: datetime


class ConversationList(msgspec.Struct, frozen=True):
    items: list[ConversationOut]


class AddressOut(msgspec.Struct, frozen=True, kw_only=True):
    channel: str
    address: str
    last_inbound_at: datetime | None


class MediumOut(msgspec.Struct, frozen=True, kw_only=True):
    #: image, audio, video, document.
    kind: str
    content_type: str
    size: int | None
    caption: str | None
    url: str | None


class ConversationItem(msgspec.Struct, frozen=True, kw_only=True):
    direction: str
    id: str
    channel: str
    text: str | None
    status: str
    template: str | None
    at: datetime
    button_id: str | None
    reply_to_message_id: str | None
    last_error: str | None
    #: The photos, voice notes and documents the person sent; `url` works for 15 minutes (None: not fetched).
    media: list[MediumOut] = []


class ConversationDetail(msgspec.Struct, frozen=True, kw_only=True):
    conversation: ConversationOut
    addresses: list[AddressOut]
    items: list[ConversationItem]


class ReplyIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    channel: str | None = None
    #: The reply assistant's suggestions this reply was written from (as one of them, or edited).
    suggestion_id: UUID | None = None


class TemplateChoiceOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    #: The approved WhatsApp template it goes out as outside the 24-hour window (WhatsApp only).
    wa_template: str | None
    #: The variables it uses that the person's record does not give: the staff member fills them in.
    needs: list[str]


class TemplateChoices(msgspec.Struct, frozen=True, kw_only=True):
    channel: str
    #: WhatsApp: within 24 h of the person's last message (the text goes out; outside, the approved template).
    in_window: bool
    items: list[TemplateChoiceOut]


class TemplateMessageIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    template: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    #: Default: the channel the person last wrote on.
    channel: str | None = None
    #: Values of the template's variables the person's record does not give (its name, first_name, phone and
    #: email win over these).
    variables: dict[str, Annotated[str, msgspec.Meta(max_length=1000)]] = msgspec.field(default_factory=dict)


class TemplateSendIn(TemplateMessageIn, frozen=True, forbid_unknown_fields=True, kw_only=True):
    #: Chosen by the client once per message it means to send: the same key again (a double click, a retry)
    #: answers with the first request's message and sends nothing more.
    idempotency_key: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]


class WaTemplateOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    language: str
    params: list[str]


class TemplatePreviewOut(msgspec.Struct, frozen=True, kw_only=True):
    template: str
    channel: str
    locale: str
    in_window: bool
    #: The text as the person would read it; a variable without a value shows as [name].
    body: str
    subject: str | None
    #: What goes out outside WhatsApp's 24-hour window: the approved template and its parameters.
    wa: WaTemplateOut | None
    #: Variables without a value yet (sending refuses them, naming `variables.<name>`).
    missing: list[str]


class AssistantSettingsIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The clinic's OpenAI-compatible chat completions endpoint (e.g. https://api.openai.com/v1)."""

    endpoint_url: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    model: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    enabled: bool = True
    #: Omitted: the stored key stays; "": no key; else it is sealed at rest and never shown back.
    api_key: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    #: Prices per 1,000 prompt / completion tokens (decimal strings), for the AI usage report's cost.
    prompt_price: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    completion_price: Annotated[str, msgspec.Meta(max_length=20)] | None = None


class AssistantSettingsOut(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool
    endpoint_url: str | None
    model: str | None
    #: Whether an API key is stored (the key itself is never shown).
    api_key_set: bool
    prompt_price: str | None
    completion_price: str | None
    updated_at: datetime | None


class SuggestionsOut(msgspec.Struct, frozen=True, kw_only=True):
    suggestion_id: str
    model: str
    suggestions: list[str]
    prompt_tokens: int
    completion_tokens: int
    cost: str | None
    created_at: datetime


class InAppOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    audience: str
    title: str
    body: str
    lead_id: str | None
    patient_id: str | None
    subject: str | None
    created_at: str
    read_at: str | None


class InAppList(msgspec.Struct, frozen=True):
    items: list[InAppOut]
    unread: int


class Unread(msgspec.Struct, frozen=True):
    unread: int


class MarkReadIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    #: None: everything the staff member can see.
    ids: Annotated[list[UUID], msgspec.Meta(max_length=500)] | None = None


class Marked(msgspec.Struct, frozen=True):
    marked: int
