"""The durable reminder schedule: rows claimed with FOR UPDATE SKIP LOCKED."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.domain.appointments import ARRIVED, DONE, NO_SHOW
from scheduling.models import appointments, branches, procedures, professionals, reminders


class ReminderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(reminders.insert(), rows)

    async def drop_pending(self, appointment_id: str) -> None:
        await self.session.execute(
            delete(reminders).where(reminders.c.appointment_id == appointment_id, reminders.c.status == "pending")
        )

    async def for_appointment(self, appointment_id: str) -> list[Any]:
        q = select(reminders).where(reminders.c.appointment_id == appointment_id).order_by(reminders.c.due_at)
        return list((await self.session.execute(q)).all())

    async def claim_due(self, now: datetime, limit: int) -> list[Any]:
        """Due reminders with what the event needs, locked; SKIP LOCKED lets several workers share them.

        They are marked sent and their events written to the outbox in the same transaction, so a reminder
        fires once: a crash before the commit leaves it pending, after it leaves it sent.
        """
        due = (
            select(reminders.c.id)
            .where(reminders.c.status == "pending", reminders.c.due_at <= now)
            .order_by(reminders.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        ids = [r.id for r in (await self.session.execute(due)).all()]
        if not ids:
            return []
        # The person's no-shows and attended visits elsewhere in the clinic, for the no-show risk (indexed by
        # tenant and lead / patient id, like repository.waitlist.attendance).
        past = appointments.alias("past")
        same_person = and_(
            past.c.tenant_id == appointments.c.tenant_id,
            past.c.id != appointments.c.id,
            or_(
                and_(appointments.c.lead_id.is_not(None), past.c.lead_id == appointments.c.lead_id),
                and_(appointments.c.patient_id.is_not(None), past.c.patient_id == appointments.c.patient_id),
            ),
        )
        no_shows = select(func.count()).where(same_person, past.c.status == NO_SHOW).scalar_subquery()
        attended = select(func.count()).where(same_person, past.c.status.in_((DONE, ARRIVED))).scalar_subquery()
        q = (
            select(
                reminders.c.id.label("reminder_id"),
                no_shows.label("no_shows"),
                attended.label("attended"),
                reminders.c.offset_minutes,
                reminders.c.due_at,
                appointments,
                branches.c.name.label("branch_name"),
                branches.c.address.label("branch_address"),
                branches.c.timezone,
                professionals.c.name.label("professional_name"),
                procedures.c.name.label("procedure_name"),
            )
            .select_from(
                reminders.join(appointments, appointments.c.id == reminders.c.appointment_id)
                .join(branches, branches.c.id == appointments.c.branch_id)
                .join(professionals, professionals.c.id == appointments.c.professional_id)
                .join(procedures, procedures.c.id == appointments.c.procedure_id)
            )
            .where(reminders.c.id.in_(ids))
            .order_by(reminders.c.due_at)
        )
        rows = list((await self.session.execute(q)).all())
        await self.session.execute(update(reminders).where(reminders.c.id.in_(ids)).values(status="sent", sent_at=now))
        return rows
