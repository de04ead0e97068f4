"""Appointments and holds: one table, no overlap (the exclusion constraint), busy spans, the board."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import BigInteger, case, delete, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.domain.appointments import ACTIVE, HELD, Appointment, Person
from scheduling.domain.errors import Conflict
from scheduling.domain.setup import MAX_DURATION_MINUTES
from scheduling.domain.slots import BusySeconds
from scheduling.models import appointments
from scheduling.repository import rows

#: LISTEN/NOTIFY channel of waiting-room changes; the payload is "<tenant id>:<branch id>".
BOARD_CHANNEL = "scheduling_board"
#: NOTIFYed by a trigger on every change of what occupies a professional; payload "<tenant id>:<professional id>".
BUSY_CHANNEL = "scheduling_busy"
_OVERLAP = "ex_appointments_no_overlap"


def _overlap_error(exc: IntegrityError) -> bool:
    return _OVERLAP in str(exc.orig)


class AppointmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, a: Appointment) -> None:
        """Insert; PostgreSQL's exclusion constraint refuses an overlap with an active row -> Conflict."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(appointments.insert().values(rows.appointment_values(a)))
        except IntegrityError as exc:
            if _overlap_error(exc):
                raise Conflict(
                    "That time is already taken for this professional.", field="starts_at", slug="slot-taken"
                ) from exc
            raise

    async def save(self, a: Appointment) -> None:
        values = {k: v for k, v in rows.appointment_values(a).items() if k not in ("id", "tenant_id")}
        try:
            async with self.session.begin_nested():
                await self.session.execute(
                    update(appointments)
                    .where(appointments.c.tenant_id == a.tenant_id, appointments.c.id == a.id)
                    .values(values)
                )
        except IntegrityError as exc:
            if _overlap_error(exc):
                raise Conflict(
                    "That time is already taken for this professional.", field="starts_at", slug="slot-taken"
                ) from exc
            raise

    async def get(self, tenant_id: str, appointment_id: str, *, lock: bool = False) -> Appointment | None:
        q = select(appointments).where(appointments.c.tenant_id == tenant_id, appointments.c.id == appointment_id)
        if lock:
            q = q.with_for_update()
        r = (await self.session.execute(q)).first()
        return rows.appointment(r) if r else None

    async def drop_expired_holds(
        self, tenant_id: str, professional_id: str, start: datetime, end: datetime, now: datetime
    ) -> None:
        """Expired holds that overlap [start, end) give way before a new booking is inserted (a lapsed waitlist
        offer first goes to the next person waiting: its timer runs every 2 s)."""
        await self.session.execute(
            delete(appointments).where(
                appointments.c.source != "waitlist",
                appointments.c.tenant_id == tenant_id,
                appointments.c.professional_id == professional_id,
                appointments.c.status == HELD,
                appointments.c.hold_expires_at <= now,
                appointments.c.starts_at < end,
                appointments.c.ends_at > start,
            )
        )

    async def purge_expired_holds(self, now: datetime, limit: int = 1000) -> int:
        ids = (
            select(appointments.c.id)
            # lapsed waitlist offers are passed on by their own timer first
            .where(
                appointments.c.status == HELD,
                appointments.c.hold_expires_at <= now,
                appointments.c.source != "waitlist",
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await self.session.execute(delete(appointments).where(appointments.c.id.in_(ids)))
        return int(getattr(result, "rowcount", 0) or 0)

    async def busy_seconds(
        self, tenant_id: str, professional_ids: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, BusySeconds]:
        """What occupies each professional in [start, end), as epoch seconds sorted by start: availability's hot
        path. PostgreSQL converts and groups (one row of int8 arrays per professional, not thousands of rows),
        and the lower bound on `starts_at` keeps the index scans to the window, as nothing lasts longer than a
        procedure can (MAX_DURATION_MINUTES). Holds come with their expiry (the reader drops lapsed ones), so
        an answer stays true until the professional's next change (the `scheduling_busy` NOTIFY)."""
        if not professional_ids:
            return {}
        c = appointments.c
        # date_part is float8 (extract is numeric since PostgreSQL 14, several times slower per row); a
        # fraction of a second widens a span, never narrows it
        starts = func.floor(func.date_part("epoch", c.starts_at)).cast(BigInteger)
        ends = func.ceil(func.date_part("epoch", c.ends_at)).cast(BigInteger)
        expiry = case((c.status == HELD, func.ceil(func.date_part("epoch", c.hold_expires_at)).cast(BigInteger)))
        q = (
            select(
                c.professional_id,
                func.array_agg(aggregate_order_by(starts, c.starts_at)),
                func.array_agg(aggregate_order_by(ends, c.starts_at)),
                func.array_agg(aggregate_order_by(expiry, c.starts_at)),
            )
            .where(
                c.tenant_id == tenant_id,
                c.professional_id.in_(list(professional_ids)),
                c.status.in_(sorted(ACTIVE)),
                c.starts_at < end,
                c.starts_at > start - timedelta(minutes=MAX_DURATION_MINUTES),
                c.ends_at > start,
            )
            .group_by(c.professional_id)
        )
        found = {pid: BusySeconds([], [], []) for pid in professional_ids}
        for pid, s, e, x in (await self.session.execute(q)).tuples():
            found[str(pid)] = BusySeconds(list(s), list(e), list(x))
        return found

    async def between(
        self,
        tenant_id: str,
        start: datetime,
        end: datetime,
        *,
        branch_id: str | None = None,
        professional_id: str | None = None,
        statuses: Iterable[str] | None = None,
    ) -> list[Appointment]:
        q = select(appointments).where(
            appointments.c.tenant_id == tenant_id,
            appointments.c.starts_at >= start,
            appointments.c.starts_at < end,
            appointments.c.status != HELD,
        )
        if branch_id:
            q = q.where(appointments.c.branch_id == branch_id)
        if professional_id:
            q = q.where(appointments.c.professional_id == professional_id)
        if statuses is not None:
            q = q.where(appointments.c.status.in_(list(statuses)))
        q = q.order_by(appointments.c.starts_at, appointments.c.professional_id).limit(5000)
        return [rows.appointment(r) for r in (await self.session.execute(q)).all()]

    async def arrived_between(
        self, tenant_id: str, branch_id: str, start: datetime, end: datetime
    ) -> list[Appointment]:
        q = (
            select(appointments)
            .where(
                appointments.c.tenant_id == tenant_id,
                appointments.c.branch_id == branch_id,
                appointments.c.arrived_at >= start,
                appointments.c.arrived_at < end,
            )
            .order_by(appointments.c.arrived_at)
        )
        return [rows.appointment(r) for r in (await self.session.execute(q)).all()]

    async def returns_to_book(self, tenant_id: str, branch_id: str | None) -> list[Appointment]:
        q = select(appointments).where(
            appointments.c.tenant_id == tenant_id,
            appointments.c.return_needed,  # not `IS true`: so PostgreSQL uses ix_appointments_returns
            appointments.c.return_booked_id.is_(None),
        )
        if branch_id:
            q = q.where(appointments.c.branch_id == branch_id)
        q = q.order_by(appointments.c.completed_at).limit(500)
        return [rows.appointment(r) for r in (await self.session.execute(q)).all()]

    async def had_visit_before(self, tenant_id: str, person: Person, before: datetime, exclude: str) -> bool:
        who = []
        if person.lead_id:
            who.append(appointments.c.lead_id == person.lead_id)
        if person.patient_id:
            who.append(appointments.c.patient_id == person.patient_id)
        if not who:
            return False
        q = select(
            exists().where(
                appointments.c.tenant_id == tenant_id,
                or_(*who),
                appointments.c.id != exclude,
                appointments.c.arrived_at.is_not(None),
                appointments.c.arrived_at < before,
            )
        )
        return bool((await self.session.execute(q)).scalar())

    async def notify_board(self, tenant_id: str, branch_id: str) -> None:
        """Wakes every api replica's waiting-room streams at commit (NOTIFY is transactional)."""
        await self.session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": BOARD_CHANNEL, "payload": f"{tenant_id}:{branch_id}"},
        )
