"""Signed anamnesis forms (immutable: a trigger refuses UPDATE and DELETE)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.domain.errors import Conflict
from scheduling.models import anamnesis_submissions


class AnamnesisRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> None:
        try:
            async with self.session.begin_nested():
                await self.session.execute(anamnesis_submissions.insert().values(**values))
        except IntegrityError as exc:
            if "uq_anamnesis_once" in str(exc.orig):
                raise Conflict("This questionnaire was already signed for this visit.", slug="already-signed") from exc
            raise

    async def for_appointment(self, tenant_id: str, appointment_id: str) -> list[Any]:
        q = select(anamnesis_submissions).where(
            anamnesis_submissions.c.tenant_id == tenant_id, anamnesis_submissions.c.appointment_id == appointment_id
        )
        return list((await self.session.execute(q)).all())

    async def for_lead(self, tenant_id: str, lead_id: str) -> list[Any]:
        q = (
            select(anamnesis_submissions)
            .where(anamnesis_submissions.c.tenant_id == tenant_id, anamnesis_submissions.c.lead_id == lead_id)
            .order_by(anamnesis_submissions.c.signed_at)
        )
        return list((await self.session.execute(q)).all())
