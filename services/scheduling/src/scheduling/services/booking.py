"""Availability, holds and the appointment's life: book, confirm, reschedule, cancel, no-show."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts.scheduling import (
    AppointmentBookedV1,
    AppointmentCancelledV1,
    AppointmentConfirmedV1,
    AppointmentNoShowV1,
    AppointmentRescheduledV1,
)
from kit.context import new_id
from scheduling.domain import appointments as life
from scheduling.domain import reminders as timing
from scheduling.domain.appointments import Appointment, Person
from scheduling.domain.errors import Conflict, Invalid, NotFound, PaymentRequired
from scheduling.domain.setup import Branch, ClinicPolicy, Procedure, Professional
from scheduling.domain.slots import FreeTimes, Slot, check_bookable, free_times, local_days, slots_of, window
from scheduling.services import offers
from scheduling.services.env import (
    Env,
    busy_of,
    catalog_of,
    check_person,
    holidays_for,
    load_branch,
    load_procedure,
    load_professional,
    person_v1,
    policy_of,
)
from scheduling.services.work import SchedulingWork


# --- availability ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Available:
    """Free times per professional over the dates asked for (see domain.slots.free_times)."""

    branch: Branch
    procedure: Procedure
    start: date
    end: date
    step_minutes: int
    found: list[FreeTimes]

    def slots(self) -> list[tuple[Slot, Professional]]:
        """One sorted list of slots with their professional (the patient pages' shape)."""
        by_id = {f.professional.id: f.professional for f in self.found}
        return [(s, by_id[s.professional_id]) for s in slots_of(self.found, self.procedure.duration_minutes)]


async def availability(
    env: Env,
    tenant_id: str,
    *,
    branch_id: str,
    procedure_id: str,
    professional_id: str | None,
    start: date | None,
    end: date | None,
    country: str = "BR",
    public: bool = False,
) -> Available:
    """Free times of a branch for a procedure (optionally one professional) between two local dates, by
    default the coming week. The set-up and the busy time come from the api process's cache
    (services.catalog, invalidated by NOTIFY); on a miss, the busy time is one query."""
    now = env.clock.now()
    setup = await catalog_of(env, tenant_id)
    branch = setup.branch(branch_id)
    procedure = setup.procedure(procedure_id)
    policy = setup.policy_or_default(country)
    first, last = window(start, end, now.astimezone(branch.zone).date())
    days = local_days(first, last)
    candidates = [setup.professional(professional_id)] if professional_id else setup.professionals_at(branch_id)
    zone = branch.zone
    window_start = datetime.combine(days[0], datetime.min.time(), tzinfo=zone).astimezone(UTC)
    window_end = datetime.combine(days[-1] + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(UTC)
    busy = await busy_of(env, tenant_id, [p.id for p in candidates], window_start, window_end)
    found = free_times(
        branch=branch,
        procedure=procedure,
        professionals=candidates,
        busy_seconds={pid: spans.at(now) for pid, spans in busy.items()},
        days=days,
        policy=policy if public else replace(policy, min_lead_minutes=0),
        holidays=holidays_for(policy, branch, days),
        now=now,
    )
    return Available(branch, procedure, first, last, policy.slot_step_minutes, found)


# --- booking --------------------------------------------------------------------------------
async def _gate_payment(
    uow: SchedulingWork, tenant_id: str, procedure: Procedure, person: Person, payment_id: str | None
) -> str | None:
    """The payment that unlocks a prepaid procedure for this person, or PaymentRequired."""
    if not procedure.prepayment_required:
        return payment_id
    found = await uow.entitlements.find_unused(tenant_id, person, procedure.id, payment_id)
    if found is None:
        raise PaymentRequired(
            f"{procedure.name} needs prepayment: no confirmed payment for this person and procedure has been "
            "received yet. Send a payment link first; booking unlocks when the payment is confirmed.",
            field="payment_id" if payment_id else "person",
        )
    return str(found.payment_id)


def _reminder_rows(a: Appointment, policy: ClinicPolicy, zone: ZoneInfo, now: datetime) -> list[dict[str, object]]:
    return [
        {
            "id": new_id(),
            "tenant_id": a.tenant_id,
            "appointment_id": a.id,
            "offset_minutes": offset,
            "due_at": due,
            "status": "pending",
        }
        for offset, due in timing.schedule(a.starts_at, policy.reminder_offsets, zone, now)
    ]


def booked_event(
    env: Env, a: Appointment, branch: Branch, professional: Professional, procedure: Procedure
) -> AppointmentBookedV1:
    urls = env.links.appointment_urls(a.id, a.tenant_id)
    return AppointmentBookedV1(
        appointment_id=a.id,
        person=person_v1(a.person),
        branch_id=branch.id,
        branch_name=branch.name,
        branch_address=branch.address,
        professional_id=professional.id,
        professional_name=professional.name,
        procedure_id=procedure.id,
        procedure_name=procedure.name,
        specialty=procedure.specialty,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        timezone=branch.timezone,
        source=a.source,
        payment_id=a.payment_id,
        return_of=a.return_of,
        ics_url=urls["ics"],
        confirm_url=urls["confirm"],
        reschedule_url=urls["reschedule"],
        booked_by=a.booked_by,
        booked_at=a.created_at,
    )


async def book_in(
    env: Env,
    uow: SchedulingWork,
    tenant_id: str,
    *,
    branch_id: str,
    procedure_id: str,
    professional_id: str,
    starts_at: datetime,
    person: Person,
    source: str,
    booked_by: str,
    payment_id: str | None = None,
    hold_id: str | None = None,
    return_of: str | None = None,
    country: str = "BR",
) -> tuple[Appointment, Branch, Professional, Procedure]:
    """Book inside the caller's unit of work (returns book, online booking and payment-confirmed holds too)."""
    now = env.clock.now()
    check_person(person)
    policy = await policy_of(uow, tenant_id, country)
    branch = await load_branch(uow, tenant_id, branch_id)
    procedure = await load_procedure(uow, tenant_id, procedure_id)
    professional = await load_professional(uow, tenant_id, professional_id)
    starts_at = starts_at.astimezone(UTC)
    day = starts_at.astimezone(branch.zone).date()
    ends_at = check_bookable(
        branch=branch,
        procedure=procedure,
        professional=professional,
        starts_at=starts_at,
        holidays=holidays_for(policy, branch, [day]),
        now=now,
    )
    repo = uow.appointments
    held: Appointment | None = None
    if hold_id is not None:
        held = await repo.get(tenant_id, hold_id, lock=True)
        if held is None or held.status != life.HELD:
            raise NotFound("No such hold (it may have expired).", field="hold_id")
        if held.hold_expires_at is not None and held.hold_expires_at <= now:
            raise Conflict("The hold has expired; pick the time again.", field="hold_id", slug="hold-expired")
        if (held.professional_id, held.starts_at, held.procedure_id) != (professional.id, starts_at, procedure.id):
            raise Invalid("The hold is for another time, professional or procedure.", field="hold_id")
    if source != "return":
        payment_id = await _gate_payment(uow, tenant_id, procedure, person, payment_id)
    if held is not None:
        appointment = replace(
            held, status=life.BOOKED, hold_expires_at=None, person=person, payment_id=payment_id, updated_at=now
        )
        await repo.save(appointment)
    else:
        await repo.drop_expired_holds(tenant_id, professional.id, starts_at, ends_at, now)
        appointment = Appointment(
            id=new_id(),
            tenant_id=tenant_id,
            branch_id=branch.id,
            professional_id=professional.id,
            procedure_id=procedure.id,
            starts_at=starts_at,
            ends_at=ends_at,
            status=life.BOOKED,
            source=source,
            person=person,
            booked_by=booked_by,
            created_at=now,
            updated_at=now,
            payment_id=payment_id,
            return_of=return_of,
        )
        await repo.add(appointment)
    if payment_id is not None and procedure.prepayment_required:
        await uow.entitlements.use(tenant_id, payment_id, appointment.id)
    await uow.reminders.add_many(_reminder_rows(appointment, policy, branch.zone, now))
    uow.publish(booked_event(env, appointment, branch, professional, procedure), tenant_id=tenant_id)
    return appointment, branch, professional, procedure


async def book(
    env: Env,
    tenant_id: str,
    *,
    booked_by: str,
    country: str = "BR",
    source: str = "staff",
    **fields: object,
) -> Appointment:
    async with env.uow() as uow:
        appointment, *_ = await book_in(
            env,
            uow,
            tenant_id,
            source=source,
            booked_by=booked_by,
            country=country,
            **fields,  # type: ignore[arg-type]
        )
        await uow.commit()
    return appointment


async def hold(
    env: Env,
    tenant_id: str,
    *,
    branch_id: str,
    procedure_id: str,
    professional_id: str,
    starts_at: datetime,
    person: Person,
    held_by: str,
    country: str = "BR",
    source: str = "staff",
) -> Appointment:
    """Keep a slot for the clinic's hold minutes (while the patient pays or decides); it lapses by itself."""
    now = env.clock.now()
    async with env.uow() as uow:
        policy = await policy_of(uow, tenant_id, country)
        branch = await load_branch(uow, tenant_id, branch_id)
        procedure = await load_procedure(uow, tenant_id, procedure_id)
        professional = await load_professional(uow, tenant_id, professional_id)
        starts_at = starts_at.astimezone(UTC)
        ends_at = check_bookable(
            branch=branch,
            procedure=procedure,
            professional=professional,
            starts_at=starts_at,
            holidays=holidays_for(policy, branch, [starts_at.astimezone(branch.zone).date()]),
            now=now,
        )
        repo = uow.appointments
        await repo.drop_expired_holds(tenant_id, professional.id, starts_at, ends_at, now)
        held = Appointment(
            id=new_id(),
            tenant_id=tenant_id,
            branch_id=branch.id,
            professional_id=professional.id,
            procedure_id=procedure.id,
            starts_at=starts_at,
            ends_at=ends_at,
            status=life.HELD,
            source=source,
            person=person,
            booked_by=held_by,
            created_at=now,
            updated_at=now,
            hold_expires_at=now + timedelta(minutes=policy.hold_minutes),
        )
        await repo.add(held)
        await uow.commit()
    return held


async def release_hold(env: Env, tenant_id: str, hold_id: str) -> None:
    async with env.uow() as uow:
        repo = uow.appointments
        held = await repo.get(tenant_id, hold_id, lock=True)
        if held is None or held.status != life.HELD:
            raise NotFound("No such hold.", field="hold_id")
        await repo.save(replace(held, status=life.CANCELLED, updated_at=env.clock.now()))
        await uow.commit()


async def expire_holds(env: Env) -> int:
    async with env.uow() as uow:
        dropped = await uow.appointments.purge_expired_holds(env.clock.now())
        await uow.commit()
    return dropped


# --- after booking --------------------------------------------------------------------------
async def _load(uow: SchedulingWork, tenant_id: str, appointment_id: str) -> Appointment:
    a = await uow.appointments.get(tenant_id, appointment_id, lock=True)
    if a is None or a.status == life.HELD:
        raise NotFound("No such appointment in this clinic.", field="appointment_id")
    return a


async def get(env: Env, tenant_id: str, appointment_id: str) -> tuple[Appointment, list[Any]]:
    async with env.uow() as uow:
        a = await uow.appointments.get(tenant_id, appointment_id)
        if a is None:
            raise NotFound("No such appointment in this clinic.", field="appointment_id")
        return a, await uow.reminders.for_appointment(a.id)


async def confirm_in(
    env: Env, uow: SchedulingWork, tenant_id: str, appointment_id: str, *, via: str, by: str | None
) -> Appointment:
    """booked -> confirmed, once: confirming again changes nothing and publishes nothing."""
    a = await _load(uow, tenant_id, appointment_id)
    if a.status == life.CONFIRMED:
        return a
    now = env.clock.now()
    a = replace(
        a, status=life.transition(a.status, life.CONFIRMED), confirmed_at=now, confirmed_via=via, updated_at=now
    )
    await uow.appointments.save(a)
    uow.publish(
        AppointmentConfirmedV1(
            appointment_id=a.id,
            person=person_v1(a.person),
            starts_at=a.starts_at,
            via=via,
            confirmed_by=by,
            confirmed_at=now,
        ),
        tenant_id=tenant_id,
    )
    return a


async def confirm(env: Env, tenant_id: str, appointment_id: str, *, via: str, by: str | None) -> Appointment:
    async with env.uow() as uow:
        a = await confirm_in(env, uow, tenant_id, appointment_id, via=via, by=by)
        await uow.commit()
    return a


async def reschedule_in(
    env: Env,
    uow: SchedulingWork,
    tenant_id: str,
    appointment_id: str,
    *,
    starts_at: datetime,
    professional_id: str | None,
    by: str,
    country: str = "BR",
) -> Appointment:
    """Move to another time (and professional); the payment carries over, reminders move along."""
    now = env.clock.now()
    a = await _load(uow, tenant_id, appointment_id)
    life.check_reschedulable(a.status)
    policy = await policy_of(uow, tenant_id, country)
    branch = await load_branch(uow, tenant_id, a.branch_id)
    procedure = await load_procedure(uow, tenant_id, a.procedure_id)
    professional = await load_professional(uow, tenant_id, professional_id or a.professional_id)
    starts_at = starts_at.astimezone(UTC)
    ends_at = check_bookable(
        branch=branch,
        procedure=procedure,
        professional=professional,
        starts_at=starts_at,
        holidays=holidays_for(policy, branch, [starts_at.astimezone(branch.zone).date()]),
        now=now,
    )
    repo = uow.appointments
    await repo.drop_expired_holds(tenant_id, professional.id, starts_at, ends_at, now)
    moved = replace(
        a,
        professional_id=professional.id,
        starts_at=starts_at,
        ends_at=ends_at,
        status=life.BOOKED,
        confirmed_at=None,
        confirmed_via=None,
        updated_at=now,
    )
    await repo.save(moved)
    reminders = uow.reminders
    await reminders.drop_pending(a.id)
    await reminders.add_many(_reminder_rows(moved, policy, branch.zone, now))
    uow.publish(
        AppointmentRescheduledV1(
            appointment_id=a.id,
            person=person_v1(a.person),
            previous_starts_at=a.starts_at,
            starts_at=starts_at,
            ends_at=ends_at,
            timezone=branch.timezone,
            branch_id=branch.id,
            professional_id=professional.id,
            rescheduled_by=by,
            rescheduled_at=now,
        ),
        tenant_id=tenant_id,
    )
    return moved


async def reschedule(
    env: Env,
    tenant_id: str,
    appointment_id: str,
    *,
    starts_at: datetime,
    professional_id: str | None,
    by: str,
    country: str = "BR",
) -> Appointment:
    async with env.uow() as uow:
        a = await reschedule_in(
            env,
            uow,
            tenant_id,
            appointment_id,
            starts_at=starts_at,
            professional_id=professional_id,
            by=by,
            country=country,
        )
        await uow.commit()
    return a


async def cancel(
    env: Env, tenant_id: str, appointment_id: str, *, reason: str | None, by: str, country: str = "BR"
) -> tuple[Appointment, bool]:
    """Cancel; within the clinic's refund cut-off a prepaid appointment's payment is to be refunded."""
    now = env.clock.now()
    async with env.uow() as uow:
        a = await _load(uow, tenant_id, appointment_id)
        policy = await policy_of(uow, tenant_id, country)
        cancelled = replace(a, status=life.transition(a.status, life.CANCELLED), cancel_reason=reason, updated_at=now)
        await uow.appointments.save(cancelled)
        await uow.reminders.drop_pending(a.id)
        refund = life.refund_due(
            starts_at=a.starts_at, now=now, cutoff_hours=policy.refund_cutoff_hours, payment_id=a.payment_id
        )
        if refund and a.payment_id:
            await uow.entitlements.mark_refunded(tenant_id, a.payment_id)
        await offers.offer_freed_slot(env, uow, a)
        uow.publish(
            AppointmentCancelledV1(
                appointment_id=a.id,
                person=person_v1(a.person),
                starts_at=a.starts_at,
                reason=reason,
                cancelled_by=by,
                cancelled_at=now,
                payment_id=a.payment_id,
                refund_due=refund,
            ),
            tenant_id=tenant_id,
        )
        await uow.commit()
    return cancelled, refund


async def no_show(env: Env, tenant_id: str, appointment_id: str, *, by: str) -> Appointment:
    now = env.clock.now()
    async with env.uow() as uow:
        a = await _load(uow, tenant_id, appointment_id)
        life.check_no_show(a.starts_at, now)
        marked = replace(a, status=life.transition(a.status, life.NO_SHOW), updated_at=now)
        await uow.appointments.save(marked)
        await uow.reminders.drop_pending(a.id)
        uow.publish(
            AppointmentNoShowV1(
                appointment_id=a.id, person=person_v1(a.person), starts_at=a.starts_at, marked_by=by, marked_at=now
            ),
            tenant_id=tenant_id,
        )
        await uow.commit()
    return marked
