"""The waitlist, its lapsed offers, and a person's attendance (for the no-show risk)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.domain.appointments import ARRIVED, DONE, HELD, NO_SHOW, Appointment, Person
from scheduling.domain.waitlist import WaitlistEntry
from scheduling.models import appointments, waitlist_entries
from scheduling.repository import rows


class WaitlistRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, e: WaitlistEntry) -> None:
        values = asdict(e)
        values["person"] = asdict(e.person)
        await self.session.execute(waitlist_entries.insert().values(**values))

    async def save(self, e: WaitlistEntry) -> None:
        await self.session.execute(
            update(waitlist_entries)
            .where(waitlist_entries.c.tenant_id == e.tenant_id, waitlist_entries.c.id == e.id)
            .values(status=e.status, hold_id=e.hold_id, offered_at=e.offered_at)
        )

    async def waiting(self, tenant_id: str, branch_id: str, procedure_id: str) -> list[WaitlistEntry]:
        """Waiting entries in arrival order, locked (SKIP LOCKED: two freed slots offer to two people)."""
        q = (
            select(waitlist_entries)
            .where(
                waitlist_entries.c.tenant_id == tenant_id,
                waitlist_entries.c.branch_id == branch_id,
                waitlist_entries.c.procedure_id == procedure_id,
                waitlist_entries.c.status == "waiting",
            )
            .order_by(waitlist_entries.c.created_at)
            .limit(200)
            .with_for_update(skip_locked=True)
        )
        return [rows.waitlist_entry(r) for r in (await self.session.execute(q)).all()]

    async def get(self, tenant_id: str, entry_id: str, *, lock: bool = False) -> WaitlistEntry | None:
        q = select(waitlist_entries).where(waitlist_entries.c.tenant_id == tenant_id, waitlist_entries.c.id == entry_id)
        if lock:
            q = q.with_for_update()
        r = (await self.session.execute(q)).first()
        return rows.waitlist_entry(r) if r else None

    async def of_hold(self, hold_id: str) -> WaitlistEntry | None:
        q = select(waitlist_entries).where(waitlist_entries.c.hold_id == hold_id).with_for_update()
        r = (await self.session.execute(q)).first()
        return rows.waitlist_entry(r) if r else None

    async def listing(self, tenant_id: str, branch_id: str | None) -> list[WaitlistEntry]:
        q = select(waitlist_entries).where(waitlist_entries.c.tenant_id == tenant_id)
        if branch_id:
            q = q.where(waitlist_entries.c.branch_id == branch_id)
        q = q.order_by(waitlist_entries.c.created_at).limit(500)
        return [rows.waitlist_entry(r) for r in (await self.session.execute(q)).all()]

    async def expired_holds(self, now: datetime, limit: int = 100) -> list[Appointment]:
        return await expired_waitlist_holds(self.session, now, limit)

    async def attendance(self, tenant_id: str, person: Person, exclude: str) -> tuple[int, int]:
        return await attendance(self.session, tenant_id, person, exclude)


async def expired_waitlist_holds(session: AsyncSession, now: datetime, limit: int = 100) -> list[Appointment]:
    q = (
        select(appointments)
        .where(
            appointments.c.status == HELD, appointments.c.source == "waitlist", appointments.c.hold_expires_at <= now
        )
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [rows.appointment(r) for r in (await session.execute(q)).all()]


async def attendance(session: AsyncSession, tenant_id: str, person: Person, exclude: str) -> tuple[int, int]:
    """(no-shows, attended visits) of a person in this clinic, this appointment aside."""
    who = []
    if person.lead_id:
        who.append(appointments.c.lead_id == person.lead_id)
    if person.patient_id:
        who.append(appointments.c.patient_id == person.patient_id)
    if not who:
        return 0, 0
    q = (
        select(appointments.c.status, func.count())
        .where(appointments.c.tenant_id == tenant_id, or_(*who), appointments.c.id != exclude)
        .group_by(appointments.c.status)
    )
    counts: dict[str, int] = {str(status): int(n) for status, n in (await session.execute(q)).all()}
    return int(counts.get(NO_SHOW, 0)), int(counts.get(DONE, 0)) + int(counts.get(ARRIVED, 0))
