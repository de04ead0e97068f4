"""Export and erasure of one person's data held by payments (docs/privacy.md); the only queries of it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from contracts.privacy import Subject
from kit.privacy import ERASED_NAME
from payments.models import charges, lead_sources, refunds


class PrivacyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _charges(self, tenant_id: str, subject: Subject) -> ColumnElement[bool] | None:
        match: list[ColumnElement[bool]] = []
        if subject.lead_ids:
            match.append(charges.c.lead_id.in_(subject.lead_ids))
        if subject.patient_ids:
            match.append(charges.c.patient_id.in_(subject.patient_ids))
        if subject.phones:
            match.append(charges.c.person_phone.in_(subject.phones))
        if subject.emails:
            match.append(func.lower(charges.c.person_email).in_(subject.emails))
        return (charges.c.tenant_id == tenant_id) & or_(*match) if match else None

    async def _rows(self, query: Any) -> list[dict[str, Any]]:
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]

    async def export(self, tenant_id: str, subject: Subject) -> dict[str, list[dict[str, Any]]]:
        mine = self._charges(tenant_id, subject)
        if mine is None:
            return {"charges": [], "refunds": []}
        found = await self._rows(select(charges).where(mine).order_by(charges.c.created_at))
        ids = [c["id"] for c in found]
        sources: list[ColumnElement[bool]] = []
        if subject.lead_ids:
            sources.append(lead_sources.c.lead_id.in_(subject.lead_ids))
        if subject.patient_ids:
            sources.append(lead_sources.c.patient_id.in_(subject.patient_ids))
        return {
            "charges": found,
            "refunds": await self._rows(
                select(refunds).where(refunds.c.tenant_id == tenant_id, refunds.c.charge_id.in_(ids))
            ),
            "lead_sources": await self._rows(
                select(lead_sources).where(lead_sources.c.tenant_id == tenant_id, or_(*sources))
            )
            if sources
            else [],
        }

    async def erase(self, tenant_id: str, subject: Subject) -> tuple[dict[str, int], dict[str, int]]:
        """A paid (or refunded) charge is a fiscal record the clinic must keep (Brazil: 5 years, CTN art. 173):
        it keeps the payer's name and amounts, retained and counted as such, and loses the contacts and the
        payment links. An unpaid charge loses the name too. Amounts never change: revenue stays right."""
        mine = self._charges(tenant_id, subject)
        if mine is None:
            return {"charges": 0}, {"charges": 0}
        paid = charges.c.paid_at.is_not(None)
        contacts = {"person_phone": None, "person_email": None, "checkout_url": None, "pix_code": None}
        retained = getattr(
            await self.session.execute(update(charges).where(mine, paid).values(**contacts)), "rowcount", 0
        )
        unpaid = update(charges).where(mine, ~paid).values(person_name=ERASED_NAME, **contacts)
        erased = getattr(await self.session.execute(unpaid), "rowcount", 0)
        return {"charges": int(erased or 0)}, {"charges": int(retained or 0)}
