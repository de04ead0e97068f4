"""The patient's contact record (the clinic's patients, as front desk knows them), linking and conversion."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from leads.domain.errors import Conflict
from leads.domain.leads import (
    Lead,
    check_birth_date,
    check_locale,
    clean_city,
    clean_email,
    clean_name,
    unique_phones,
)
from leads.domain.matching import Candidate, same_name


@dataclass(frozen=True)
class Patient:
    id: str
    tenant_id: str
    name: str
    phones: tuple[str, ...]
    email: str | None
    cpf: str | None
    birth_date: date | None
    city: str | None
    locale: str | None
    #: The lead it was converted from, if any.
    lead_id: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def phone(self) -> str | None:
        return self.phones[0] if self.phones else None


def new_patient(
    *,
    patient_id: str,
    tenant_id: str,
    name: str,
    phones: list[str] | tuple[str, ...],
    email: str | None,
    cpf: str | None,
    birth_date: date | None,
    city: str | None,
    locale: str | None,
    lead_id: str | None,
    created_by: str,
    now: datetime,
) -> Patient:
    """A patient record from already-normalised phones (E.164) and CPF (11 digits, checked)."""
    return Patient(
        id=patient_id,
        tenant_id=tenant_id,
        name=clean_name(name),
        phones=unique_phones(list(phones)),
        email=clean_email(email),
        cpf=cpf,
        birth_date=check_birth_date(birth_date, now.date()),
        city=clean_city(city),
        locale=check_locale(locale),
        lead_id=lead_id,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )


def patient_from_lead(lead: Lead, *, patient_id: str, actor: str, now: datetime) -> Patient:
    """Conversion: the patient record takes the lead's contact data and remembers the lead."""
    return new_patient(
        patient_id=patient_id,
        tenant_id=lead.tenant_id,
        name=lead.name,
        phones=lead.phones,
        email=lead.email,
        cpf=lead.cpf,
        birth_date=lead.birth_date,
        city=lead.city,
        locale=lead.locale,
        lead_id=lead.id,
        created_by=actor,
        now=now,
    )


def as_candidate(patient: Patient) -> Candidate:
    return Candidate(
        kind="patient",
        id=patient.id,
        name=patient.name,
        phones=patient.phones,
        email=patient.email,
        cpf=patient.cpf,
        status=None,
        is_open=True,
    )


def same_patient(lead: Lead, patient: Patient) -> str | None:
    """Why converting `lead` should reuse `patient` instead of creating a record: same CPF, or the same
    e-mail and the same name (a shared e-mail alone may be a parent's). None when it should not."""
    if lead.cpf and patient.cpf:
        return "same CPF" if lead.cpf == patient.cpf else None
    if (
        lead.email
        and patient.email
        and lead.email.lower() == patient.email.lower()
        and same_name(lead.name, patient.name)
    ):
        return "same e-mail and name"
    return None


def existing_patient(lead: Lead, patients: list[Patient]) -> tuple[Patient, str] | None:
    """The patient a conversion of `lead` links to instead of creating one (CPF first, oldest first)."""
    found = [(p, why) for p in patients if (why := same_patient(lead, p)) is not None]
    found.sort(key=lambda pw: (pw[1] != "same CPF", pw[0].created_at, pw[0].id))
    return found[0] if found else None


def check_can_convert(lead: Lead) -> None:
    if lead.merged_into is not None:
        raise Conflict(f"This lead was merged into {lead.merged_into}; convert that one.", field="lead_id")
    if lead.patient_id is not None:
        raise Conflict(f"This lead is already converted (patient {lead.patient_id}).", field="patient_id")


def link(lead: Lead, patient: Patient, *, actor: str, now: datetime) -> Lead:
    """The lead now points at its patient record. Linking again to the same patient is refused by the caller
    only when it is a different one."""
    if lead.merged_into is not None:
        raise Conflict(f"This lead was merged into {lead.merged_into}; link that one.", field="lead_id")
    if lead.patient_id is not None and lead.patient_id != patient.id:
        raise Conflict(
            f"This lead is already linked to patient {lead.patient_id}; it cannot be linked to another.",
            field="patient_id",
        )
    return replace(lead, patient_id=patient.id, updated_at=now, updated_by=actor)
