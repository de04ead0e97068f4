"""The only module of scheduling that builds queries."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, exists, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.domain.appointments import ACTIVE, HELD, Appointment, Person
from scheduling.domain.errors import Conflict
from scheduling.domain.setup import (
    Branch,
    Busy,
    ClinicPolicy,
    Interval,
    Procedure,
    Professional,
    WorkingHours,
    parse_hhmm,
)
from scheduling.models import (
    anamnesis_submissions,
    appointments,
    branches,
    clinic_policies,
    entitlements,
    procedures,
    professionals,
    questionnaires,
    reminders,
)

#: LISTEN/NOTIFY channel of waiting-room changes; the payload is "<tenant id>:<branch id>".
BOARD_CHANNEL = "scheduling_board"
_OVERLAP = "ex_appointments_no_overlap"
_APPT_FIELDS = tuple(f.name for f in fields(Appointment))


def _hhmm(t: Any) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def _branch(r: Any) -> Branch:
    return Branch(
        id=r.id,
        tenant_id=r.tenant_id,
        name=r.name,
        address=r.address,
        timezone=r.timezone,
        open_on_holidays=r.open_on_holidays,
        subdivision=r.subdivision,
        active=r.active,
    )


def _professional(r: Any) -> Professional:
    return Professional(
        id=r.id,
        tenant_id=r.tenant_id,
        name=r.name,
        kind=r.kind,
        specialties=tuple(r.specialties),
        branch_ids=tuple(r.branch_ids),
        hours=tuple(
            WorkingHours(
                weekday=h["weekday"],
                start=parse_hhmm(h["start"], "hours"),
                end=parse_hhmm(h["end"], "hours"),
                branch_id=h["branch_id"],
            )
            for h in r.hours
        ),
        breaks=tuple(
            Interval(weekday=b["weekday"], start=parse_hhmm(b["start"], "breaks"), end=parse_hhmm(b["end"], "breaks"))
            for b in r.breaks
        ),
        days_off=tuple(date.fromisoformat(d) for d in r.days_off),
        user_id=r.user_id,
        active=r.active,
    )


def professional_values(p: Professional) -> dict[str, Any]:
    return {
        "id": p.id,
        "tenant_id": p.tenant_id,
        "name": p.name,
        "kind": p.kind,
        "specialties": list(p.specialties),
        "branch_ids": list(p.branch_ids),
        "hours": [
            {"weekday": h.weekday, "start": _hhmm(h.start), "end": _hhmm(h.end), "branch_id": h.branch_id}
            for h in p.hours
        ],
        "breaks": [{"weekday": b.weekday, "start": _hhmm(b.start), "end": _hhmm(b.end)} for b in p.breaks],
        "days_off": [d.isoformat() for d in p.days_off],
        "user_id": p.user_id,
        "active": p.active,
    }


def _procedure(r: Any) -> Procedure:
    return Procedure(
        id=r.id,
        tenant_id=r.tenant_id,
        name=r.name,
        duration_minutes=r.duration_minutes,
        specialty=r.specialty,
        price_reference=r.price_reference,
        currency=r.currency,
        prepayment_required=r.prepayment_required,
        branch_ids=tuple(r.branch_ids),
        active=r.active,
    )


def _appointment(r: Any) -> Appointment:
    values = {k: getattr(r, k) for k in _APPT_FIELDS if k not in ("person", "procedures_done")}
    return Appointment(**values, person=Person(**r.person), procedures_done=tuple(r.procedures_done))


def appointment_values(a: Appointment) -> dict[str, Any]:
    values = {k: getattr(a, k) for k in _APPT_FIELDS}
    values["person"] = asdict(a.person)
    values["procedures_done"] = list(a.procedures_done)
    values["lead_id"] = a.person.lead_id
    values["patient_id"] = a.person.patient_id
    return values


def _overlap_error(exc: IntegrityError) -> bool:
    return _OVERLAP in str(exc.orig)


class SetupRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def policy(self, tenant_id: str) -> ClinicPolicy | None:
        r = (
            await self.session.execute(select(clinic_policies).where(clinic_policies.c.tenant_id == tenant_id))
        ).first()
        if r is None:
            return None
        return ClinicPolicy(
            country=r.country,
            reminder_offsets=tuple(r.reminder_offsets),
            refund_cutoff_hours=r.refund_cutoff_hours,
            hold_minutes=r.hold_minutes,
            slot_step_minutes=r.slot_step_minutes,
            min_lead_minutes=r.min_lead_minutes,
            anamnesis_questionnaire_id=r.anamnesis_questionnaire_id,
        )

    async def save_policy(self, tenant_id: str, policy: ClinicPolicy, now: datetime) -> None:
        values = {
            "country": policy.country,
            "reminder_offsets": list(policy.reminder_offsets),
            "refund_cutoff_hours": policy.refund_cutoff_hours,
            "hold_minutes": policy.hold_minutes,
            "slot_step_minutes": policy.slot_step_minutes,
            "min_lead_minutes": policy.min_lead_minutes,
            "anamnesis_questionnaire_id": policy.anamnesis_questionnaire_id,
            "updated_at": now,
        }
        stmt = insert(clinic_policies).values(tenant_id=tenant_id, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id"], set_=values))

    # --- branches ---
    async def add_branch(self, b: Branch, now: datetime) -> None:
        await self.session.execute(branches.insert().values(**asdict(b), created_at=now))

    async def save_branch(self, b: Branch) -> None:
        values = {k: v for k, v in asdict(b).items() if k not in ("id", "tenant_id")}
        await self.session.execute(
            update(branches).where(branches.c.tenant_id == b.tenant_id, branches.c.id == b.id).values(values)
        )

    async def branch(self, tenant_id: str, branch_id: str) -> Branch | None:
        q = select(branches).where(branches.c.tenant_id == tenant_id, branches.c.id == branch_id)
        r = (await self.session.execute(q)).first()
        return _branch(r) if r else None

    async def branches(self, tenant_id: str) -> list[Branch]:
        q = select(branches).where(branches.c.tenant_id == tenant_id).order_by(branches.c.name)
        return [_branch(r) for r in (await self.session.execute(q)).all()]

    # --- professionals ---
    async def add_professional(self, p: Professional, now: datetime) -> None:
        await self.session.execute(professionals.insert().values(**professional_values(p), created_at=now))

    async def save_professional(self, p: Professional) -> None:
        values = {k: v for k, v in professional_values(p).items() if k not in ("id", "tenant_id")}
        await self.session.execute(
            update(professionals)
            .where(professionals.c.tenant_id == p.tenant_id, professionals.c.id == p.id)
            .values(values)
        )

    async def professional(self, tenant_id: str, professional_id: str) -> Professional | None:
        q = select(professionals).where(professionals.c.tenant_id == tenant_id, professionals.c.id == professional_id)
        r = (await self.session.execute(q)).first()
        return _professional(r) if r else None

    async def professional_of_user(self, tenant_id: str, user_id: str) -> Professional | None:
        q = select(professionals).where(professionals.c.tenant_id == tenant_id, professionals.c.user_id == user_id)
        r = (await self.session.execute(q)).first()
        return _professional(r) if r else None

    async def professionals(self, tenant_id: str, branch_id: str | None = None) -> list[Professional]:
        q = select(professionals).where(professionals.c.tenant_id == tenant_id)
        if branch_id is not None:
            q = q.where(professionals.c.branch_ids.contains([branch_id]))
        q = q.order_by(professionals.c.name)
        return [_professional(r) for r in (await self.session.execute(q)).all()]

    # --- procedures ---
    async def add_procedure(self, p: Procedure, now: datetime) -> None:
        values = asdict(p)
        values["branch_ids"] = list(p.branch_ids)
        await self.session.execute(procedures.insert().values(**values, created_at=now))

    async def save_procedure(self, p: Procedure) -> None:
        values = {k: v for k, v in asdict(p).items() if k not in ("id", "tenant_id")}
        values["branch_ids"] = list(p.branch_ids)
        await self.session.execute(
            update(procedures).where(procedures.c.tenant_id == p.tenant_id, procedures.c.id == p.id).values(values)
        )

    async def procedure(self, tenant_id: str, procedure_id: str) -> Procedure | None:
        q = select(procedures).where(procedures.c.tenant_id == tenant_id, procedures.c.id == procedure_id)
        r = (await self.session.execute(q)).first()
        return _procedure(r) if r else None

    async def procedures(self, tenant_id: str) -> list[Procedure]:
        q = select(procedures).where(procedures.c.tenant_id == tenant_id).order_by(procedures.c.name)
        return [_procedure(r) for r in (await self.session.execute(q)).all()]

    # --- questionnaires ---
    async def add_questionnaire(
        self, *, id: str, tenant_id: str, name: str, sections: list[dict[str, Any]], user_id: str, now: datetime
    ) -> None:
        await self.session.execute(
            questionnaires.insert().values(
                id=id, tenant_id=tenant_id, name=name, sections=sections, created_by=user_id, created_at=now
            )
        )

    async def questionnaire(self, tenant_id: str, questionnaire_id: str) -> Any | None:
        q = select(questionnaires).where(
            questionnaires.c.tenant_id == tenant_id, questionnaires.c.id == questionnaire_id
        )
        return (await self.session.execute(q)).first()

    async def questionnaires(self, tenant_id: str) -> list[Any]:
        q = select(questionnaires).where(questionnaires.c.tenant_id == tenant_id).order_by(questionnaires.c.name)
        return list((await self.session.execute(q)).all())


class AppointmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, a: Appointment) -> None:
        """Insert; PostgreSQL's exclusion constraint refuses an overlap with an active row -> Conflict."""
        try:
            async with self.session.begin_nested():
                await self.session.execute(appointments.insert().values(appointment_values(a)))
        except IntegrityError as exc:
            if _overlap_error(exc):
                raise Conflict(
                    "That time is already taken for this professional.", field="starts_at", slug="slot-taken"
                ) from exc
            raise

    async def save(self, a: Appointment) -> None:
        values = {k: v for k, v in appointment_values(a).items() if k not in ("id", "tenant_id")}
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
        return _appointment(r) if r else None

    async def drop_expired_holds(
        self, tenant_id: str, professional_id: str, start: datetime, end: datetime, now: datetime
    ) -> None:
        """Expired holds that overlap [start, end) give way before a new booking is inserted."""
        await self.session.execute(
            delete(appointments).where(
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
            .where(appointments.c.status == HELD, appointments.c.hold_expires_at <= now)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        result = await self.session.execute(delete(appointments).where(appointments.c.id.in_(ids)))
        return int(getattr(result, "rowcount", 0) or 0)

    async def busy(
        self, tenant_id: str, professional_ids: Sequence[str], start: datetime, end: datetime, now: datetime
    ) -> list[Busy]:
        if not professional_ids:
            return []
        q = select(
            appointments.c.id, appointments.c.professional_id, appointments.c.starts_at, appointments.c.ends_at
        ).where(
            appointments.c.tenant_id == tenant_id,
            appointments.c.professional_id.in_(list(professional_ids)),
            appointments.c.status.in_(sorted(ACTIVE)),
            appointments.c.starts_at < end,
            appointments.c.ends_at > start,
            or_(appointments.c.status != HELD, appointments.c.hold_expires_at > now),
        )
        return [Busy(r.professional_id, r.starts_at, r.ends_at, r.id) for r in (await self.session.execute(q)).all()]

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
        return [_appointment(r) for r in (await self.session.execute(q)).all()]

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
        return [_appointment(r) for r in (await self.session.execute(q)).all()]

    async def returns_to_book(self, tenant_id: str, branch_id: str | None) -> list[Appointment]:
        q = select(appointments).where(
            appointments.c.tenant_id == tenant_id,
            appointments.c.return_needed.is_(True),
            appointments.c.return_booked_id.is_(None),
        )
        if branch_id:
            q = q.where(appointments.c.branch_id == branch_id)
        q = q.order_by(appointments.c.completed_at).limit(500)
        return [_appointment(r) for r in (await self.session.execute(q)).all()]

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
        q = (
            select(
                reminders.c.id.label("reminder_id"),
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
