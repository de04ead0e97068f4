"""Signed anamnesis forms (immutable: a trigger refuses UPDATE and DELETE) and the drafts before signing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.domain.errors import Conflict
from scheduling.models import anamnesis_drafts, anamnesis_submissions


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

    async def draft(self, tenant_id: str, appointment_id: str, questionnaire_id: str) -> Any | None:
        d = anamnesis_drafts.c
        q = select(anamnesis_drafts).where(
            d.tenant_id == tenant_id, d.appointment_id == appointment_id, d.questionnaire_id == questionnaire_id
        )
        return (await self.session.execute(q)).first()

    async def save_draft(
        self, tenant_id: str, appointment_id: str, questionnaire_id: str, answers: dict[str, Any], saved_at: datetime
    ) -> None:
        q = insert(anamnesis_drafts).values(
            tenant_id=tenant_id, appointment_id=appointment_id, questionnaire_id=questionnaire_id,
            answers=answers, saved_at=saved_at,
        )  # fmt: skip
        await self.session.execute(
            q.on_conflict_do_update(
                index_elements=["appointment_id", "questionnaire_id"],
                set_={"answers": q.excluded.answers, "saved_at": q.excluded.saved_at},
                where=anamnesis_drafts.c.tenant_id == tenant_id,
            )
        )

    async def drop_draft(self, tenant_id: str, appointment_id: str, questionnaire_id: str) -> None:
        d = anamnesis_drafts.c
        await self.session.execute(
            delete(anamnesis_drafts).where(
                d.tenant_id == tenant_id, d.appointment_id == appointment_id, d.questionnaire_id == questionnaire_id
            )
        )
