"""Privacy's unit of work, the clinic's settings and the people leads describes (a request names a known person)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from contracts import EventMeta
from contracts.leads import LeadConvertedV1, LeadCreatedV1, LeadUpdatedV1
from kit.auth import Principal
from kit.db import UnitOfWork
from privacy.domain import (
    Clinic,
    NotFound,
    Subject,
    clinic_for,
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


def work_of(uow: UnitOfWork) -> PrivacyUnitOfWork:
    """The consumers' unit of work is the worker's PrivacyUnitOfWork (create_worker_app(unit_of_work=...))."""
    assert isinstance(uow, PrivacyUnitOfWork)
    return uow


# --- the clinic ------------------------------------------------------------------------------------
async def clinic_of(work: PrivacyUnitOfWork, principal: Principal) -> Clinic:
    """The clinic's privacy settings; recorded from the token's country on first use."""
    found = await work.clinics.get(principal.tenant_id)
    if found is None:
        found = clinic_for(principal.tenant_id, principal.country, now())
        await work.clinics.save(found)
    return found


async def get_clinic(uow: PrivacyWorkFactory, principal: Principal) -> Clinic:
    async with uow() as work:
        clinic = await clinic_of(work, principal)
        await work.commit()
    return clinic


async def set_clinic(
    uow: PrivacyWorkFactory, principal: Principal, *, country: str | None, response_days: int | None
) -> Clinic:
    async with uow() as work:
        current = await clinic_of(work, principal)
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
    await work_of(uow).people.remember(
        meta.tenant_id,
        event.lead_id,
        phone=event.phone or None,
        email=event.email,
        patient_id=event.patient_id if isinstance(event, LeadConvertedV1) else None,
        at=at,
    )


async def resolve_subject(work: PrivacyUnitOfWork, tenant_id: str, subject: Subject) -> Subject:
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
