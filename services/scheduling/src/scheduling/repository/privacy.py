"""Export and erasure of one person's data held by scheduling (docs/privacy.md); the only queries of it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from contracts.privacy import Subject
from kit.privacy import ERASED_NAME
from scheduling.models import anamnesis_drafts, anamnesis_submissions, appointments, waitlist_entries


def _person_match(person: Any, subject: Subject) -> list[ColumnElement[bool]]:
    """Conditions on a `person` JSON column (contracts.people.Person)."""
    match: list[ColumnElement[bool]] = []
    if subject.lead_ids:
        match.append(person["lead_id"].astext.in_(subject.lead_ids))
    if subject.patient_ids:
        match.append(person["patient_id"].astext.in_(subject.patient_ids))
    if subject.phones:
        match.append(person["phone"].astext.in_(subject.phones))
    if subject.emails:
        match.append(func.lower(person["email"].astext).in_(subject.emails))
    return match


def _erased_person(person: Any) -> Any:
    """The person JSON with the ids kept (the visit stays the patient's) and everything else gone."""
    erased = literal({"name": ERASED_NAME, "phone": None, "email": None}, type_=JSONB)
    return person.op("||")(erased)


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _appointment_ids(self, tenant_id: str, subject: Subject) -> list[str]:
        match = _person_match(appointments.c.person, subject)
        if subject.lead_ids:
            match.append(appointments.c.lead_id.in_(subject.lead_ids))
        if subject.patient_ids:
            match.append(appointments.c.patient_id.in_(subject.patient_ids))
        if not match:
            return []
        query = select(appointments.c.id).where(appointments.c.tenant_id == tenant_id, or_(*match))
        return [r.id for r in (await self.session.execute(query)).all()]

    def _anamnesis(self, tenant_id: str, subject: Subject, appointment_ids: list[str]) -> ColumnElement[bool]:
        match: list[ColumnElement[bool]] = [anamnesis_submissions.c.appointment_id.in_(appointment_ids)]
        if subject.lead_ids:
            match.append(anamnesis_submissions.c.lead_id.in_(subject.lead_ids))
        if subject.patient_ids:
            match.append(anamnesis_submissions.c.patient_id.in_(subject.patient_ids))
        return (anamnesis_submissions.c.tenant_id == tenant_id) & or_(*match)

    def _waitlist(self, tenant_id: str, subject: Subject) -> ColumnElement[bool] | None:
        match = _person_match(waitlist_entries.c.person, subject)
        return (waitlist_entries.c.tenant_id == tenant_id) & or_(*match) if match else None

    async def _rows(self, query: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]

    async def export(self, tenant_id: str, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        ids = await self._appointment_ids(tenant_id, subject)
        waitlist = self._waitlist(tenant_id, subject)
        return {
            "appointments": await self._rows(
                select(appointments).where(appointments.c.tenant_id == tenant_id, appointments.c.id.in_(ids))
            ),
            "anamnesis": await self._rows(
                select(anamnesis_submissions).where(self._anamnesis(tenant_id, subject, ids))
            ),
            "anamnesis_drafts": await self._rows(
                select(anamnesis_drafts).where(
                    anamnesis_drafts.c.tenant_id == tenant_id, anamnesis_drafts.c.appointment_id.in_(ids)
                )
            ),
            "waitlist": await self._rows(select(waitlist_entries).where(waitlist)) if waitlist is not None else [],
        }

    async def erase(self, tenant_id: str, subject: Subject) -> tuple[dict[str, int], dict[str, int]]:
        """Appointments keep their times, procedures and outcomes (the clinic's figures) without the person's name
        and contacts; signed anamnesis forms are part of the clinical record the clinic must keep (in Brazil 20
        years, CFM 1.821/2007): retained, counted as such. Unsigned drafts go."""
        ids = await self._appointment_ids(tenant_id, subject)

        async def run(stmt: Any) -> int:
            return int(getattr(await self.session.execute(stmt), "rowcount", 0) or 0)

        counts = {
            "appointments": await run(
                update(appointments)
                .where(appointments.c.tenant_id == tenant_id, appointments.c.id.in_(ids))
                .values(person=_erased_person(appointments.c.person), cancel_reason=None)
            ),
            "anamnesis_drafts": await run(
                delete(anamnesis_drafts).where(
                    anamnesis_drafts.c.tenant_id == tenant_id, anamnesis_drafts.c.appointment_id.in_(ids)
                )
            ),
        }
        waitlist = self._waitlist(tenant_id, subject)
        counts["waitlist"] = (
            await run(update(waitlist_entries).where(waitlist).values(person=_erased_person(waitlist_entries.c.person)))
            if waitlist is not None
            else 0
        )
        signed = (
            await self.session.execute(
                select(func.count()).select_from(anamnesis_submissions).where(self._anamnesis(tenant_id, subject, ids))
            )
        ).scalar_one()
        return counts, {"anamnesis": int(signed)}
