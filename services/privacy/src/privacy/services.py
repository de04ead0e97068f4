"""Use cases of privacy: one unit of work each (events are published with `work.publish(...)` before commit).

The consent ledger; data subject requests gathered and erased through events (each answering service writes its
part to the object store and says so on its own topic, never read from its database); the export archive behind
a signed, expiring, single-use link; the read audit; retention (docs/privacy.md).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import EventMeta
from contracts import privacy as events
from contracts.leads import LeadConvertedV1, LeadCreatedV1, LeadsRetentionAppliedV1, LeadUpdatedV1
from contracts.notifications import ChannelConsentChangedV1, RetentionAppliedV1
from contracts.privacy import ANSWERING_SERVICES
from kit import context, links
from kit.auth import Principal
from kit.db import UnitOfWork
from kit.objects import ObjectNotFound, ObjectStore
from kit.sealing import Sealer
from privacy.domain import (
    CHANNELS,
    COMPLETED,
    CONSENT_SOURCES,
    IN_PROGRESS,
    OPEN,
    PART_ERASED,
    PART_READY,
    PURPOSES,
    RECORD_KINDS,
    REQUEST_KINDS,
    REQUEST_STATUSES,
    Clinic,
    Consent,
    ExportLink,
    Gone,
    InvalidPrivacy,
    LinkInvalid,
    NotFound,
    Part,
    ReadEntry,
    RetentionRule,
    Subject,
    SubjectRequest,
    allowed,
    channel_consent_entry,
    check_link_usable,
    clean_corrections,
    clean_email,
    clean_id,
    clean_key_ids,
    clean_person_keys,
    clean_phone,
    clean_retention,
    clean_subject,
    clean_text,
    clinic_for,
    current_consents,
    due_at,
    erased_person_keys,
    one_of,
    parts_done,
    person_key,
    resolve,
)
from privacy.repository import (
    AuditRepository,
    ClinicRepository,
    ConsentRepository,
    KeyRepository,
    LinkRepository,
    PeopleRepository,
    RequestRepository,
    RetentionRepository,
)

log = logging.getLogger(__name__)

EXPORT_LINK = "privacy-export"


def now() -> datetime:
    return datetime.now(UTC)


class PrivacyUnitOfWork(UnitOfWork):
    """kit's unit of work (PostgreSQL, the outbox) with privacy's repositories on its session."""

    clinics: ClinicRepository
    people: PeopleRepository
    consents: ConsentRepository
    requests: RequestRepository
    links: LinkRepository
    audit: AuditRepository
    retention: RetentionRepository
    keys: KeyRepository

    def opened(self, session: AsyncSession) -> None:
        self.keys = KeyRepository(session)
        self.clinics = ClinicRepository(session)
        self.people = PeopleRepository(session)
        self.consents = ConsentRepository(session)
        self.requests = RequestRepository(session)
        self.links = LinkRepository(session)
        self.audit = AuditRepository(session)
        self.retention = RetentionRepository(session)


PrivacyWorkFactory = Callable[[], PrivacyUnitOfWork]


def _work(uow: UnitOfWork) -> PrivacyUnitOfWork:
    """The consumers' unit of work is the worker's PrivacyUnitOfWork (create_worker_app(unit_of_work=...))."""
    assert isinstance(uow, PrivacyUnitOfWork)
    return uow


# --- the clinic ------------------------------------------------------------------------------------
async def _clinic(work: PrivacyUnitOfWork, principal: Principal) -> Clinic:
    """The clinic's privacy settings; recorded from the token's country on first use."""
    found = await work.clinics.get(principal.tenant_id)
    if found is None:
        found = clinic_for(principal.tenant_id, principal.country, now())
        await work.clinics.save(found)
    return found


async def get_clinic(uow: PrivacyWorkFactory, principal: Principal) -> Clinic:
    async with uow() as work:
        clinic = await _clinic(work, principal)
        await work.commit()
    return clinic


async def set_clinic(
    uow: PrivacyWorkFactory, principal: Principal, *, country: str | None, response_days: int | None
) -> Clinic:
    async with uow() as work:
        current = await _clinic(work, principal)
        clinic = clinic_for(
            principal.tenant_id,
            (country or current.country).upper(),
            now(),
            response_days=response_days if response_days is not None else None,
        )
        await work.clinics.save(clinic)
        await work.commit()
    return clinic


# --- the people leads describes (consumer) ------------------------------------------------------------
async def remember_person(
    uow: UnitOfWork, event: LeadCreatedV1 | LeadUpdatedV1 | LeadConvertedV1, meta: EventMeta
) -> None:
    at = (
        event.created_at
        if isinstance(event, LeadCreatedV1)
        else event.updated_at
        if isinstance(event, LeadUpdatedV1)
        else event.converted_at
    )
    await _work(uow).people.remember(
        meta.tenant_id,
        event.lead_id,
        phone=event.phone or None,
        email=event.email,
        patient_id=event.patient_id if isinstance(event, LeadConvertedV1) else None,
        at=at,
    )


async def _resolve_subject(work: PrivacyUnitOfWork, tenant_id: str, subject: Subject) -> Subject:
    """The subject with every identifier the clinic's people add; NotFound for nobody known or another clinic's."""
    found = await work.people.find(tenant_id, subject)
    if not found:
        if await work.people.known_elsewhere(tenant_id, subject.lead_ids):
            # another clinic's person: the same answer as an unknown one, nothing leaks across clinics
            raise NotFound("No person of this clinic has these identifiers.", field="subject")
        raise NotFound("No person of this clinic has these identifiers.", field="subject")
    known = {r["lead_id"] for r in found}
    unknown = [i for i in subject.lead_ids if i not in known]
    if unknown:
        raise NotFound(f"Lead {unknown[0]} is not a person of this clinic.", field="subject.lead_ids")
    extra = Subject(
        lead_ids=tuple(r["lead_id"] for r in found),
        patient_ids=tuple(r["patient_id"] for r in found if r["patient_id"]),
        phones=tuple(p for r in found for p in r["phones"]),
        emails=tuple(r["email"] for r in found if r["email"]),
    )
    return subject.merged(extra)


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
            await _resolve_subject(
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
    work = _work(uow)
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


# --- subject requests ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RequestInput:
    kind: str
    lead_ids: list[str]
    patient_ids: list[str]
    phones: list[str]
    emails: list[str]
    cpfs: list[str]
    details: str | None = None
    corrections: dict[str, str] | None = None


def _contract_subject(subject: Subject) -> events.Subject:
    return events.Subject(
        lead_ids=list(subject.lead_ids),
        patient_ids=list(subject.patient_ids),
        phones=list(subject.phones),
        emails=list(subject.emails),
        cpfs=list(subject.cpfs),
    )


async def open_request(uow: PrivacyWorkFactory, principal: Principal, data: RequestInput) -> SubjectRequest:
    kind = one_of(data.kind, REQUEST_KINDS, field="kind")
    subject = clean_subject(
        lead_ids=data.lead_ids, patient_ids=data.patient_ids, phones=data.phones, emails=data.emails, cpfs=data.cpfs
    )
    corrections = clean_corrections(data.corrections or {})
    if kind == "correction" and not corrections:
        raise InvalidPrivacy("Say what is to be corrected.", field="corrections")
    details = clean_text(data.details, field="details")
    async with uow() as work:
        clinic = await _clinic(work, principal)
        subject = await _resolve_subject(work, principal.tenant_id, subject)
        at = now()
        request = SubjectRequest(
            id=context.new_id(),
            tenant_id=principal.tenant_id,
            kind=kind,
            status=OPEN if kind == "correction" else IN_PROGRESS,
            subject=subject,
            details=details,
            corrections=corrections,
            requested_by=principal.user_id,
            requested_at=at,
            due_at=due_at(clinic, at),
        )
        services = () if kind == "correction" else ANSWERING_SERVICES
        await work.requests.add(request, services)
        if kind in ("access", "export"):
            work.publish(
                events.ExportRequestedV1(
                    request_id=request.id,
                    subject=_contract_subject(subject),
                    requested_at=at,
                    due_at=request.due_at,
                ),
                tenant_id=principal.tenant_id,
            )
        elif kind == "erasure":
            work.publish(
                events.ErasureRequestedV1(
                    request_id=request.id,
                    subject=_contract_subject(subject),
                    requested_at=at,
                    due_at=request.due_at,
                ),
                tenant_id=principal.tenant_id,
            )
        await work.commit()
    return replace(request, parts=tuple(Part(s, "pending") for s in services))


async def get_request(uow: PrivacyWorkFactory, principal: Principal, request_id: str) -> SubjectRequest:
    clean_id(request_id, field="request_id")
    async with uow() as work:
        found = await work.requests.get(principal.tenant_id, request_id)
    if found is None:
        raise NotFound("No such request in this clinic.", field="request_id")
    return found


async def list_requests(
    uow: PrivacyWorkFactory, principal: Principal, *, status: str | None, limit: int, offset: int
) -> tuple[list[SubjectRequest], int]:
    if status:
        one_of(status, REQUEST_STATUSES, field="status")
    async with uow() as work:
        return await work.requests.page(principal.tenant_id, status=status, limit=limit, offset=offset)


async def resolve_request(
    uow: PrivacyWorkFactory, principal: Principal, request_id: str, status: str, resolution: str | None
) -> SubjectRequest:
    clean_id(request_id, field="request_id")
    async with uow() as work:
        found = await work.requests.get(principal.tenant_id, request_id, lock=True)
        if found is None:
            raise NotFound("No such request in this clinic.", field="request_id")
        done = resolve(found, status, clean_text(resolution, field="resolution"), now())
        await work.requests.save(done)
        await work.commit()
    return done


# --- the services' answers (consumer) --------------------------------------------------------------------
def archive_key(request: SubjectRequest) -> str:
    return f"privacy/{request.tenant_id}/{request.id}/export.zip"


async def build_archive(store: ObjectStore, request: SubjectRequest, clinic: Clinic | None) -> tuple[bytes, str]:
    """A zip of JSON: manifest.json (the request, the law, what each service sent) and <service>.json each."""
    buffer = io.BytesIO()
    manifest: dict[str, Any] = {
        "request_id": request.id,
        "kind": request.kind,
        "requested_at": request.requested_at.isoformat(),
        "due_at": request.due_at.isoformat(),
        "law": clinic.law if clinic else None,
        "region": clinic.region if clinic else None,
        "subject": request.subject.as_dict(),
        "services": {},
    }
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in request.parts:
            if part.object_key is None:
                continue
            data, _ = await store.get(part.object_key)
            archive.writestr(f"{part.service}.json", data)
            manifest["services"][part.service] = {"counts": part.counts, "file": f"{part.service}.json"}
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def part_ready_handler(store: ObjectStore) -> Callable[[UnitOfWork, events.PartReady, EventMeta], Any]:
    async def handle(uow: UnitOfWork, event: events.PartReady, meta: EventMeta) -> None:
        work = _work(uow)
        request = await work.requests.get(meta.tenant_id, event.request_id, lock=True)
        if request is None or not request.gathers:
            return  # not ours (another clinic's id, or an erasure's) - nothing to record
        part = Part(event.service, PART_READY, event.object_key, dict(event.counts), {}, event.at)
        await work.requests.save_part(request.id, part)
        request = replace(request, parts=tuple(await work.requests.parts(request.id)))
        if request.status == IN_PROGRESS and parts_done(request, ANSWERING_SERVICES):
            clinic = await work.clinics.get(request.tenant_id)
            data, digest = await build_archive(store, request, clinic)
            key = archive_key(request)
            await store.put(key, data, content_type="application/zip")
            await work.requests.save(
                replace(request, status=COMPLETED, completed_at=now(), archive_key=key, archive_sha256=digest)
            )
            log.info("export %s assembled (%d bytes)", request.id, len(data))

    return handle


async def part_erased(uow: UnitOfWork, event: events.PartErased, meta: EventMeta) -> None:
    work = _work(uow)
    request = await work.requests.get(meta.tenant_id, event.request_id, lock=True)
    if request is None or request.kind != "erasure":
        return
    part = Part(event.service, PART_ERASED, None, dict(event.counts), dict(event.retained), event.at)
    await work.requests.save_part(request.id, part)
    request = replace(request, parts=tuple(await work.requests.parts(request.id)))
    if request.status == IN_PROGRESS and parts_done(request, ANSWERING_SERVICES):
        subject = request.subject
        keys = erased_person_keys(subject)
        forgotten = await work.consents.forget_texts(request.tenant_id, keys, list(subject.lead_ids))
        # Crypto-shredding: with every service's rows anonymised, the person's keys go, and with them every
        # personal field of their events still in Kafka, the outboxes and replays (kit.personal).
        at = now()
        shredded = await work.keys.shred(request.tenant_id, keys, at)
        await work.requests.save_part(
            request.id,
            Part("privacy", PART_ERASED, None, {"consent_texts": forgotten, "keys_shredded": len(shredded)}, {}, at),
        )
        work.publish(
            events.KeyShreddedV1(request_id=request.id, key_ids=shredded, shredded_at=at), tenant_id=request.tenant_id
        )
        await work.requests.save(replace(request, status=COMPLETED, completed_at=at))
        log.info("erasure %s completed: %d keys shredded", request.id, len(shredded))


# --- the export link ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportLinks:
    secret: str
    public_url: str
    ttl_seconds: int

    def url(self, token: str) -> str:
        return f"{self.public_url.rstrip('/')}/public/privacy/exports?token={token}"


async def mint_export_link(
    uow: PrivacyWorkFactory, principal: Principal, request_id: str, issuer: ExportLinks
) -> tuple[str, datetime]:
    clean_id(request_id, field="request_id")
    async with uow() as work:
        request = await work.requests.get(principal.tenant_id, request_id)
        if request is None:
            raise NotFound("No such request in this clinic.", field="request_id")
        if not request.gathers:
            raise InvalidPrivacy("Only access and export requests have an archive.", field="request_id")
        if request.archive_key is None:
            raise Gone("The archive is not ready yet: every service has not answered.", field="request_id")
        at = now()
        token = links.mint(
            issuer.secret,
            purpose=EXPORT_LINK,
            subject=request.id,
            tenant_id=principal.tenant_id,
            ttl_seconds=issuer.ttl_seconds,
        )
        claims = links.verify(issuer.secret, token, purpose=EXPORT_LINK)
        expires = datetime.fromtimestamp(claims.expires_at, UTC)
        await work.links.add(
            ExportLink(claims.link_id, principal.tenant_id, request.id, principal.user_id, at, expires)
        )
        await work.commit()
    return issuer.url(token), expires


async def download_export(
    uow: PrivacyWorkFactory, store: ObjectStore, issuer: ExportLinks, token: str
) -> tuple[bytes, str]:
    """The archive, once: the link is signed (forged -> 403), expiring and single-use (410 after)."""
    try:
        claims = links.verify(issuer.secret, token, purpose=EXPORT_LINK)
    except links.LinkError as exc:
        if "expired" in str(exc):
            raise Gone("This export link has expired; ask for a new one.") from exc
        raise LinkInvalid("This export link is not valid.") from exc
    async with uow() as work:
        link = check_link_usable(await work.links.get_for_use(claims.link_id), now())
        if link.request_id != claims.subject or link.tenant_id != claims.tenant_id:
            raise LinkInvalid("This export link is not valid.")
        request = await work.requests.get(link.tenant_id, link.request_id)
        if request is None or request.archive_key is None:
            raise Gone("The archive has been removed.")
        try:
            data, _ = await store.get(request.archive_key)
        except ObjectNotFound as exc:
            raise Gone("The archive has been removed.") from exc
        await work.links.mark_used(link.id, now())
        await work.commit()
    return data, f"clinicflow-export-{request.id}.zip"


# --- the read audit -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReadInput:
    record_kind: str
    record_id: str
    purpose: str | None
    path: str


async def record_read(uow: PrivacyWorkFactory, principal: Principal, data: ReadInput) -> ReadEntry:
    entry = ReadEntry(
        id=context.new_id(),
        tenant_id=principal.tenant_id,
        actor_id=principal.user_id,
        record_kind=one_of(data.record_kind, RECORD_KINDS, field="record_kind"),
        record_id=clean_text(data.record_id, field="record_id", required=True) or "",
        purpose=clean_text(data.purpose, field="purpose"),
        path=clean_text(data.path, field="path", required=True) or "",
        at=now(),
    )
    async with uow() as work:
        await work.audit.add(entry)
        await work.commit()
    return entry


async def remember_read(uow: UnitOfWork, event: events.RecordReadV1, meta: EventMeta) -> None:
    """record.read from the gateway (consumer): the same entry as one recorded through the API."""
    await _work(uow).audit.add(
        ReadEntry(
            id=event.read_id,
            tenant_id=meta.tenant_id,
            actor_id=event.actor_id,
            record_kind=event.record_kind,
            record_id=event.record_id,
            purpose=event.purpose,
            path=event.path,
            at=event.at,
        )
    )


async def list_reads(
    uow: PrivacyWorkFactory,
    principal: Principal,
    *,
    record_kind: str | None,
    record_id: str | None,
    actor_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ReadEntry], int]:
    if record_kind:
        one_of(record_kind, RECORD_KINDS, field="record_kind")
    if actor_id:
        clean_id(actor_id, field="actor_id")
    async with uow() as work:
        return await work.audit.page(
            principal.tenant_id,
            record_kind=record_kind,
            record_id=record_id,
            actor_id=actor_id,
            limit=limit,
            offset=offset,
        )


# --- retention -----------------------------------------------------------------------------------------
async def set_retention(uow: PrivacyWorkFactory, principal: Principal, kind: str, days: int) -> RetentionRule:
    kind, days = clean_retention(kind, days)
    rule = RetentionRule(principal.tenant_id, kind, days, now())
    async with uow() as work:
        await work.retention.save(rule)
        # the service holding that kind applies it (notifications: messages; leads: lost_leads) and reports back
        work.publish(
            events.RetentionSetV1(kind=kind, days=days, set_by=principal.user_id, at=rule.updated_at),
            tenant_id=principal.tenant_id,
        )
        await work.commit()
    return rule


async def list_retention(uow: PrivacyWorkFactory, principal: Principal) -> list[RetentionRule]:
    async with uow() as work:
        return await work.retention.of_clinic(principal.tenant_id)


async def retention_report(
    uow: PrivacyWorkFactory, principal: Principal, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    async with uow() as work:
        return await work.retention.runs(principal.tenant_id, limit=limit, offset=offset)


async def record_retention_run(uow: UnitOfWork, event: RetentionAppliedV1, meta: EventMeta) -> None:
    """Another service's retention run (notifications' `messages`) joins the clinic's report, once."""
    await _work(uow).retention.record_run(
        event.run_id, meta.tenant_id, event.kind, event.removed, event.cutoff, event.at
    )


async def record_leads_retention_run(uow: UnitOfWork, event: LeadsRetentionAppliedV1, meta: EventMeta) -> None:
    """leads' `lost_leads` run joins the clinic's report, once (its fields are optional: the event's own id and
    time stand in for a missing run id, time or cutoff)."""
    at = event.at or meta.time
    await _work(uow).retention.record_run(
        event.run_id or meta.id, meta.tenant_id, event.kind, event.removed, event.cutoff or at, at
    )


async def retention_round(uow: PrivacyWorkFactory, store: ObjectStore, *, at: datetime | None = None) -> int:
    """Worker timer: apply each clinic's rules to what privacy holds (the read audit, export archives) and record
    what was removed. The other kinds are applied by the services holding them (notifications: messages, leads:
    lost_leads, each reported back with its `retention.applied`; docs/privacy.md)."""
    at = at or now()
    removed_total = 0
    async with uow() as work:
        rules = await work.retention.all()
    for rule in rules:
        cutoff = at - timedelta(days=rule.days)
        removed = 0
        async with uow() as work:
            if rule.kind == "read_audit":
                removed = await work.audit.remove_before(rule.tenant_id, cutoff)
            elif rule.kind == "exports":
                for request_id, key in await work.requests.expired_archives(rule.tenant_id, cutoff):
                    await store.delete(key)
                    await work.requests.drop_archive(request_id)
                    removed += 1
            else:
                continue
            await work.retention.record_run(context.new_id(), rule.tenant_id, rule.kind, removed, cutoff, at)
            await work.commit()
        removed_total += removed
    return removed_total


__all__ = ["EXPORT_LINK", "PrivacyUnitOfWork", "PrivacyWorkFactory", "remember_person"]


# --- the key store (crypto-shredding) ---------------------------------------------------------------------
@dataclass(frozen=True)
class KeyVault:
    """Wraps the per-person data keys at rest with the installation's sealing keys (kit.sealing): a copy of the
    database alone opens no event."""

    sealer: Sealer

    def wrap(self, tenant_id: str, key_id: str, key: bytes) -> str:
        return self.sealer.seal(base64.urlsafe_b64encode(key).decode(), context=self._context(tenant_id, key_id))

    def unwrap(self, tenant_id: str, key_id: str, wrapped: str) -> bytes:
        return base64.urlsafe_b64decode(self.sealer.open(wrapped, context=self._context(tenant_id, key_id)))

    @staticmethod
    def _context(tenant_id: str, key_id: str) -> str:
        return f"privacy.person_keys/{tenant_id}/{key_id}"


async def ensure_keys(
    uow: PrivacyWorkFactory, vault: KeyVault, tenant_id: str, person_keys: list[str]
) -> dict[str, tuple[str, bytes]]:
    """Each person's live key, made on first use (and anew for a person erased before)."""
    tenant_id = clean_id(tenant_id, field="tenant_id")
    wanted = clean_person_keys(person_keys)
    async with uow() as work:
        live = await work.keys.live(tenant_id, wanted)
        missing = [k for k in wanted if k not in live]
        if missing:
            rows = []
            for person in missing:
                key_id = context.new_id()
                rows.append(
                    {
                        "key_id": key_id,
                        "tenant_id": tenant_id,
                        "person_key": person,
                        "wrapped_key": vault.wrap(tenant_id, key_id, os.urandom(32)),
                        "created_at": now(),
                    }
                )
            await work.keys.add(rows)
            live = await work.keys.live(tenant_id, wanted)
        await work.commit()
    return {person: (key_id, vault.unwrap(tenant_id, key_id, wrapped)) for person, (key_id, wrapped) in live.items()}


async def unwrap_keys(
    uow: PrivacyWorkFactory, vault: KeyVault, tenant_id: str, key_ids: list[str]
) -> dict[str, bytes | None]:
    """The keys by id; None for a shredded one, or one this clinic never had."""
    tenant_id = clean_id(tenant_id, field="tenant_id")
    wanted = clean_key_ids(key_ids)
    async with uow() as work:
        found = await work.keys.by_ids(tenant_id, wanted)
    return {
        key_id: (vault.unwrap(tenant_id, key_id, wrapped) if (wrapped := found.get(key_id)) else None)
        for key_id in wanted
    }
