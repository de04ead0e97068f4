"""Events -> rules -> queued messages: one consumed event, what notifications keeps of it, and one message per rule
and recipient."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar, cast

from contracts import Event, EventMeta
from contracts.notifications import (
    MessageFailedV1,
)
from kit import context
from notifications import events, rendering
from notifications.domain import (
    ACTOR,
    EMAIL,
    FAILED,
    FIELD_PREFIX,
    INAPP,
    INSTAGRAM,
    OWNER,
    PERSON,
    QUEUED,
    SMS,
    TELEGRAM,
    USER_PREFIX,
    WHATSAPP,
    InvalidTemplate,
    Message,
    Rule,
    TemplateNotFound,
    choose_locale,
    defer_for_quiet_hours,
    e164,
    is_staff_recipient,
    matches,
    phone_variants,
)
from notifications.services import common
from notifications.services.common import _caused_by
from notifications.services.config import ClinicConfig, clinic_config, effective_rules, template_source
from notifications.services.work import NotificationsWork

log = logging.getLogger(__name__)


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
    now = common.clock()
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
