"""Paid entitlements (from payment.confirmed): what unlocks a prepaid procedure."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.domain.appointments import Person
from scheduling.models import entitlements


class EntitlementRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> bool:
        stmt = insert(entitlements).values(**values).on_conflict_do_nothing().returning(entitlements.c.payment_id)
        return (await self.session.execute(stmt)).first() is not None

    async def find_unused(
        self, tenant_id: str, person: Person, procedure_id: str, payment_id: str | None = None
    ) -> Any | None:
        who = []
        if person.lead_id:
            who.append(entitlements.c.lead_id == person.lead_id)
        if person.patient_id:
            who.append(entitlements.c.patient_id == person.patient_id)
        if not who and payment_id is None:
            return None
        q = select(entitlements).where(
            entitlements.c.tenant_id == tenant_id,
            entitlements.c.used_by.is_(None),
            entitlements.c.refunded.is_(False),
            or_(entitlements.c.procedure_id == procedure_id, entitlements.c.procedure_id.is_(None)),
        )
        if payment_id is not None:
            q = q.where(entitlements.c.payment_id == payment_id)
        if who:
            q = q.where(or_(*who))
        q = q.order_by(entitlements.c.paid_at).limit(1).with_for_update(skip_locked=True)
        return (await self.session.execute(q)).first()

    async def use(self, tenant_id: str, payment_id: str, appointment_id: str) -> None:
        await self.session.execute(
            update(entitlements)
            .where(entitlements.c.tenant_id == tenant_id, entitlements.c.payment_id == payment_id)
            .values(used_by=appointment_id)
        )

    async def mark_refunded(self, tenant_id: str, payment_id: str) -> None:
        await self.session.execute(
            update(entitlements)
            .where(entitlements.c.tenant_id == tenant_id, entitlements.c.payment_id == payment_id)
            .values(refunded=True)
        )

    async def for_person(self, tenant_id: str, lead_id: str) -> list[Any]:
        q = (
            select(entitlements)
            .where(entitlements.c.tenant_id == tenant_id, entitlements.c.lead_id == lead_id)
            .order_by(entitlements.c.paid_at)
        )
        return list((await self.session.execute(q)).all())
