"""HTTP bodies for matching, merging, linking, converting and patients."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import msgspec

from kit.inputs import Uuid
from leads.domain.matching import Match
from leads.domain.patients import Patient
from leads.schemas.leads import LeadOut, Name, Phone

Email = Annotated[str, msgspec.Meta(max_length=254, examples=["maria.souza@example.com"])]
Cpf = Annotated[str, msgspec.Meta(max_length=20, examples=["111.444.777-35"])]
Id = Uuid


class MatchIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Any of these, at least one. The phone is read with the clinic's country; an old 8-digit Brazilian mobile
    is accepted and matched with its ninth-digit form."""

    phone: Phone | None = None
    email: Email | None = None
    cpf: Cpf | None = None
    name: Name | None = None


class CandidateOut(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # lead | patient
    id: str
    name: str
    #: The lead's status; null for a patient.
    status: str | None
    #: 0..100; 70 and above: the same person; below 25 not shown.
    score: int
    reasons: list[str]

    @classmethod
    def of(cls, m: Match) -> CandidateOut:
        c = m.candidate
        return cls(kind=c.kind, id=c.id, name=c.name, status=c.status, score=m.score, reasons=list(m.reasons))


class MatchOut(msgspec.Struct, frozen=True, kw_only=True):
    #: Best first.
    candidates: list[CandidateOut]


class MergeIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    #: The duplicate, merged into the lead of the path (which stays).
    other_id: Id


class LinkIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    patient_id: Id


class PatientIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    #: One phone (`phone`) or several (`phones`, the first is the main one).
    phone: Phone | None = None
    phones: list[Phone] | None = None
    email: Email | None = None
    cpf: Cpf | None = None
    birth_date: date | None = None
    city: Annotated[str, msgspec.Meta(max_length=120)] | None = None
    locale: Annotated[str, msgspec.Meta(examples=["pt-BR"])] | None = None

    def all_phones(self) -> list[str]:
        return [*([self.phone] if self.phone else []), *(self.phones or [])]


class PatientOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    phone: str | None
    phones: list[str]
    email: str | None
    cpf: str | None
    birth_date: date | None
    city: str | None
    locale: str | None
    #: The lead it was converted from or first linked to.
    lead_id: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, p: Patient) -> PatientOut:
        return cls(
            id=p.id,
            name=p.name,
            phone=p.phone,
            phones=list(p.phones),
            email=p.email,
            cpf=p.cpf,
            birth_date=p.birth_date,
            city=p.city,
            locale=p.locale,
            lead_id=p.lead_id,
            created_by=p.created_by,
            created_at=p.created_at,
            updated_at=p.updated_at,
        )


class PatientRegisteredOut(PatientOut, frozen=True, kw_only=True):
    #: Leads that look like this patient (best first), for reception to link.
    candidates: list[CandidateOut]


class PatientPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[PatientOut]
    #: Exact up to 1,000; `total_capped` says there are more.
    total: int
    total_capped: bool
    limit: int
    offset: int


class ConversionOut(msgspec.Struct, frozen=True, kw_only=True):
    patient: PatientOut
    #: False: the clinic already had this patient and the lead was linked to that record.
    created: bool
    #: Why the existing patient was taken ("same CPF", "same e-mail and name"); null when created.
    matched_by: str | None
    lead: LeadOut
