"""Queries on patients (contact records of the clinic's patients)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from leads.domain.leads import search_key
from leads.domain.patients import Patient
from leads.domain.queries import TOTAL_CAP
from leads.models import patients

_FIELDS = (
    "id",
    "tenant_id",
    "name",
    "email",
    "cpf",
    "birth_date",
    "city",
    "locale",
    "lead_id",
    "created_by",
    "created_at",
    "updated_at",
)


def to_patient(row: Any) -> Patient:
    return Patient(**{f: getattr(row, f) for f in _FIELDS}, phones=tuple(row.phones or ()))


class PatientRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, patient: Patient) -> None:
        values = {f: getattr(patient, f) for f in _FIELDS}
        await self.session.execute(
            patients.insert().values(**values, phones=list(patient.phones), name_search=search_key(patient.name))
        )

    async def get(self, tenant_id: str, patient_id: str, *, for_update: bool = False) -> Patient | None:
        query = select(patients).where(patients.c.tenant_id == tenant_id, patients.c.id == patient_id)
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return to_patient(row) if row else None

    async def set_lead(self, tenant_id: str, patient_id: str, lead_id: str, *, at: datetime) -> None:
        await self.session.execute(
            update(patients)
            .where(patients.c.tenant_id == tenant_id, patients.c.id == patient_id, patients.c.lead_id.is_(None))
            .values(lead_id=lead_id, updated_at=at)
        )

    async def lock_identity(self, tenant_id: str, cpf: str | None, email: str | None) -> None:
        """Serialise registrations of the same CPF / e-mail in a clinic until commit (no unique index: a
        patient may lack both), so two desks registering one person at once cannot make two records."""
        for key in (f"cpf:{cpf}" if cpf else None, f"email:{email}" if email else None):
            if key:
                await self.session.execute(
                    select(func.pg_advisory_xact_lock(func.hashtextextended(f"patients:{tenant_id}:{key}", 0)))
                )

    async def by_identity(self, tenant_id: str, *, cpf: str | None, email: str | None) -> list[Patient]:
        """Patients of the clinic with this CPF or this e-mail."""
        evidence: list[ColumnElement[bool]] = []
        if cpf:
            evidence.append(patients.c.cpf == cpf)
        if email:
            evidence.append(patients.c.email == email)
        if not evidence:
            return []
        query = (
            select(patients)
            .where(patients.c.tenant_id == tenant_id, or_(*evidence))
            .order_by(patients.c.created_at, patients.c.id)
            .limit(50)
        )
        return [to_patient(r) for r in (await self.session.execute(query)).all()]

    async def page(
        self,
        tenant_id: str,
        *,
        phones: list[str],
        cpf: str | None,
        email: str | None,
        name_key: str | None,
        limit: int,
        offset: int,
    ) -> tuple[list[Patient], int]:
        where: list[ColumnElement[bool]] = [patients.c.tenant_id == tenant_id]
        texts: list[ColumnElement[bool]] = []
        if phones:
            texts.append(patients.c.phones.overlap(phones))
        if cpf:
            texts.append(patients.c.cpf == cpf)
        if email:
            texts.append(patients.c.email == email)
        if name_key:
            texts.append(patients.c.name_search.ilike(f"%{_escape_like(name_key)}%"))
        if texts:
            where.append(or_(*texts))
        order = [patients.c.name_search, patients.c.id] if name_key else [patients.c.created_at.desc(), patients.c.id]
        rows = (
            await self.session.execute(select(patients).where(*where).order_by(*order).limit(limit).offset(offset))
        ).all()
        capped = select(literal(1)).select_from(patients).where(*where).limit(TOTAL_CAP + 1).subquery()
        total = (await self.session.execute(select(func.count()).select_from(capped))).scalar_one()
        return [to_patient(r) for r in rows], int(total)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
