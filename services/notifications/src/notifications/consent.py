"""Consent before sending (docs/privacy.md): notifications' copy of the privacy service's ledger, the check the
dispatcher makes for every message, and notifications' answers to data subject requests.

A message is held back when the person opted out of its channel (a STOP word, or staff, `opt_outs`) or withdrew
consent for its purpose on its channel or on "any" (the ledger's `consent.withdrawn`): either source, at once,
since the dispatcher checks both for each batch it sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, cast

from contracts import Event, EventMeta
from contracts.privacy import (
    ConsentGivenV1,
    ConsentWithdrawnV1,
)
from kit.messaging import Handler
from kit.objects import ObjectStore
from kit.privacy import answers as answers_of
from notifications.domain import PERSON, Message
from notifications.events import CONSUMED, short_type
from notifications.work import NotificationsWork

SERVICE = "notifications"
MARKETING, REMINDERS, AI_ASSISTANT, EXTERNAL_AI = "marketing", "reminders", "ai_assistant", "external_ai"

#: What a message is for, by the event that made it: a reminder about a visit (scheduling's events); marketing for
#: the welcome and the sales follow-ups (leads' events, the funnel's deals and tasks); the automated assistant
#: for what the funnel's pre-qualification assistant writes (a person who withdrew it is left to staff, whom the
#: assistant's timers hand the conversation to); none otherwise (transactional: payment links, quotes; or a staff
#: reply to the person).
_PURPOSE_BY_TYPE = (
    ("clinicflow.funnel.assistant.", AI_ASSISTANT),
    ("clinicflow.scheduling.", REMINDERS),
    ("clinicflow.leads.", MARKETING),
    ("clinicflow.funnel.deal.", MARKETING),
    ("clinicflow.funnel.task.", MARKETING),
)
#: Messages store the short type of their event (reminder.due); the full one gives the context.
_FULL_TYPE = {short_type(e.TYPE): e.TYPE for e in CONSUMED}


def purpose_of(message: Message) -> str | None:
    if message.recipient != PERSON or not message.event_type:
        return None
    full = _FULL_TYPE.get(message.event_type, message.event_type)
    for prefix, purpose in _PURPOSE_BY_TYPE:
        if full.startswith(prefix):
            return purpose
    return None


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
    wanted = [(m, p) for m in batch if (p := purpose_of(m)) is not None]
    if not wanted:
        return set()
    entries = await uow.consents.matching((m.tenant_id, m.lead_id, m.patient_id, m.to) for m, _ in wanted)
    if not entries:
        return set()
    return {m.id for m, purpose in wanted if withdrawn([e for e in entries if _about(e, m)], purpose, m.channel)}


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
