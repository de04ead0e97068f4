"""Use cases of notifications: events -> rules -> queued messages; the batched dispatcher; provider webhooks
(replies, button taps, receipts) -> conversations and events; what staff read and configure."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from functools import partial
from typing import Any, Protocol, TypeVar, cast

import msgspec

from contracts import Event, EventMeta
from contracts.assistant import AssistantMessageRequestedV1
from contracts.notifications import (
    ChannelConsentChangedV1,
    MessageDeliveredV1,
    MessageFailedV1,
    MessageMedia,
    MessageReadV1,
    MessageReceivedV1,
    MessageSentV1,
    ReplySuggestedV1,
)
from kit import context, webhooks
from kit.auth import Principal
from kit.db import UnitOfWork, UnitOfWorkFactory, retrying
from kit.dispatch import LeaseDispatcher
from kit.objects import ObjectStore, ObjectStoreError
from kit.sealing import Sealer, SealingError
from notifications import consent, events, rendering, suggestions
from notifications.catalog import TEMPLATES
from notifications.channels import ChannelAdapter, Outgoing, ProviderError
from notifications.domain import (
    ACTOR,
    CANCELLED,
    DEFAULT_LOCALE,
    DEFAULT_RULES,
    DELIVERED,
    EMAIL,
    FAILED,
    FIELD_PREFIX,
    INAPP,
    INSTAGRAM,
    LOCALES,
    OWNER,
    PERSON,
    QUEUED,
    READ,
    SENT,
    SMS,
    TELEGRAM,
    TEMPLATE_NAMES,
    USER_PREFIX,
    WHATSAPP,
    AssistantNotConfigured,
    AssistantUnavailable,
    InvalidInput,
    InvalidTemplate,
    Message,
    NotFound,
    OutsideWindow,
    QuietHours,
    Rule,
    TemplateNotFound,
    apply_status,
    check_channel,
    check_rule,
    check_template_key,
    check_timezone,
    choose_locale,
    consent_change,
    defer_for_quiet_hours,
    e164,
    fall_back,
    is_clinic_template,
    is_staff_recipient,
    mark_attempt_failed,
    mark_sent,
    matches,
    phone_variants,
    within_whatsapp_window,
)
from notifications.inbound import Inbound, InboundMedia, Receipt
from notifications.llm import ChatCompletions
from notifications.work import NotificationsWork, NotificationsWorkFactory

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


# --- clinic configuration --------------------------------------------------------------------------
@dataclass(frozen=True)
class ClinicConfig:
    timezone: str = "America/Sao_Paulo"
    locale: str = DEFAULT_LOCALE
    quiet: QuietHours | None = None


def _parse_time(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


async def clinic_config(uow: NotificationsWork, tenant_id: str) -> ClinicConfig:
    row = await uow.settings.get(tenant_id)
    if row is None:
        return ClinicConfig()
    start, end = _parse_time(row["quiet_start"]), _parse_time(row["quiet_end"])
    return ClinicConfig(row["timezone"], row["locale"], QuietHours(start, end) if start and end else None)


async def effective_rules(uow: NotificationsWork, tenant_id: str, event_type: str | None = None) -> list[Rule]:
    """The seeded defaults, each replaced by the clinic's own row of the same key, plus the clinic's own rules."""
    # All of the clinic's rows (a handful): a changed default may have moved to another event type.
    own = await uow.rules.for_tenant(tenant_id)
    if event_type is not None:
        defaults = [r for r in DEFAULT_RULES if r.event_type == event_type or r.key in own]
        mine = [r for r in own.values() if r.event_type == event_type]
        merged = [own.get(r.key, r) for r in defaults] + [
            r for r in mine if r.key not in {d.key for d in DEFAULT_RULES}
        ]
        return [replace(r, builtin=any(d.key == r.key for d in DEFAULT_RULES)) for r in merged]
    out = [own.pop(r.key, r) if r.key in own else r for r in DEFAULT_RULES]
    out = [replace(r, builtin=any(d.key == r.key for d in DEFAULT_RULES)) for r in out]
    return out + sorted(own.values(), key=lambda r: r.key)


# --- templates --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Source:
    body: str
    subject: str | None
    wa_template: str | None
    locale: str


async def template_source(
    uow: NotificationsWork, tenant_id: str, name: str, locale: str, channel: str, clinic_locale: str
) -> Source:
    """The clinic's text for (name, locale, channel), else the built-in one; then the same for the clinic's
    default locale."""
    spec = TEMPLATES.get(name)
    repo = uow.templates
    for loc in dict.fromkeys((locale, clinic_locale, DEFAULT_LOCALE)):
        own = await repo.find(tenant_id, name, [loc], channel)
        if own:
            return Source(own["body"], own["subject"], own["wa_template"] or (spec.wa_template if spec else None), loc)
        if spec and loc in spec.texts:
            return Source(spec.texts[loc], spec.subjects.get(loc), spec.wa_template, loc)
    raise TemplateNotFound(f"No {name!r} template for {locale} or the clinic's default locale.", field="template")


# --- events -> messages ----------------------------------------------------------------------------
_T = TypeVar("_T")


async def _once(uow: NotificationsWork, key: tuple[str, ...], load: Callable[[], Awaitable[_T]]) -> _T:
    """Read once per transaction, i.e. per consumer batch: a batch of a clinic's events reads its rules, settings
    and templates once instead of once per event (three round trips each). The batch sees the clinic's
    configuration as of its first read, as if its events had been handled at that moment."""
    memo = uow.memo
    if key not in memo:
        memo[key] = await load()
    return cast(_T, memo[key])


async def handle_event(uow: NotificationsWork, event: Event, meta: EventMeta) -> list[Message]:
    """One consumed event: keep what notifications needs of it, cancel what it answers, queue what the rules say."""
    occ = events.occurrence(event, meta)
    now = clock()
    await _track(uow, occ, now)
    rules = await _once(uow, ("rules", occ.tenant_id), lambda: effective_rules(uow, occ.tenant_id))
    if any(occ.event_type in r.cancel_on for r in rules):  # only then can a waiting message be cancelled
        await uow.messages.cancel_waiting(occ.tenant_id, occ.subject, occ.event_type, now)
    config = await _once(uow, ("config", occ.tenant_id), lambda: clinic_config(uow, occ.tenant_id))
    person = await _person(uow, occ)
    queued: list[Message] = []
    for rule in rules:
        if not matches(rule, occ.event_type, occ.fields):
            continue
        for recipient in await _recipients(uow, rule, occ, person):
            message = await _queue(uow, occ, rule, recipient, person, config, now)
            if message is not None:
                queued.append(message)
    return queued


async def queue_welcome(uow: NotificationsWork, event: Event, meta: EventMeta) -> list[Message]:
    """lead.created (kept under its old name for callers): the rules decide, the welcome rule among them."""
    return await handle_event(uow, event, meta)


async def _track(uow: NotificationsWork, occ: events.Occurrence, now: datetime) -> None:
    f = occ.fields
    person = occ.person or {}
    lead_id = person.get("lead_id")
    if occ.event_type in ("lead.created", "lead.updated", "lead.converted") and lead_id:
        await uow.contacts.upsert(
            occ.tenant_id,
            lead_id,
            now,
            name=person.get("name"),
            phone=person.get("phone"),
            email=person.get("email"),
            locale=person.get("locale"),
            patient_id=person.get("patient_id"),
            owner_id=occ.owner_id,
        )
        # A conversation that started before the lead existed (an unknown number wrote) now has its lead.
        phone = person.get("phone")
        addresses = [(c, p) for p in phone_variants(phone) for c in (WHATSAPP, SMS)] if phone else []
        # A Telegram / Instagram sender's lead has their address there (lead.created's `contacts`), no phone.
        contacts = f.get("contacts") or {}
        addresses += [(c, str(a)) for c, a in contacts.items() if c in (TELEGRAM, INSTAGRAM) and a]
        convs = uow.conversations
        found = await convs.find(occ.tenant_id, lead_id=None, patient_id=None, addresses=addresses)
        if found and not found["lead_id"]:
            await convs.link(
                str(found["id"]), lead_id=lead_id, patient_id=person.get("patient_id"), name=person.get("name")
            )
    elif occ.event_type == "lead.assigned" and lead_id:
        await uow.contacts.set_owner(occ.tenant_id, lead_id, f.get("owner_id"), now)
    elif occ.event_type == "appointment.confirmed":
        appointment_id = str(f["appointment_id"])
        reminder = await uow.messages.last_reminder(occ.tenant_id, occ.subject)
        await uow.confirmations.record(
            occ.tenant_id,
            appointment_id,
            str(f.get("via") or "unknown"),
            reminder.rule_key if reminder else None,
            reminder.channel if reminder else None,
            now,
        )


async def _person(uow: NotificationsWork, occ: events.Occurrence) -> dict[str, Any] | None:
    """The event's person, completed from the contact copy (lead.status_changed carries only the lead id)."""
    person = dict(occ.person or {})
    lead_id = person.get("lead_id")
    if lead_id and not person.get("phone"):
        contact = await uow.contacts.get(occ.tenant_id, lead_id)
        if contact:
            for key in ("name", "phone", "email", "locale", "patient_id"):
                person[key] = person.get(key) or contact.get(key)
    return person or None


async def _recipients(
    uow: NotificationsWork, rule: Rule, occ: events.Occurrence, person: dict[str, Any] | None
) -> list[str]:
    if rule.recipient == PERSON:
        return [PERSON] if person else []
    if rule.recipient == OWNER:
        owner = occ.owner_id
        lead_id = (person or {}).get("lead_id")
        if lead_id:
            contact = await uow.contacts.get(occ.tenant_id, lead_id)
            owner = (contact or {}).get("owner_id") or owner
        who = owner or occ.actor_id
        return [f"{USER_PREFIX}{who}"] if who else []
    if rule.recipient == ACTOR:
        return [f"{USER_PREFIX}{occ.actor_id}"] if occ.actor_id else []
    if rule.recipient.startswith(FIELD_PREFIX):
        named = occ.fields.get(rule.recipient[len(FIELD_PREFIX) :])
        return [f"{USER_PREFIX}{named}"] if isinstance(named, str) and named else []
    return [rule.recipient]


async def _addresses(
    uow: NotificationsWork, tenant_id: str, person: dict[str, Any], channels: Sequence[str]
) -> dict[str, str]:
    out: dict[str, str] = {}
    phone = person.get("phone")
    known: dict[str, str] = {}
    if TELEGRAM in channels or INSTAGRAM in channels:
        conv = await uow.conversations.find(
            tenant_id, lead_id=person.get("lead_id"), patient_id=person.get("patient_id"), addresses=[]
        )
        if conv:
            known = {a["channel"]: a["address"] for a in await uow.conversations.addresses(str(conv["id"]))}
    for channel in channels:
        if channel in (WHATSAPP, SMS) and phone:
            out[channel] = e164(phone)
        elif channel == EMAIL and person.get("email"):
            out[channel] = str(person["email"])
        elif channel in known:
            out[channel] = known[channel]
    return out


async def _conversation_for(
    uow: NotificationsWork, tenant_id: str, person: dict[str, Any], addresses: Mapping[str, str], now: datetime
) -> str:
    """One conversation per person across channels: found by lead, patient or address, else opened."""
    convs = uow.conversations
    pairs = [(c, a) for c, a in addresses.items()]
    found = await convs.find(
        tenant_id, lead_id=person.get("lead_id"), patient_id=person.get("patient_id"), addresses=pairs
    )
    if found:
        conversation_id = str(found["id"])
        await convs.link(
            conversation_id, lead_id=person.get("lead_id"), patient_id=person.get("patient_id"), name=person.get("name")
        )
    else:
        conversation_id = context.new_id()
        await convs.create(
            conversation_id,
            tenant_id,
            lead_id=person.get("lead_id"),
            patient_id=person.get("patient_id"),
            name=person.get("name"),
            now=now,
        )
    await convs.add_addresses(tenant_id, conversation_id, pairs)
    return conversation_id


async def _queue(
    uow: NotificationsWork,
    occ: events.Occurrence,
    rule: Rule,
    recipient: str,
    person: dict[str, Any] | None,
    config: ClinicConfig,
    now: datetime,
) -> Message | None:
    staff = is_staff_recipient(recipient)
    who = {} if staff else (person or {})
    locale = config.locale if staff else choose_locale(who.get("locale"), config.locale)
    addresses = {INAPP: recipient} if staff else await _addresses(uow, occ.tenant_id, who, rule.channels)
    channels = tuple(c for c in rule.channels if c in addresses)
    error: str | None = None
    renders: dict[str, dict[str, Any]] = {}
    values = events.variables(occ, person, locale, config.timezone)
    for channel in channels:
        try:
            src = await _once(
                uow,
                ("template", occ.tenant_id, rule.template, locale, channel, config.locale),
                partial(template_source, uow, occ.tenant_id, rule.template, locale, channel, config.locale),
            )
            values_here = events.variables(occ, person, src.locale, config.timezone) if src.locale != locale else values
            renders[channel] = rendering.for_channel(
                channel,
                template=rule.template,
                locale=src.locale,
                body_source=src.body,
                subject_source=src.subject,
                values=values_here,
                actions=occ.actions,
                wa_template=src.wa_template,
            )
        except (InvalidTemplate, TemplateNotFound) as exc:
            # A template that fails to render fails its message (visible to staff), never the partition.
            error = f"template {rule.template!r} ({channel}, {locale}): {exc}"
            break
    if not channels:
        error = f"no address for any of {', '.join(rule.channels)}"
    first = channels[0] if channels else rule.channels[0]
    due = now + timedelta(seconds=rule.delay_seconds)
    if rule.quiet_hours and not staff:
        due = defer_for_quiet_hours(due, config.quiet, config.timezone)
    message = Message(
        id=context.new_id(),
        tenant_id=occ.tenant_id,
        lead_id=who.get("lead_id") if not staff else (person or {}).get("lead_id"),
        patient_id=(person or {}).get("patient_id"),
        channel=first,
        to=addresses.get(first, ""),
        template=rule.template,
        locale=locale,
        body=str(renders.get(first, {}).get("body", "")),
        subject=renders.get(first, {}).get("subject"),
        status=FAILED if error else QUEUED,
        attempts=0,
        last_error=error,
        provider=None,
        provider_message_id=None,
        correlation_id=context.current_correlation_id(),
        causation_id=occ.event_id,
        created_at=now,
        updated_at=now,
        next_attempt_at=due,
        rule_key=rule.key,
        recipient=recipient,
        event_type=occ.event_type,
        dedupe_key=f"{occ.event_id}:{rule.key}:{recipient}",
        channels=channels,
        addresses=addresses,
        renders=renders,
        cancel_key=occ.subject,
        cancel_on=rule.cancel_on,
    )
    if not staff and channels:
        message = replace(message, conversation_id=await _conversation_for(uow, occ.tenant_id, who, addresses, now))
    if not await uow.messages.add(message):
        return None  # this event already made this rule's message for this recipient
    if error:
        log.warning("message %s of rule %s failed before sending: %s", message.id, rule.key, error)
        _publish_failed(uow, message)
    return message


def _publish_failed(uow: NotificationsWork, message: Message) -> None:
    with _caused_by(message):
        uow.publish(
            MessageFailedV1(
                message_id=message.id,
                lead_id=message.lead_id,
                channel=message.channel,
                to=message.to,
                template=message.template,
                reason=message.last_error or "unknown",
                attempts=message.attempts,
                failed_at=message.updated_at,
            ),
            tenant_id=message.tenant_id,
        )


# --- the dispatcher ----------------------------------------------------------------------------------
def idempotency_key(message: Message) -> str:
    """The same on every resend of one channel step; the message id alone for the first (as before)."""
    return message.id if message.step == 0 else f"{message.id}:{message.step}"


def outgoing(message: Message, *, in_window: bool) -> Outgoing | str:
    """What to hand the channel, or why it cannot take it (the rule then falls back to its next channel)."""
    render = dict(message.renders.get(message.channel, {}))
    body = str(render.get("body") or message.body)
    buttons = list(render.get("buttons", []))
    template = None
    if message.channel == WHATSAPP and not in_window:
        if not render.get("wa"):
            return "outside the WhatsApp 24-hour window and no approved template"
        template = dict(render["wa"])
    return Outgoing(
        channel=message.channel,
        to=message.to,
        body=body,
        subject=render.get("subject") or message.subject,
        buttons=buttons,
        template=template,
        idempotency_key=idempotency_key(message),
        list_button=render.get("list_button"),
    )


@dataclass(frozen=True)
class Claimed:
    """A leased message with what the batch learnt about it: consent and the WhatsApp window."""

    message: Message
    opted_out: bool
    in_window: bool


class Dispatcher:
    """kit's LeaseDispatcher over the messages table: lease a batch of due messages (one transaction, with the
    batch's consent and WhatsApp windows in two more queries), send them concurrently, record every outcome of
    the round with its outbox events in one transaction. In-app notifications are written in that transaction
    and announced on Redis after it commits. A worker that dies mid-round leaves its messages leased; they are
    sent again (same idempotency key) when the lease ends."""

    def __init__(
        self,
        uow_factory: NotificationsWorkFactory,
        adapters: Mapping[str, ChannelAdapter],
        *,
        publisher: Publisher | None = None,
        batch_size: int = 200,
        concurrency: int = 64,
        lease: timedelta = timedelta(seconds=30),
    ) -> None:
        self.adapters = dict(adapters)
        self.publisher = publisher
        self.lease = lease
        self._announce: list[Message] = []
        self._touched: list[Message] = []  # sent or failed in a conversation: its open screens re-read it
        self.rounds = LeaseDispatcher(
            "notifications.messages",
            # kit's dispatcher speaks of kit's unit of work; ours is one (NotificationsUnitOfWork) with repositories.
            cast(UnitOfWorkFactory, uow_factory),
            claim=cast(Callable[[UnitOfWork, int], Awaitable[list[Claimed]]], self._claim),
            handle=self._attempt,
            record=cast(Callable[[UnitOfWork, list[Message]], Awaitable[None]], self._record),
            batch_size=batch_size,
            concurrency=concurrency,
            service="notifications",
        )

    async def dispatch_due(self) -> int:
        """One round; how many messages it claimed."""
        claimed = await self.rounds.run_once()
        await self._announce_inapp()
        return claimed

    async def _claim(self, uow: NotificationsWork, limit: int) -> list[Claimed]:
        now = clock()
        claimed = await uow.messages.claim_due(now, limit=limit, lease=self.lease)
        opted_out = await uow.opt_outs.opted_out((m.tenant_id, m.channel, m.to) for m in claimed)
        withdrawn = await consent.blocked(uow, claimed)  # the consent ledger's withdrawals (notifications.consent)
        windows = await uow.conversations.last_inbound(
            (m.tenant_id, WHATSAPP, m.to) for m in claimed if m.channel == WHATSAPP
        )
        return [
            Claimed(
                m,
                (m.tenant_id, m.channel, m.to) in opted_out or m.id in withdrawn,
                within_whatsapp_window(windows.get((m.tenant_id, WHATSAPP, m.to)), now),
            )
            for m in claimed
        ]

    async def _attempt(self, item: Claimed) -> Message:
        message, now = item.message, clock()
        if message.channel == INAPP:
            return mark_sent(message, "inapp", message.id, now)
        if item.opted_out:
            return mark_attempt_failed(message, f"the person opted out of {message.channel}", permanent=True, now=now)
        adapter = self.adapters.get(message.channel)
        if adapter is None:
            return mark_attempt_failed(message, f"no {message.channel} provider is configured", permanent=True, now=now)
        out = outgoing(message, in_window=item.in_window)
        if isinstance(out, str):
            return mark_attempt_failed(message, out, permanent=True, now=now)
        try:
            result = await adapter.send(out)
        except ProviderError as exc:
            log.warning("sending message %s on %s failed: %s", message.id, message.channel, exc)
            return mark_attempt_failed(message, str(exc), permanent=exc.permanent, now=clock())
        return mark_sent(message, result.provider, result.provider_message_id, clock())

    async def _record(self, uow: NotificationsWork, outcomes: list[Message]) -> None:
        done = [replace(m, leased_until=None) for m in outcomes]
        inapp = [m for m in done if m.channel == INAPP and m.status == SENT]
        await uow.messages.save_many(done)
        await uow.inapp.add_many([_inapp_row(m) for m in inapp])
        for outcome in done:
            if outcome.status == SENT:
                _publish_sent(uow, outcome)
            elif outcome.status == FAILED:
                _publish_failed(uow, outcome)
        self._announce.extend(inapp)
        self._touched.extend(m for m in done if m.conversation_id)

    async def _announce_inapp(self) -> None:
        pending, self._announce = self._announce, []
        touched, self._touched = self._touched, []
        for key in dict.fromkeys((m.tenant_id, m.conversation_id, m.channel) for m in touched):
            await announce_conversation(self.publisher, key[0], key[1] or "", key[2], "outbound")
        if self.publisher is None:
            return
        for m in pending:
            try:
                await self.publisher.publish(inapp_channel(m.tenant_id), json.dumps(_inapp_view(_inapp_row(m))))
            except Exception:  # the row is stored; a screen that missed the push sees it on its next read
                log.warning("could not announce in-app notification %s", m.id, exc_info=True)


def _inapp_row(m: Message) -> dict[str, Any]:
    render = m.renders.get(INAPP, {})
    return {
        "id": m.id,
        "tenant_id": m.tenant_id,
        "audience": m.to,
        "title": str(render.get("subject") or m.subject or m.template),
        "body": m.body,
        "lead_id": m.lead_id,
        "patient_id": m.patient_id,
        "subject": m.cancel_key or m.event_type,
        "created_at": m.sent_at or m.updated_at,
    }


def _inapp_view(row: Mapping[str, Any]) -> dict[str, Any]:
    created = row["created_at"]
    return {
        "id": str(row["id"]),
        "audience": row["audience"],
        "title": row["title"],
        "body": row["body"],
        "lead_id": str(row["lead_id"]) if row.get("lead_id") else None,
        "patient_id": str(row["patient_id"]) if row.get("patient_id") else None,
        "subject": row.get("subject"),
        "created_at": created.isoformat() if isinstance(created, datetime) else created,
        "read_at": row["read_at"].isoformat() if isinstance(row.get("read_at"), datetime) else None,
    }


def _publish_sent(uow: NotificationsWork, m: Message) -> None:
    assert m.provider
    assert m.provider_message_id
    assert m.sent_at
    with _caused_by(m):
        uow.publish(
            MessageSentV1(
                message_id=m.id,
                lead_id=m.lead_id,
                channel=m.channel,
                to=m.to,
                template=m.template,
                locale=m.locale,
                provider=m.provider,
                provider_message_id=m.provider_message_id,
                sent_at=m.sent_at,
                **_suggestion_fields(m),
            ),
            tenant_id=m.tenant_id,
        )


def _suggestion_fields(m: Message) -> dict[str, Any]:
    if not m.suggestion:
        return {}
    return {
        "suggestion_id": str(m.suggestion["id"]),
        "suggestion_use": m.suggestion.get("use"),
        "suggestion_model": m.suggestion.get("model"),
        "suggestion_tokens": m.suggestion.get("tokens"),
    }


# --- provider webhooks ------------------------------------------------------------------------------
class MediaSource(Protocol):
    async def fetch(self, media_id: str) -> tuple[bytes, str]: ...


#: How long the consumers of message.received can download a medium through the event's URL.
MEDIA_URL_SECONDS = 24 * 3600


#: Fetch attempts of a medium the provider could not give for now (then the message goes out without it).
MEDIA_ATTEMPTS = 5


async def fetch_media_due(
    uow_factory: NotificationsWorkFactory, source: MediaSource, store: ObjectStore, *, limit: int = 20
) -> int:
    """Worker step: the media of stored inbound messages fetched from the provider (whose URLs expire in minutes)
    into the object store, then their message.received published with presigned URLs, in one transaction per
    batch (the rows are locked, `SKIP LOCKED`: a second worker takes others; a crash leaves them due). A medium the
    provider refuses, or that still fails after MEDIA_ATTEMPTS tries, leaves the message without it (logged), never
    lost; a transient failure tries the message again later. Returns how many messages were handled."""
    now = clock()
    async with uow_factory() as uow:
        rows = await uow.inbound.due_media(now, limit)
        for row in rows:
            fetched = await _fetch_media(row, source, store)
            if fetched is None:
                attempts = int(row["media_attempts"]) + 1
                await uow.inbound.media_retry(str(row["id"]), attempts, now + timedelta(seconds=2**attempts))
                continue
            await uow.inbound.media_fetched(str(row["id"]), [kept for kept, _ in fetched])
            pending = row["pending_event"]
            event = msgspec.json.decode(json.dumps(pending["event"]).encode(), type=MessageReceivedV1)
            event = msgspec.structs.replace(event, media=[m for _, m in fetched])
            token = context.correlation_id.set(pending.get("correlation_id") or context.new_id())
            try:
                uow.publish(event, tenant_id=str(row["tenant_id"]))
            finally:
                context.correlation_id.reset(token)
        await uow.commit()
    return len(rows)


async def _fetch_media(
    row: Mapping[str, Any], source: MediaSource, store: ObjectStore
) -> list[tuple[dict[str, Any], MessageMedia]] | None:
    """Each medium of the row as kept and as announced; None: a transient failure, try the message again."""
    out: list[tuple[dict[str, Any], MessageMedia]] = []
    last_try = int(row["media_attempts"]) + 1 >= MEDIA_ATTEMPTS
    for n, medium in enumerate(row["media"] or []):
        kept = dict(medium)
        if not kept.get("object_key") and kept.get("provider_media_id"):
            # Keyed by the provider's message id: a second try writes the same object again.
            key = f"notifications/media/{row['provider']}/{row['provider_message_id']}/{n}"
            try:
                data, content_type = await source.fetch(str(kept["provider_media_id"]))
                stored = await store.put(key, data, content_type=content_type.split(";")[0].strip())
            except ProviderError as exc:
                if not exc.permanent and not last_try:
                    return None
                log.warning("medium %s of %s not fetched: %s", n, row["provider_message_id"], exc)
            except ObjectStoreError as exc:
                if not last_try:
                    return None
                log.warning("medium %s of %s not stored: %s", n, row["provider_message_id"], exc)
            else:
                kept |= {
                    "object_key": stored.key, "size": stored.size, "sha256": stored.sha256,
                    "content_type": stored.content_type,
                }  # fmt: skip
        url = expires = None
        if kept.get("object_key"):
            try:
                url = await store.presigned_get(kept["object_key"], expires_seconds=MEDIA_URL_SECONDS)
                expires = clock() + timedelta(seconds=MEDIA_URL_SECONDS)
            except ObjectStoreError as exc:
                log.warning("no link to medium %s: %s", kept["object_key"], exc)
        out.append(
            (
                kept,
                MessageMedia(
                    kind=kept["kind"], content_type=kept["content_type"], size=kept.get("size"),
                    sha256=kept.get("sha256"), url=url, url_expires_at=expires, caption=kept.get("caption"),
                ),
            )
        )  # fmt: skip
    return out


async def receive(
    uow_factory: NotificationsWorkFactory,
    inbound: Sequence[Inbound],
    receipts: Sequence[Receipt] = (),
    *,
    delivery: webhooks.Delivery | None = None,
    receipt_key: tuple[str, str, str] | None = None,
    announce: Publisher | None = None,
) -> int:
    """`_receive_once`, run again when PostgreSQL rolls it back as a deadlock's victim (two deliveries of one
    conversation at once), so the provider never sees a 500 for it."""
    return await retrying(
        lambda: _receive_once(
            uow_factory, inbound, receipts, delivery=delivery, receipt_key=receipt_key, announce=announce
        )
    )


async def _receive_once(
    uow_factory: NotificationsWorkFactory,
    inbound: Sequence[Inbound],
    receipts: Sequence[Receipt] = (),
    *,
    delivery: webhooks.Delivery | None = None,
    receipt_key: tuple[str, str, str] | None = None,
    announce: Publisher | None = None,
) -> int:
    """A provider delivery, in one transaction: replies and taps -> conversation + message.received; receipts ->
    delivered / read / failed (a failed one falls back to the rule's next channel). Returns what was new.
    With `announce`, each touched conversation is announced on the in-app stream after the commit."""
    now = clock()
    new = 0
    touched: list[tuple[str, str, str, str]] = []
    async with uow_factory() as uow:
        if delivery is not None and receipt_key is not None:
            provider, scope, event_id = receipt_key
            # kit's receipt store, in this unit of work: a redelivery of a handled event does nothing.
            if not await uow.receipts.record(delivery, provider=provider, scope=scope, event_id=event_id):
                return 0
        ids = [i.reply_to for i in inbound if i.reply_to] + [r.provider_message_id for r in receipts]
        ours = await uow.messages.by_provider_ids(ids)
        for item in inbound:
            new += await _receive_one(uow, item, ours.get(item.reply_to or ""), now, touched)
        changed: dict[str, Message] = {}
        steps = 0
        for receipt in receipts:
            message = ours.get(receipt.provider_message_id)
            updated = apply_status(message, receipt.status, receipt.at) if message else None
            if message is None or updated is None:
                continue
            if updated.status == FAILED:
                reason = receipt.error or "the provider reported the message undelivered"
                updated = fall_back(message, reason, now) or replace(updated, last_error=reason, updated_at=now)
            # Later receipts of the same delivery see this state (delivered then read, then a late delivered).
            ours[receipt.provider_message_id] = changed[updated.id] = updated
            steps += 1
            _publish_receipt(uow, updated)
            if updated.conversation_id:
                touched.append((updated.tenant_id, updated.conversation_id, updated.channel, "outbound"))
        await uow.messages.save_many(list(changed.values()))
        await uow.commit()
    for tenant_id, conversation_id, channel, direction in dict.fromkeys(touched):
        await announce_conversation(announce, tenant_id, conversation_id, channel, direction)
    return new + steps


def _publish_receipt(uow: NotificationsWork, m: Message) -> None:
    with _caused_by(m):
        if m.status == DELIVERED and m.delivered_at:
            uow.publish(
                MessageDeliveredV1(
                    message_id=m.id,
                    lead_id=m.lead_id,
                    patient_id=m.patient_id,
                    channel=m.channel,
                    provider_message_id=m.provider_message_id or "",
                    delivered_at=m.delivered_at,
                ),
                tenant_id=m.tenant_id,
            )
        elif m.status == READ and m.read_at:
            uow.publish(
                MessageReadV1(
                    message_id=m.id,
                    lead_id=m.lead_id,
                    patient_id=m.patient_id,
                    channel=m.channel,
                    provider_message_id=m.provider_message_id or "",
                    read_at=m.read_at,
                ),
                tenant_id=m.tenant_id,
            )
        elif m.status == FAILED:
            _publish_failed(uow, m)


async def _receive_one(
    uow: NotificationsWork,
    item: Inbound,
    answered: Message | None,
    now: datetime,
    touched: list[tuple[str, str, str, str]],
) -> int:
    tenant_id = answered.tenant_id if answered else await uow.accounts.tenant_for(item.channel, item.account_id)
    if tenant_id is None:
        log.warning("inbound %s message to unknown account %s dropped", item.channel, item.account_id)
        return 0
    convs = uow.conversations
    senders = phone_variants(item.sender) if item.channel in (WHATSAPP, SMS) else (item.sender,)
    pairs = [(item.channel, s) for s in senders]
    if item.channel in (WHATSAPP, SMS):
        pairs += [(SMS if item.channel == WHATSAPP else WHATSAPP, s) for s in senders]
    found = await convs.find(
        tenant_id,
        lead_id=answered.lead_id if answered else None,
        patient_id=answered.patient_id if answered else None,
        addresses=pairs,
    )
    if found is None and answered and answered.conversation_id:
        found = await convs.get(tenant_id, answered.conversation_id)
    if found:
        conversation_id = str(found["id"])
    else:
        conversation_id = context.new_id()
        await convs.create(conversation_id, tenant_id, lead_id=None, patient_id=None, name=item.sender_name, now=now)
    message_id = context.new_id()
    # Providers stamp whole seconds; a fresh delivery takes our clock so the conversation keeps its order
    # (a reply is never shown before the message it answers), a late redelivery keeps the provider's time.
    received_at = item.received_at if item.received_at < now - timedelta(seconds=2) else now
    item = replace(item, received_at=received_at)
    added = await uow.inbound.add(
        id=message_id,
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        channel=item.channel,
        sender=item.sender,
        sender_name=item.sender_name,
        text=item.text,
        button_id=item.button_id,
        reply_to_message_id=answered.id if answered else None,
        provider=item.provider,
        provider_message_id=item.provider_message_id,
        received_at=item.received_at,
        media=[_kept_medium(m) for m in item.media],
    )
    if not added:
        return 0  # the provider delivered this message before
    # The sender's own address: the known one when the ninth digit differs, else what they wrote from.
    address = answered.to if answered and answered.channel == item.channel else item.sender
    await convs.touch_inbound(tenant_id, item.channel, address, conversation_id, item.received_at)
    consent = consent_change(item.text) if item.button_id is None else None
    if consent is False:
        await uow.opt_outs.add(tenant_id, item.channel, address, "inbound", now)
    elif consent is True:
        await uow.opt_outs.remove(tenant_id, item.channel, address)
    lead_id = (found or {}).get("lead_id")
    patient_id = (found or {}).get("patient_id")
    if consent is not None:  # the consent ledger records it too (privacy consumes channel_consent.changed)
        _publish_channel_consent(
            uow,
            tenant_id,
            ChannelConsentChangedV1(
                change_id=context.new_id(),
                lead_id=str(lead_id) if lead_id else None,
                patient_id=str(patient_id) if patient_id else None,
                conversation_id=conversation_id,
                channel=item.channel,
                address=address,
                opted_in=consent,
                how="start_word" if consent else "stop_word",
                text=item.text,
                message_id=message_id,
                at=now,
            ),
        )
    event = MessageReceivedV1(
        conversation_id=conversation_id,
        message_id=message_id,
        lead_id=str(lead_id) if lead_id else None,
        patient_id=str(patient_id) if patient_id else None,
        channel=item.channel,
        sender=address,
        sender_name=item.sender_name,
        text=item.text,
        button_id=item.button_id,
        reply_to_message_id=answered.id if answered else None,
        consent=consent,
        provider=item.provider,
        provider_message_id=item.provider_message_id,
        received_at=item.received_at,
        media=[
            MessageMedia(
                kind=m.kind, content_type=m.content_type, size=m.size, sha256=m.sha256, url=m.url,
                url_expires_at=m.url_expires_at, caption=m.caption,
            )
            for m in item.media
        ],
    )  # fmt: skip
    if any(m.object_key is None and m.provider_media_id for m in item.media):
        # The provider's media are fetched by the worker (fetch_media_due), not in the webhook's request: the
        # message is stored now and message.received published once they are in the object store.
        pending = {"event": json.loads(msgspec.json.encode(event)), "correlation_id": context.current_correlation_id()}
        await uow.inbound.hold_for_media(message_id, pending, now)
    else:
        uow.publish(event, tenant_id=tenant_id)
    touched.append((tenant_id, conversation_id, item.channel, "inbound"))
    return 1


async def _viewed_medium(m: dict[str, Any], store: ObjectStore | None) -> dict[str, Any]:
    url = None
    if store is not None and m.get("object_key"):
        try:
            url = await store.presigned_get(m["object_key"], expires_seconds=MEDIA_VIEW_SECONDS)
        except ObjectStoreError as exc:
            log.warning("no link to medium %s: %s", m["object_key"], exc)
    return {k: m.get(k) for k in ("kind", "content_type", "size", "caption")} | {"url": url}


def _kept_medium(m: InboundMedia) -> dict[str, Any]:
    """What the conversation keeps of a medium (the staff's view presigns `object_key` when it is read)."""
    return {
        "kind": m.kind, "content_type": m.content_type, "size": m.size, "sha256": m.sha256, "caption": m.caption,
        "object_key": m.object_key, "provider_media_id": m.provider_media_id,
    }  # fmt: skip


# --- what staff read and configure ---------------------------------------------------------------
async def messages_for_lead(uow_factory: NotificationsWorkFactory, principal: Principal, lead_id: str) -> list[Message]:
    async with uow_factory() as uow:
        return await uow.messages.for_lead(principal.tenant_id, lead_id)


async def list_templates(uow_factory: NotificationsWorkFactory, principal: Principal) -> list[dict[str, Any]]:
    """Every built-in (name, locale) on WhatsApp with the clinic's text where it has one, plus every clinic row."""
    async with uow_factory() as uow:
        own = await uow.templates.all_for(principal.tenant_id)
    by_key = {(r["name"], r["locale"], r["channel"]): r for r in own}
    out: list[dict[str, Any]] = []
    for name in TEMPLATE_NAMES:
        spec = TEMPLATES[name]
        for locale in LOCALES:
            row = by_key.pop((name, locale, CHANNEL), None)
            out.append(
                {
                    "name": name,
                    "locale": locale,
                    "channel": CHANNEL,
                    "body": row["body"] if row else spec.texts[locale],
                    "subject": row["subject"] if row else spec.subjects.get(locale),
                    "wa_template": (row or {}).get("wa_template") or spec.wa_template,
                    "customised": row is not None,
                    "event_type": spec.event_type,
                    "variables": list(spec.variables),
                }
            )
    for (name, locale, channel), row in sorted(by_key.items()):
        spec_ = TEMPLATES.get(name)
        out.append(
            {
                "name": name,
                "locale": locale,
                "channel": channel,
                "body": row["body"],
                "subject": row["subject"],
                "wa_template": row["wa_template"],
                "customised": True,
                "event_type": spec_.event_type if spec_ else None,
                "variables": list(rendering.variables_of(name)),
            }
        )
    return out


async def set_template(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    name: str,
    locale: str,
    body: str,
    *,
    channel: str = CHANNEL,
    subject: str | None = None,
    wa_template: str | None = None,
) -> None:
    check_template_key(name, locale)
    check_channel(channel)
    rendering.validate(body, name)
    if subject is not None:
        rendering.validate(subject, name, field="subject")
    async with uow_factory() as uow:
        await uow.templates.upsert(
            tenant_id=principal.tenant_id,
            name=name,
            locale=locale,
            channel=channel,
            body=body,
            subject=subject,
            wa_template=wa_template,
            user_id=principal.user_id,
            now=clock(),
        )
        await uow.commit()


async def reset_template(
    uow_factory: NotificationsWorkFactory, principal: Principal, name: str, locale: str, channel: str = CHANNEL
) -> None:
    check_template_key(name, locale)
    async with uow_factory() as uow:
        if not await uow.templates.delete(tenant_id=principal.tenant_id, name=name, locale=locale, channel=channel):
            raise TemplateNotFound(f"The clinic has no own {name}/{locale} template; the built-in one is used.")
        await uow.commit()


async def preview(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    name: str,
    locale: str,
    channel: str,
    body: str | None,
    subject: str | None,
) -> dict[str, Any]:
    """The template (or the given draft) rendered with sample data, as the channel would send it."""
    check_template_key(name, locale)
    check_channel(channel)
    if body is None:
        async with uow_factory() as uow:
            src = await template_source(uow, principal.tenant_id, name, locale, channel, principal.locale)
        body, subject, wa = src.body, subject or src.subject, src.wa_template
    else:
        spec = TEMPLATES.get(name)
        wa = spec.wa_template if spec else None
        subject = subject or (spec.subjects.get(locale) if spec else None)
    values = rendering.sample_values(name)
    actions = [
        {"id": f"appt:<id>:{kind}", "kind": kind, "url": f"https://clinic.example/p/{kind}/abc"}
        for kind in (TEMPLATES[name].buttons if name in TEMPLATES else {})
    ]
    out = rendering.for_channel(
        channel,
        template=name,
        locale=locale,
        body_source=body,
        subject_source=subject,
        values=values,
        actions=actions,
        wa_template=wa,
    )
    return {"channel": channel, "locale": locale, "variables": values, **out}


def _rule_from(data: Mapping[str, Any], key: str) -> Rule:
    return Rule(
        key=key,
        event_type=str(data["event_type"]),
        template=str(data["template"]),
        channels=tuple(data["channels"]),
        recipient=str(data.get("recipient") or PERSON),
        conditions=dict(data.get("conditions") or {}),
        delay_seconds=int(data.get("delay_seconds") or 0),
        quiet_hours=bool(data.get("quiet_hours", True)),
        cancel_on=tuple(data.get("cancel_on") or ()),
        enabled=bool(data.get("enabled", True)),
    )


async def list_rules(uow_factory: NotificationsWorkFactory, principal: Principal) -> list[Rule]:
    async with uow_factory() as uow:
        return await effective_rules(uow, principal.tenant_id)


async def put_rule(
    uow_factory: NotificationsWorkFactory, principal: Principal, key: str, data: Mapping[str, Any]
) -> Rule:
    rule = _rule_from(data, key)
    check_rule(rule, events.EVENT_TYPES)
    if rule.template not in TEMPLATE_NAMES and not is_clinic_template(rule.template):
        raise InvalidInput(f"Unknown template {rule.template!r}.", field="template")
    async with uow_factory() as uow:
        await uow.rules.upsert(principal.tenant_id, rule, principal.user_id, clock())
        await uow.commit()
    return replace(rule, builtin=any(d.key == key for d in DEFAULT_RULES))


async def set_rule_enabled(
    uow_factory: NotificationsWorkFactory, principal: Principal, key: str, enabled: bool
) -> Rule:
    async with uow_factory() as uow:
        rule = next((r for r in await effective_rules(uow, principal.tenant_id) if r.key == key), None)
        if rule is None:
            raise NotFound(f"No rule {key!r}.", field="key")
        rule = replace(rule, enabled=enabled)
        await uow.rules.upsert(principal.tenant_id, rule, principal.user_id, clock())
        await uow.commit()
    return rule


async def delete_rule(uow_factory: NotificationsWorkFactory, principal: Principal, key: str) -> None:
    """A clinic's own rule goes; a changed default goes back to the seeded one."""
    async with uow_factory() as uow:
        if not await uow.rules.delete(principal.tenant_id, key):
            raise NotFound(f"The clinic has no own rule {key!r}.", field="key")
        await uow.commit()


async def get_settings(uow_factory: NotificationsWorkFactory, principal: Principal) -> ClinicConfig:
    async with uow_factory() as uow:
        row = await uow.settings.get(principal.tenant_id)
        config = await clinic_config(uow, principal.tenant_id)
    return config if row else ClinicConfig(principal.timezone, choose_locale(principal.locale), None)


async def put_settings(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    *,
    timezone: str,
    locale: str,
    quiet_start: str | None,
    quiet_end: str | None,
) -> ClinicConfig:
    check_timezone(timezone)
    if locale not in LOCALES:
        raise InvalidInput(f"Unsupported locale {locale!r}; use one of: {', '.join(LOCALES)}.", field="locale")
    if (quiet_start is None) != (quiet_end is None):
        raise InvalidInput("Give both ends of the quiet hours, or neither.", field="quiet_start")
    try:
        start, end = _parse_time(quiet_start), _parse_time(quiet_end)
    except ValueError as exc:
        raise InvalidInput("Quiet hours are HH:MM local times.", field="quiet_start") from exc
    quiet = QuietHours(start, end) if start and end else None
    async with uow_factory() as uow:
        await uow.settings.upsert(principal.tenant_id, timezone=timezone, locale=locale, quiet=quiet, now=clock())
        await uow.commit()
    return ClinicConfig(timezone, locale, quiet)


def _address(channel: str, address: str) -> str:
    check_channel(channel)
    if channel == INAPP:
        raise InvalidInput("Staff do not opt out of in-app notifications.", field="channel")
    return e164(address) if channel in (WHATSAPP, SMS) else address.strip()


def _publish_channel_consent(uow: NotificationsWork, tenant_id: str, change: ChannelConsentChangedV1) -> None:
    uow.publish(change, tenant_id=tenant_id)


def _staff_change(principal: Principal, channel: str, address: str, *, opted_in: bool) -> ChannelConsentChangedV1:
    return ChannelConsentChangedV1(
        change_id=context.new_id(),
        channel=channel,
        address=address,
        opted_in=opted_in,
        how="staff",
        staff_id=principal.user_id,
        at=clock(),
    )


async def opt_out(uow_factory: NotificationsWorkFactory, principal: Principal, channel: str, address: str) -> str:
    """Staff opt an address out of a channel; the consent ledger records it too (channel_consent.changed)."""
    normalised = _address(channel, address)
    async with uow_factory() as uow:
        await uow.opt_outs.add(principal.tenant_id, channel, normalised, f"staff:{principal.user_id}", clock())
        _publish_channel_consent(
            uow, principal.tenant_id, _staff_change(principal, channel, normalised, opted_in=False)
        )
        await uow.commit()
    return normalised


async def opt_in(uow_factory: NotificationsWorkFactory, principal: Principal, channel: str, address: str) -> None:
    normalised = _address(channel, address)
    async with uow_factory() as uow:
        if not await uow.opt_outs.remove(principal.tenant_id, channel, normalised):
            raise NotFound(f"{normalised} has not opted out of {channel}.", field="address")
        _publish_channel_consent(uow, principal.tenant_id, _staff_change(principal, channel, normalised, opted_in=True))
        await uow.commit()


async def list_opt_outs(uow_factory: NotificationsWorkFactory, principal: Principal) -> list[dict[str, Any]]:
    async with uow_factory() as uow:
        return await uow.opt_outs.list(principal.tenant_id)


async def connect_account(
    uow_factory: NotificationsWorkFactory, principal: Principal, channel: str, account_id: str
) -> None:
    """Route inbound messages to this clinic's account (WhatsApp phone number id, SMS number, ...) to the clinic."""
    check_channel(channel)
    if channel in (INAPP, EMAIL):
        raise InvalidInput("Only WhatsApp, SMS, Telegram and Instagram receive messages.", field="channel")
    account = e164(account_id) if channel == SMS else account_id.strip()
    if not account:
        raise InvalidInput("The account id must not be empty.", field="account_id")
    async with uow_factory() as uow:
        if not await uow.accounts.upsert(channel, account, principal.tenant_id, clock()):
            raise InvalidInput("This account is connected to another clinic.", field="account_id")
        await uow.commit()


async def list_accounts(uow_factory: NotificationsWorkFactory, principal: Principal) -> list[dict[str, Any]]:
    async with uow_factory() as uow:
        return await uow.accounts.for_tenant(principal.tenant_id)


async def conversations_of(
    uow_factory: NotificationsWorkFactory, principal: Principal, *, lead_id: str | None, patient_id: str | None
) -> list[dict[str, Any]]:
    async with uow_factory() as uow:
        return await uow.conversations.for_person(principal.tenant_id, lead_id=lead_id, patient_id=patient_id)


#: How long a medium's link in the staff's conversation view works.
MEDIA_VIEW_SECONDS = 900


async def conversation(
    uow_factory: NotificationsWorkFactory, principal: Principal, conversation_id: str, store: ObjectStore | None = None
) -> dict[str, Any]:
    """The person's history across channels, oldest first: what the clinic sent and what the person wrote (with
    a short-lived link to each photo or document they sent)."""
    async with uow_factory() as uow:
        return await _history(uow, principal.tenant_id, conversation_id, store)


async def _history(
    uow: NotificationsWork, tenant_id: str, conversation_id: str, store: ObjectStore | None = None
) -> dict[str, Any]:
    conv = await uow.conversations.get(tenant_id, conversation_id)
    if conv is None:
        raise NotFound("No such conversation.", field="conversation_id")
    addresses = await uow.conversations.addresses(conversation_id)
    outbound = await uow.messages.for_conversation(tenant_id, conversation_id)
    inbound = await uow.inbound.for_conversation(conversation_id)
    items: list[dict[str, Any]] = [
        {
            "direction": "out",
            "id": m.id,
            "channel": m.channel,
            "text": m.body,
            "status": m.status,
            "template": m.template,
            "at": m.sent_at or m.created_at,
            "button_id": None,
            "reply_to_message_id": None,
            "last_error": m.last_error,
        }
        for m in outbound
        if m.status != CANCELLED
    ] + [
        {
            "direction": "in",
            "id": str(i["id"]),
            "channel": i["channel"],
            "text": i["text"],
            "status": "received",
            "template": None,
            "at": i["received_at"],
            "button_id": i["button_id"],
            "reply_to_message_id": str(i["reply_to_message_id"]) if i["reply_to_message_id"] else None,
            "last_error": None,
            "media": [await _viewed_medium(m, store) for m in i.get("media") or []],
            "sender_name": i["sender_name"],
        }
        for i in inbound
    ]
    items.sort(key=lambda x: x["at"])
    return {"conversation": conv, "addresses": addresses, "items": items}


async def reply(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    conversation_id: str,
    text: str,
    channel: str | None,
    suggestion_id: str | None = None,
) -> Message:
    """Staff write to the person on a channel of the conversation (the one they last wrote on by default),
    within its rules: consent, and WhatsApp's 24-hour window for free text. `suggestion_id`: the reply was
    written from the assistant's suggestions (sent as one of them, or edited); message.sent says so."""
    if not text.strip():
        raise InvalidInput("The message must not be empty.", field="text")
    now = clock()
    async with uow_factory() as uow:
        convs = uow.conversations
        conv = await convs.get(principal.tenant_id, conversation_id)
        if conv is None:
            raise NotFound("No such conversation.", field="conversation_id")
        addresses = await convs.addresses(conversation_id)
        if channel is None:
            wrote = sorted((a for a in addresses if a["last_inbound_at"]), key=lambda a: a["last_inbound_at"])
            channel = wrote[-1]["channel"] if wrote else (addresses[0]["channel"] if addresses else WHATSAPP)
        check_channel(channel)
        address = next((a for a in addresses if a["channel"] == channel), None)
        if address is None:
            raise InvalidInput(f"The person has no {channel} address in this conversation.", field="channel")
        if channel == WHATSAPP and not within_whatsapp_window(address["last_inbound_at"], now):
            raise OutsideWindow(
                "WhatsApp accepts free text only within 24 h of the person's last message; use a template rule.",
                field="channel",
            )
        key = (principal.tenant_id, channel, address["address"])
        if key in await uow.opt_outs.opted_out([key]):
            raise InvalidInput(f"The person opted out of {channel}.", field="channel")
        used = await _used_suggestion(uow, principal.tenant_id, conversation_id, suggestion_id, text)
        message = Message(
            id=context.new_id(),
            tenant_id=principal.tenant_id,
            lead_id=str(conv["lead_id"]) if conv["lead_id"] else None,
            patient_id=str(conv["patient_id"]) if conv["patient_id"] else None,
            conversation_id=conversation_id,
            channel=channel,
            to=address["address"],
            template="staff_reply",
            locale=principal.locale,
            body=text,
            status=QUEUED,
            attempts=0,
            last_error=None,
            provider=None,
            provider_message_id=None,
            correlation_id=context.current_correlation_id(),
            causation_id=None,
            created_at=now,
            updated_at=now,
            next_attempt_at=now,
            rule_key="manual",
            recipient=PERSON,
            channels=(channel,),
            addresses={channel: address["address"]},
            renders={channel: {"body": text}},
            suggestion=used,
        )
        await uow.messages.add(message)
        await uow.commit()
    return message


async def _used_suggestion(
    uow: NotificationsWork, tenant_id: str, conversation_id: str, suggestion_id: str | None, text: str
) -> dict[str, Any] | None:
    if suggestion_id is None:
        return None
    row = await uow.assistant.suggestion(tenant_id, suggestion_id)
    if row is None or str(row["conversation_id"]) != conversation_id:
        raise InvalidInput("No such suggestion in this conversation.", field="suggestion_id")
    return {
        "id": suggestion_id,
        "use": suggestions.use_of(text, list(row["texts"])),
        "model": row["model"],
        "tokens": int(row["prompt_tokens"]) + int(row["completion_tokens"]),
    }


async def inapp_list(
    uow_factory: NotificationsWorkFactory, principal: Principal, *, unread_only: bool, limit: int
) -> tuple[list[dict[str, Any]], int]:
    async with uow_factory() as uow:
        repo = uow.inapp
        rows = await repo.list(
            principal.tenant_id, principal.user_id, principal.roles, unread_only=unread_only, limit=limit
        )
        unread = await repo.unread(principal.tenant_id, principal.user_id, principal.roles)
    return [_inapp_view(r) for r in rows], unread


async def inapp_unread(uow_factory: NotificationsWorkFactory, principal: Principal) -> int:
    async with uow_factory() as uow:
        return await uow.inapp.unread(principal.tenant_id, principal.user_id, principal.roles)


async def inapp_mark_read(
    uow_factory: NotificationsWorkFactory, principal: Principal, ids: Sequence[str] | None
) -> int:
    async with uow_factory() as uow:
        marked = await uow.inapp.mark_read(principal.tenant_id, principal.user_id, principal.roles, ids, clock())
        await uow.commit()
    return marked


def inapp_visible(principal: Principal, notification: Mapping[str, Any]) -> bool:
    audience = notification.get("audience")
    return audience == f"{USER_PREFIX}{principal.user_id}" or audience in {f"role:{r}" for r in principal.roles}


async def confirmation_stats(uow_factory: NotificationsWorkFactory, principal: Principal) -> dict[str, Any]:
    async with uow_factory() as uow:
        return await uow.confirmations.stats(principal.tenant_id)


# --- the funnel assistant's messages (contracts.assistant) ----------------------------------------------
# The funnel's pre-qualification assistant writes its own texts (per clinic and locale, docs/funnel.md) and
# asks for them to be sent as they are: no rule, no template; one message per `message_id`, on the channel
# the person wrote from, through the same dispatcher (consent, WhatsApp's window, retries, receipts).
ASSISTANT_RULE = "assistant"


def assistant_render(event: AssistantMessageRequestedV1) -> dict[str, Any]:
    """WhatsApp and Telegram show the choices as taps (a list or reply buttons); elsewhere they are numbered
    lines the person answers by number or title (the assistant accepts both)."""
    choices = [{"id": c.id, "title": c.title} for c in event.options]
    if not choices:
        return {"body": event.text}
    if event.channel == WHATSAPP:
        listed = event.style == "list" or len(choices) > 3 or any(len(c["title"]) > 20 for c in choices)
        return {"body": event.text, "buttons": choices} | (
            {"list_button": (event.button or "Options")[:20]} if listed else {}
        )
    if event.channel == TELEGRAM:
        return {"body": event.text, "buttons": choices}
    lines = "\n".join(f"{n}. {c['title']}" for n, c in enumerate(choices, 1))
    return {"body": f"{event.text}\n{lines}"}


async def queue_assistant_message(uow: NotificationsWork, event: AssistantMessageRequestedV1, meta: EventMeta) -> None:
    now = utcnow()
    channel = event.channel
    if channel not in (WHATSAPP, TELEGRAM, INSTAGRAM):
        log.warning("assistant message %s for unknown channel %s dropped", event.message_id, channel)
        return
    to = e164(event.to) if channel == WHATSAPP else event.to.strip()
    render = assistant_render(event)
    message = Message(
        id=context.new_id(), tenant_id=meta.tenant_id, lead_id=event.lead_id, channel=channel, to=to,
        template=f"assistant_{event.key}", locale=event.locale, body=str(render["body"]), status=QUEUED, attempts=0,
        last_error=None, provider=None, provider_message_id=None, correlation_id=context.current_correlation_id(),
        causation_id=meta.id, created_at=now, updated_at=now, next_attempt_at=now, rule_key=ASSISTANT_RULE,
        recipient=PERSON, event_type=event.TYPE, dedupe_key=f"assistant:{event.message_id}", channels=(channel,),
        addresses={channel: to}, renders={channel: render},
    )  # fmt: skip
    person = {"lead_id": event.lead_id}
    message = replace(message, conversation_id=await _conversation_for(uow, meta.tenant_id, person, {channel: to}, now))
    await uow.messages.add(message)


# --- the reply assistant (docs/notifications.md, "Reply assistant") -------------------------------------
# The clinic points it at an OpenAI-compatible chat completions endpoint with its own model and API key (sealed
# at rest, never shown back). A staff member asks for suggestions in a conversation: its latest messages, with
# CPFs, phone numbers, e-mail addresses and the person's name redacted, go to the model; the suggestions are
# kept (a reply names the ones it used) and reply.suggested goes out through the outbox for the usage report.


def _key_context(tenant_id: str) -> str:
    # Bound to the clinic and the column: a sealed key copied to another clinic's row does not open.
    return f"notifications.assistant_settings/{tenant_id}/api_key"


def _price(value: Any) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _assistant_view(row: Mapping[str, Any] | None) -> dict[str, Any]:
    if row is None:
        return {"enabled": False, "endpoint_url": None, "model": None, "api_key_set": False,
                "prompt_price": None, "completion_price": None, "updated_at": None}  # fmt: skip
    return {
        "enabled": row["enabled"],
        "endpoint_url": row["endpoint_url"],
        "model": row["model"],
        "api_key_set": bool(row["api_key"]),
        "prompt_price": _price(row["prompt_price"]),
        "completion_price": _price(row["completion_price"]),
        "updated_at": row["updated_at"],
    }


async def assistant_settings(uow_factory: NotificationsWorkFactory, principal: Principal) -> dict[str, Any]:
    async with uow_factory() as uow:
        return _assistant_view(await uow.assistant.settings(principal.tenant_id))


async def put_assistant_settings(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    sealer: Sealer | None,
    *,
    enabled: bool,
    endpoint_url: str,
    model: str,
    api_key: str | None,
    prompt_price: str | None,
    completion_price: str | None,
) -> dict[str, Any]:
    """`api_key` None keeps the stored key, "" removes it (an endpoint without keys), else it is sealed."""
    url = suggestions.check_endpoint(endpoint_url)
    name = model.strip()
    if not name or len(name) > 200:
        raise InvalidInput("Name the model (at most 200 characters).", field="model")
    prices = (suggestions.check_price(prompt_price, "prompt_price"),
              suggestions.check_price(completion_price, "completion_price"))  # fmt: skip
    if api_key is not None and len(api_key) > 2000:
        raise InvalidInput("The API key has at most 2,000 characters.", field="api_key")
    async with uow_factory() as uow:
        repo = uow.assistant
        current = await repo.settings(principal.tenant_id)
        if api_key is None:
            stored = current["api_key"] if current else ""
        elif not api_key.strip():
            stored = ""
        elif sealer is None:
            raise AssistantUnavailable(
                "The API key cannot be stored: this deployment has no sealing key (NOTIFICATIONS_SEALING_KEYS).",
                field="api_key",
            )
        else:
            stored = sealer.seal(api_key.strip(), context=_key_context(principal.tenant_id))
        values = {
            "enabled": enabled,
            "endpoint_url": url,
            "model": name,
            "api_key": stored,
            "prompt_price": prices[0],
            "completion_price": prices[1],
            "updated_by": principal.user_id,
            "updated_at": clock(),
        }
        await repo.put_settings(principal.tenant_id, values)
        await uow.commit()
    return _assistant_view(values)


def _open_key(sealer: Sealer | None, stored: str, tenant_id: str) -> str:
    if not stored:
        return ""
    if sealer is None:
        raise AssistantUnavailable("The clinic's API key is sealed and this deployment has no sealing key.")
    try:
        return sealer.open(stored, context=_key_context(tenant_id))
    except SealingError as exc:
        raise AssistantUnavailable(f"The clinic's API key does not open: {exc}") from exc


async def _past_answers(
    uow: NotificationsWork, tenant_id: str, conversation_id: str, turns: list[suggestions.Turn]
) -> list[suggestions.Example]:
    """The clinic's own past answers to messages like the one being answered (this clinic's other conversations
    only), best first: the model's examples."""
    asked = suggestions.asked_text(turns)
    if asked is None:
        return []
    rows = await uow.assistant.past_answers(
        tenant_id, conversation_id, asked, limit=suggestions.EXAMPLE_CANDIDATES, threshold=suggestions.MIN_SIMILARITY
    )
    found = [
        suggestions.Example(
            asked=r["asked"], answer=r["answer"], score=float(r["score"]), booked=bool(r["booked"]),
            names=tuple(n for n in (r["conversation_name"], r["sender_name"]) if n),
        )
        for r in rows
    ]  # fmt: skip
    return suggestions.pick_examples(found)


async def suggest_replies(
    uow_factory: NotificationsWorkFactory,
    principal: Principal,
    sealer: Sealer | None,
    llm: ChatCompletions,
    conversation_id: str,
) -> dict[str, Any]:
    """Suggested replies for the staff member from the conversation's latest messages and the clinic's past
    answers to similar messages (all redacted)."""
    tenant = principal.tenant_id
    async with uow_factory() as uow:
        found = await _history(uow, tenant, conversation_id)
        config = await uow.assistant.settings(tenant)
        clinic = await clinic_config(uow, tenant)
        person = found["conversation"]
        for purpose in (consent.AI_ASSISTANT, consent.EXTERNAL_AI):  # the clinic's model is an external endpoint
            ids = {k: str(person[k]) if person[k] else None for k in ("lead_id", "patient_id")}
            if not await consent.allows(uow, tenant, purpose, **ids):
                raise InvalidInput(
                    f"The person withdrew consent to {purpose.replace('_', ' ')}.", field="conversation_id"
                )
        if config is None or not config["enabled"]:
            raise AssistantNotConfigured(
                "The clinic's reply assistant is not set up (PUT /api/v1/notifications/assistant/settings)."
            )
        turns = [suggestions.Turn(i["direction"], i["text"] or "") for i in found["items"]]
        examples = await _past_answers(uow, tenant, conversation_id, turns)
    key = _open_key(sealer, config["api_key"], tenant)
    conv = found["conversation"]
    names = [conv["name"] or "", *{i.get("sender_name") or "" for i in found["items"]}]
    prompt = suggestions.build_prompt(turns, locale=principal.locale or clinic.locale, names=names, examples=examples)
    wrote = sorted((a for a in found["addresses"] if a["last_inbound_at"]), key=lambda a: a["last_inbound_at"])
    channel = wrote[-1]["channel"] if wrote else None
    # Without holding a database connection: the model may take seconds.
    completion = await llm.complete(
        endpoint=config["endpoint_url"], api_key=key, model=config["model"], messages=prompt,
        user=hashlib.sha256(tenant.encode()).hexdigest()[:32],
    )  # fmt: skip
    texts = suggestions.parse_suggestions(completion.content)
    spent = suggestions.cost(
        completion.prompt_tokens, completion.completion_tokens, config["prompt_price"], config["completion_price"]
    )
    now = clock()
    suggestion_id = context.new_id()
    async with uow_factory() as uow:
        await uow.assistant.add_suggestion(
            id=suggestion_id, tenant_id=tenant, conversation_id=conversation_id, staff_id=principal.user_id,
            model=completion.model, texts=texts, prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens, cost=spent, created_at=now,
        )  # fmt: skip
        uow.publish(
            ReplySuggestedV1(
                suggestion_id=suggestion_id,
                conversation_id=conversation_id,
                lead_id=str(conv["lead_id"]) if conv["lead_id"] else None,
                patient_id=str(conv["patient_id"]) if conv["patient_id"] else None,
                staff_id=principal.user_id,
                channel=channel,
                model=completion.model,
                count=len(texts),
                prompt_tokens=completion.prompt_tokens,
                completion_tokens=completion.completion_tokens,
                cost=None if spent is None else format(spent.normalize(), "f"),
                suggested_at=now,
            ),
            tenant_id=tenant,
        )
        await uow.commit()
    return {
        "suggestion_id": suggestion_id,
        "model": completion.model,
        "suggestions": texts,
        "prompt_tokens": completion.prompt_tokens,
        "completion_tokens": completion.completion_tokens,
        "cost": None if spent is None else format(spent.normalize(), "f"),
        "created_at": now,
    }
