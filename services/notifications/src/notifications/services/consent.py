"""Consent before sending (docs/privacy.md): notifications' copy of the privacy service's ledger, the check the
dispatcher makes for every message, notifications' answers to data subject requests, and the clinic's messages
retention (privacy's rule, applied by the worker's timer).

A message is held back when the person opted out of its channel (a STOP word, or staff, `opt_outs`) or withdrew
consent for its purpose on its channel or on "any" (the ledger's `consent.withdrawn`): either source, at once,
since the dispatcher checks both for each batch it sends.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from contracts import Event, EventMeta
from contracts.notifications import RetentionAppliedV1
from contracts.privacy import (
    ConsentGivenV1,
    ConsentWithdrawnV1,
    RetentionSetV1,
)
from kit.context import new_id
from kit.messaging import Handler
from kit.objects import ObjectStore, ObjectStoreError
from kit.privacy import answers as answers_of
from notifications.catalog import TEMPLATES
from notifications.domain import MANUAL_TEMPLATE, PERSON, Message
from notifications.events import CONSUMED, short_type
from notifications.services.work import NotificationsWork, NotificationsWorkFactory

log = logging.getLogger(__name__)

SERVICE = "notifications"
MARKETING, REMINDERS, AI_ASSISTANT, EXTERNAL_AI = "marketing", "reminders", "ai_assistant", "external_ai"

#: What a message is for, by the event that made it: a reminder about a visit (scheduling's events); marketing for
#: the welcome and the sales follow-ups (leads' events, the funnel's deals and tasks); the automated assistant
#: for what the funnel's pre-qualification assistant writes — and marketing too, for it is sales outreach: a
#: person who withdrew either (a STOP on the channel) is left to staff, whom the assistant's timers hand the
#: conversation to; none otherwise (transactional: payment links, quotes; or a staff reply to the person).
_PURPOSE_BY_TYPE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("clinicflow.funnel.assistant.", (AI_ASSISTANT, MARKETING)),
    ("clinicflow.scheduling.", (REMINDERS,)),
    ("clinicflow.leads.", (MARKETING,)),
    ("clinicflow.funnel.deal.", (MARKETING,)),
    ("clinicflow.funnel.task.", (MARKETING,)),
)
#: Messages store the short type of their event (reminder.due); the full one gives the context.
_FULL_TYPE = {short_type(e.TYPE): e.TYPE for e in CONSUMED}


def purposes_of(message: Message) -> tuple[str, ...]:
    """The purposes the person must not have withdrawn for the message to go out (none: transactional). A template
    sent by hand from a conversation is for what its rule-driven messages are for (the template's event: a reminder,
    a welcome, a payment link); a clinic's own template, which no event defines, counts as marketing."""
    if message.recipient != PERSON:
        return ()
    if message.rule_key == MANUAL_TEMPLATE:
        spec = TEMPLATES.get(message.template)
        return _purposes_of_type(spec.event_type) if spec else (MARKETING,)
    if not message.event_type:
        return ()
    return _purposes_of_type(message.event_type)


def _purposes_of_type(event_type: str) -> tuple[str, ...]:
    full = _FULL_TYPE.get(event_type, event_type)
    for prefix, purposes in _PURPOSE_BY_TYPE:
        if full.startswith(prefix):
            return purposes
    return ()


def withdrawn(entries: Iterable[dict[str, Any]], purpose: str, channel: str) -> bool:
    """Whether the person's latest word on `purpose` (on the channel, or on any) was a withdrawal."""
    latest: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if entry["purpose"] != purpose or entry["channel"] not in (channel, "any"):
            continue
        scope = entry["channel"]
        if scope not in latest or entry["at"] > latest[scope]["at"]:
            latest[scope] = entry
    return any(not e["granted"] for e in latest.values())


def _about(entry: dict[str, Any], message: Message) -> bool:
    return entry["tenant_id"] == message.tenant_id and (
        (message.lead_id is not None and entry["lead_id"] == message.lead_id)
        or (message.patient_id is not None and entry["patient_id"] == message.patient_id)
        or (bool(message.to) and message.to.lower() in (entry["phone"], entry["email"]))
    )


async def blocked(uow: NotificationsWork, batch: list[Message]) -> set[str]:
    """The ids of the messages of a batch whose purpose the person withdrew consent for (one query)."""
    wanted = [(m, p) for m in batch if (p := purposes_of(m))]
    if not wanted:
        return set()
    entries = await uow.consents.matching((m.tenant_id, m.lead_id, m.patient_id, m.to) for m, _ in wanted)
    if not entries:
        return set()
    return {
        m.id
        for m, purposes in wanted
        if any(withdrawn([e for e in entries if _about(e, m)], purpose, m.channel) for purpose in purposes)
    }


async def allows(
    uow: NotificationsWork, tenant_id: str, purpose: str, *, lead_id: str | None, patient_id: str | None
) -> bool:
    """For the reply assistant: False when the person withdrew `purpose` (ai_assistant, external_ai)."""
    if lead_id is None and patient_id is None:
        return True
    entries = await uow.consents.matching([(tenant_id, lead_id, patient_id, "")])
    mine = [
        e for e in entries if (lead_id and e["lead_id"] == lead_id) or (patient_id and e["patient_id"] == patient_id)
    ]
    return not withdrawn(mine, purpose, "any")


# --- events ----------------------------------------------------------------------------------------------
async def remember(uow: NotificationsWork, event: ConsentGivenV1 | ConsentWithdrawnV1, meta: EventMeta) -> None:
    await uow.consents.remember(
        meta.tenant_id,
        person_key=event.person_key,
        purpose=event.purpose,
        channel=event.channel,
        granted=isinstance(event, ConsentGivenV1),
        lead_id=event.lead_id,
        patient_id=event.patient_id,
        phone=event.phone,
        email=event.email,
        at=event.at,
    )


def answers(
    store: Callable[[], ObjectStore],
) -> dict[type[Event], Handler]:
    """notifications' answers to data subject requests (kit.privacy.answers over its PrivacyRepository)."""
    return answers_of(SERVICE, lambda uow: cast(NotificationsWork, uow).privacy, store)


# --- retention ---------------------------------------------------------------------------------------------
#: The retention kind notifications applies (privacy's retention rules, docs/privacy.md "How long").
MESSAGES = "messages"


async def remember_retention(uow: NotificationsWork, event: RetentionSetV1, meta: EventMeta) -> None:
    """privacy's `retention.set`: the clinic's rule, kept for the timer."""
    await uow.retention.remember(meta.tenant_id, event.kind, event.days, event.at)


async def retention_round(
    uow_factory: NotificationsWorkFactory, store: ObjectStore | None, *, at: datetime | None = None
) -> int:
    """Worker timer: for each clinic with a `messages` rule, anonymise the messages sent and received before its
    cutoff (texts, addresses, names; the files people sent are deleted from the object store) and report the run
    (`retention.applied`, which privacy adds to the clinic's retention report). Returns how many were removed."""
    at = at or datetime.now(UTC)
    async with uow_factory() as uow:
        rules = await uow.retention.rules(MESSAGES)
    total = 0
    for tenant_id, days in rules:
        cutoff = at - timedelta(days=days)
        async with uow_factory() as uow:
            media = await uow.retention.old_media(tenant_id, cutoff)
            counts = await uow.retention.anonymise_before(tenant_id, cutoff)
            deleted = 0
            if store is not None:
                # before the commit: a failed round leaves no file behind the rows it will anonymise next time
                for key in media:
                    try:
                        await store.delete(key)
                        deleted += 1
                    except ObjectStoreError as exc:
                        log.warning("medium %s not deleted by retention: %s", key, exc)
            counts["media"] = deleted
            removed = sum(counts.values())
            uow.publish(
                RetentionAppliedV1(
                    run_id=new_id(), kind=MESSAGES, removed=removed, counts=counts, cutoff=cutoff, at=at
                ),
                tenant_id=tenant_id,
            )
            await uow.commit()
        total += removed
    return total
