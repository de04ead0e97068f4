"""Data subject requests: opened, followed, resolved; the services' answers, the export archive, and the
keys shredded when an erasure completes."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from contracts import EventMeta
from contracts import privacy as events
from contracts.privacy import ANSWERING_SERVICES
from kit import context
from kit.auth import Principal
from kit.db import UnitOfWork
from kit.objects import ObjectStore
from privacy.domain import (
    COMPLETED,
    IN_PROGRESS,
    OPEN,
    PART_ERASED,
    PART_READY,
    REQUEST_KINDS,
    REQUEST_STATUSES,
    Clinic,
    InvalidPrivacy,
    NotFound,
    Part,
    Subject,
    SubjectRequest,
    clean_corrections,
    clean_id,
    clean_subject,
    clean_text,
    due_at,
    erased_person_keys,
    one_of,
    parts_done,
    resolve,
)
from privacy.services.common import PrivacyWorkFactory, clinic_of, now, resolve_subject, work_of

log = logging.getLogger(__name__)


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
        clinic = await clinic_of(work, principal)
        subject = await resolve_subject(work, principal.tenant_id, subject)
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
        work = work_of(uow)
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
    work = work_of(uow)
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
