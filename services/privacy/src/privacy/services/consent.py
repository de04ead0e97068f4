"""The consent ledger: entries recorded by staff or from a STOP word, announced, read per person."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from contracts import EventMeta
from contracts import privacy as events
from contracts.notifications import ChannelConsentChangedV1
from kit import context
from kit.auth import Principal
from kit.db import UnitOfWork
from privacy.domain import (
    CHANNELS,
    CONSENT_SOURCES,
    PURPOSES,
    Consent,
    Subject,
    allowed,
    channel_consent_entry,
    clean_email,
    clean_id,
    clean_phone,
    clean_text,
    current_consents,
    one_of,
    person_key,
)
from privacy.services.common import PrivacyUnitOfWork, PrivacyWorkFactory, now, resolve_subject, work_of

log = logging.getLogger(__name__)


# --- consent ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsentInput:
    purpose: str
    channel: str
    source: str
    lead_id: str | None = None
    patient_id: str | None = None
    phone: str | None = None
    email: str | None = None
    text: str | None = None


async def record_consent(
    uow: PrivacyWorkFactory, principal: Principal, data: ConsentInput, *, granted: bool
) -> Consent:
    purpose = one_of(data.purpose, PURPOSES, field="purpose")
    channel = one_of(data.channel, CHANNELS, field="channel")
    source = one_of(data.source, CONSENT_SOURCES, field="source")
    lead_id = clean_id(data.lead_id, field="lead_id") if data.lead_id else None
    patient_id = clean_id(data.patient_id, field="patient_id") if data.patient_id else None
    phone = clean_phone(data.phone) if data.phone else None
    email = clean_email(data.email) if data.email else None
    text = clean_text(data.text, field="text", required=granted)  # what they agreed to; a withdrawal needs none
    key = person_key(lead_id, patient_id, phone, email)
    async with uow() as work:
        if lead_id or patient_id:
            await resolve_subject(
                work,
                principal.tenant_id,
                Subject(lead_ids=(lead_id,) if lead_id else (), patient_ids=(patient_id,) if patient_id else ()),
            )
        entry = Consent(
            id=context.new_id(),
            tenant_id=principal.tenant_id,
            person_key=key,
            lead_id=lead_id,
            patient_id=patient_id,
            phone=phone,
            email=email,
            purpose=purpose,
            channel=channel,
            granted=granted,
            source=source,
            text=text,
            recorded_by=principal.user_id,
            at=now(),
        )
        await work.consents.add(entry)
        _announce(work, entry)
        await work.commit()
    return entry


async def record_channel_consent(uow: UnitOfWork, event: ChannelConsentChangedV1, meta: EventMeta) -> None:
    """notifications' channel opt-out (a STOP word, an opt-in word, staff) -> a ledger entry, announced like one
    recorded here. Once per change however often it is delivered: the entry's id is the change's."""
    work = work_of(uow)
    lead_id, patient_id = event.lead_id, event.patient_id
    if lead_id is None and patient_id is None and event.channel in ("whatsapp", "sms"):
        # a number notifications had not linked to a lead yet: the clinic's person with that phone, if one
        found = await work.people.find(meta.tenant_id, Subject(phones=(event.address,)))
        if len(found) == 1:
            lead_id, patient_id = found[0]["lead_id"], found[0]["patient_id"]
    entry = channel_consent_entry(
        meta.tenant_id,
        change_id=event.change_id,
        channel=event.channel,
        address=event.address,
        opted_in=event.opted_in,
        how=event.how,
        text=event.text,
        lead_id=lead_id,
        patient_id=patient_id,
        staff_id=event.staff_id,
        at=event.at,
    )
    if entry is None:
        log.info("channel consent change %s (%s) is not a ledger entry", event.change_id, event.how)
        return
    if not await work.consents.add(entry):
        return  # recorded before
    _announce(work, entry)


def _announce(work: PrivacyUnitOfWork, entry: Consent) -> None:
    event_type = events.ConsentGivenV1 if entry.granted else events.ConsentWithdrawnV1
    work.publish(
        event_type(
            consent_id=entry.id,
            person_key=entry.person_key,
            lead_id=entry.lead_id,
            patient_id=entry.patient_id,
            phone=entry.phone,
            email=entry.email,
            purpose=entry.purpose,
            channel=entry.channel,
            source=entry.source,
            text=entry.text,
            recorded_by=entry.recorded_by,
            at=entry.at,
        ),
        tenant_id=entry.tenant_id,
    )


@dataclass(frozen=True)
class PersonConsents:
    person_key: str
    entries: list[Consent]
    current: dict[tuple[str, str], Consent]

    def allows(self, purpose: str, channel: str) -> bool | None:
        return allowed(self.entries, purpose, channel)


async def person_consents(
    uow: PrivacyWorkFactory,
    principal: Principal,
    *,
    lead_id: str | None,
    patient_id: str | None,
    phone: str | None,
    email: str | None,
) -> PersonConsents:
    lead_id = clean_id(lead_id, field="lead_id") if lead_id else None
    patient_id = clean_id(patient_id, field="patient_id") if patient_id else None
    phone = clean_phone(phone) if phone else None
    email = clean_email(email) if email else None
    key = person_key(lead_id, patient_id, phone, email)
    keys = [
        k
        for k in (
            f"lead:{lead_id}" if lead_id else None,
            f"patient:{patient_id}" if patient_id else None,
            f"phone:{phone}" if phone else None,
            f"email:{email}" if email else None,
        )
        if k
    ]
    async with uow() as work:
        entries = await work.consents.of_person(principal.tenant_id, keys, [lead_id] if lead_id else [])
    return PersonConsents(key, entries, current_consents(entries))


async def list_consents(
    uow: PrivacyWorkFactory, principal: Principal, *, purpose: str | None, limit: int, offset: int
) -> tuple[list[Consent], int]:
    if purpose:
        one_of(purpose, PURPOSES, field="purpose")
    async with uow() as work:
        return await work.consents.page(principal.tenant_id, purpose=purpose, limit=limit, offset=offset)
