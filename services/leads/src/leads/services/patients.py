"""Use cases on patients: register (with the matching prospects), read, search; link and convert a lead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

import msgspec

from contracts.leads import LeadConvertedV1
from kit.auth import Principal
from kit.context import new_id
from leads import documents, phones
from leads.domain import leads as rules
from leads.domain import matching
from leads.domain import patients as patient_rules
from leads.domain.errors import Conflict, InvalidLead, NotFound
from leads.domain.leads import Lead
from leads.domain.patients import Patient
from leads.domain.queries import capped, classify_text, search_cpf
from leads.services.common import audit, load_lead, now
from leads.services.matching import find_candidates, query_phone_variants
from leads.services.work import LeadsWork, LeadsWorkFactory


class NewPatient(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    phones: list[str]
    email: str | None = None
    cpf: str | None = None
    birth_date: date | None = None
    city: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class Registered:
    patient: Patient
    #: Leads that look like the same person, for reception to link.
    candidates: list[matching.Match]


@dataclass(frozen=True)
class Conversion:
    lead: Lead
    patient: Patient
    #: False when the lead was linked to an existing patient record instead.
    created: bool
    #: Why an existing patient was used ("same CPF", "same e-mail and name"); None when created.
    matched_by: str | None


def _auditable(patient: Patient) -> dict[str, object]:
    values: dict[str, object] = {
        "name": patient.name,
        "phones": list(patient.phones),
        "email": patient.email,
        "cpf": patient.cpf,
        "birth_date": patient.birth_date.isoformat() if patient.birth_date else None,
        "city": patient.city,
        "locale": patient.locale,
        "lead_id": patient.lead_id,
    }
    return {k: [None, v] for k, v in values.items() if v not in (None, [])}


async def register(uow_factory: LeadsWorkFactory, principal: Principal, data: NewPatient) -> Registered:
    """A new patient record; refused (409) when a patient of the clinic already has the CPF."""
    if not data.phones:
        raise InvalidLead("A patient needs at least one phone number.", field="phones")
    all_phones = [phones.to_e164(p, principal.country) for p in data.phones]
    email = rules.clean_email(data.email)
    cpf = documents.clean_cpf(data.cpf)
    tenant_id = principal.tenant_id
    at = now()
    async with uow_factory() as uow:
        repo = uow.patients
        await repo.lock_identity(tenant_id, cpf, email)
        if cpf:
            same = await repo.by_identity(tenant_id, cpf=cpf, email=None)
            if same:
                raise Conflict(f"Patient {same[0].name} ({same[0].id}) already has this CPF.", field="cpf")
        patient = patient_rules.new_patient(
            patient_id=new_id(),
            tenant_id=tenant_id,
            name=data.name,
            phones=all_phones,
            email=email,
            cpf=cpf,
            birth_date=data.birth_date,
            city=data.city,
            locale=data.locale or principal.locale,
            lead_id=None,
            created_by=principal.user_id,
            now=at,
        )
        await repo.add(patient)
        await audit(
            uow,
            tenant_id,
            entity="patient",
            entity_id=patient.id,
            lead_id=None,
            action="created",
            actor_id=principal.user_id,
            changes=_auditable(patient),
            at=at,
        )
        candidates = await find_candidates(
            uow,
            tenant_id,
            matching.Contact(patient.name, patient.phones, patient.email, patient.cpf),
            kinds=("lead",),
            by_name=False,  # DESIGN §1 C: by phone, e-mail and CPF
        )
        await uow.commit()
    return Registered(patient=patient, candidates=candidates)


async def get_patient(uow_factory: LeadsWorkFactory, principal: Principal, patient_id: str) -> Patient:
    async with uow_factory() as uow:
        patient = await uow.patients.get(principal.tenant_id, patient_id)
    if patient is None:
        raise NotFound(f"No patient {patient_id} in this clinic.", field="patient_id")
    return patient


async def find_patients(
    uow_factory: LeadsWorkFactory, principal: Principal, text: str | None, *, limit: int, offset: int
) -> tuple[list[Patient], int, bool]:
    """The clinic's patients, newest first; `text` is a name, phone, e-mail or CPF. The total is counted up to
    TOTAL_CAP (the bool: there are more)."""
    found_phones: list[str] = []
    cpf = email = name_key = None
    if text and text.strip():
        found = classify_text(text)
        if found.phone_digits:
            try:
                found_phones = query_phone_variants(text, principal.country, field="q")
            except InvalidLead:
                found_phones = ["+" + found.phone_digits]
            cpf = search_cpf(found)
        email, name_key = found.email, found.name
    async with uow_factory() as uow:
        items, total = await uow.patients.page(
            principal.tenant_id,
            phones=found_phones,
            cpf=cpf,
            email=email,
            name_key=name_key,
            limit=limit,
            offset=offset,
        )
    return items, *capped(total)


def _converted(lead: Lead, patient: Patient, actor: str, at: datetime) -> LeadConvertedV1:
    return LeadConvertedV1(
        lead_id=lead.id,
        patient_id=patient.id,
        name=lead.name,
        phone=lead.phone,
        email=lead.email,
        converted_by=actor,
        converted_at=at,
    )


async def _lead_for_update(uow: LeadsWork, tenant_id: str, lead_id: str) -> Lead:
    return await load_lead(uow, tenant_id, lead_id, for_update=True, field="lead_id")


async def link(uow_factory: LeadsWorkFactory, principal: Principal, lead_id: str, patient_id: str) -> Lead:
    """The lead is this patient (a conversion onto an existing record): `lead.converted` is published.
    Linking again to the same patient changes nothing; to another patient is refused (409)."""
    tenant_id = principal.tenant_id
    async with uow_factory() as uow:
        lead = await _lead_for_update(uow, tenant_id, lead_id)
        patients = uow.patients
        patient = await patients.get(tenant_id, patient_id, for_update=True)
        if patient is None:
            raise NotFound(f"No patient {patient_id} in this clinic.", field="patient_id")
        at = now()
        after = patient_rules.link(lead, patient, actor=principal.user_id, now=at)
        if lead.patient_id == patient.id:
            return lead
        await uow.leads.save(lead, after)
        await patients.set_lead(tenant_id, patient.id, lead.id, at=at)
        await audit(
            uow,
            tenant_id,
            entity="lead",
            entity_id=lead.id,
            lead_id=lead.id,
            action="linked",
            actor_id=principal.user_id,
            changes={"patient_id": [None, patient.id], "patient_name": patient.name},
            at=at,
        )
        uow.publish(_converted(after, patient, principal.user_id, at), tenant_id=tenant_id)
        await uow.commit()
    return after


async def convert(uow_factory: LeadsWorkFactory, principal: Principal, lead_id: str) -> Conversion:
    """Qualify the lead into a patient record and link them; when the clinic already has this patient (same
    CPF, or same e-mail and name), link to that record instead of making a second one."""
    tenant_id = principal.tenant_id
    async with uow_factory() as uow:
        lead = await _lead_for_update(uow, tenant_id, lead_id)
        patient_rules.check_can_convert(lead)
        patients = uow.patients
        await patients.lock_identity(tenant_id, lead.cpf, lead.email)
        at = now()
        existing = patient_rules.existing_patient(
            lead, await patients.by_identity(tenant_id, cpf=lead.cpf, email=lead.email)
        )
        if existing is not None:
            patient, matched_by = existing
            await patients.set_lead(tenant_id, patient.id, lead.id, at=at)
        else:
            patient = patient_rules.patient_from_lead(lead, patient_id=new_id(), actor=principal.user_id, now=at)
            matched_by = None
            await patients.add(patient)
            await audit(
                uow,
                tenant_id,
                entity="patient",
                entity_id=patient.id,
                lead_id=lead.id,
                action="created",
                actor_id=principal.user_id,
                changes=_auditable(patient),
                at=at,
            )
        after = patient_rules.link(lead, patient, actor=principal.user_id, now=at)
        await uow.leads.save(lead, after)
        await audit(
            uow,
            tenant_id,
            entity="lead",
            entity_id=lead.id,
            lead_id=lead.id,
            action="converted",
            actor_id=principal.user_id,
            changes={
                "patient_id": [None, patient.id],
                "created": existing is None,
                "matched_by": matched_by,
            },
            at=at,
        )
        uow.publish(_converted(after, patient, principal.user_id, at), tenant_id=tenant_id)
        await uow.commit()
    return Conversion(lead=after, patient=patient, created=existing is None, matched_by=matched_by)
