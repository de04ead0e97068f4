"""The clinic's day: agenda and visits list, check-in, the waiting room, visits, returns."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from contracts.scheduling import PatientArrivedV1, ReturnBookedV1, VisitCompletedV1, VisitStartedV1
from kit.auth import Principal
from scheduling.domain import appointments as life
from scheduling.domain.appointments import Appointment
from scheduling.domain.errors import Conflict, Forbidden, Invalid, NotFound
from scheduling.domain.setup import Branch, Procedure, Professional
from scheduling.services.booking import _load, book_in
from scheduling.services.env import Env, load_branch, person_v1, policy_of
from scheduling.services.work import SchedulingWork

#: Permissions (the gateway's role map grants them; see docs/scheduling.md).
READ = "scheduling:read"
BOOK = "scheduling:book"
CHECK_IN = "scheduling:checkin"
VISIT = "scheduling:visit"
ADMIN = "scheduling:admin"


@dataclass(frozen=True)
class Row:
    appointment: Appointment
    branch: Branch
    professional: Professional
    procedure: Procedure


def _day_window(day: date, zone_name: str, days: int = 1) -> tuple[datetime, datetime]:
    zone = ZoneInfo(zone_name)
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=days), datetime.min.time(), tzinfo=zone).astimezone(UTC)
    return start, end


async def own_professional(uow: SchedulingWork, principal: Principal) -> Professional | None:
    """A caller who may not book sees only the agenda of the professional linked to their account."""
    if principal.has(BOOK) or principal.has(ADMIN):
        return None
    mine = await uow.setup.professional_of_user(principal.tenant_id, principal.user_id)
    if mine is None:
        raise Forbidden("Your account is not linked to a professional; ask the clinic admin.", field="professional_id")
    return mine


async def _rows(uow: SchedulingWork, tenant_id: str, items: list[Appointment]) -> list[Row]:
    setup = uow.setup
    branches = {b.id: b for b in await setup.branches(tenant_id)}
    pros = {p.id: p for p in await setup.professionals(tenant_id)}
    procs = {p.id: p for p in await setup.procedures(tenant_id)}
    return [Row(a, branches[a.branch_id], pros[a.professional_id], procs[a.procedure_id]) for a in items]


async def agenda(
    env: Env,
    principal: Principal,
    *,
    day: date | None,
    days: int,
    branch_id: str | None,
    professional_id: str | None,
    statuses: list[str] | None = None,
    confirmed: bool | None = None,
    default_day_offset: int = 0,
) -> tuple[date, str, list[Row]]:
    """Appointments of one day or week, by branch and/or professional, in the branch's (or clinic's) zone;
    without a date, from today (plus `default_day_offset` days: the visits list is about tomorrow)."""
    if statuses:
        unknown = [s for s in statuses if s not in life.STATUSES]
        if unknown:
            raise Invalid(f"Unknown status {unknown[0]!r}.", field="status")
    async with env.uow() as uow:
        mine = await own_professional(uow, principal)
        if mine is not None:
            if professional_id and professional_id != mine.id:
                raise Forbidden("You see your own agenda only.", field="professional_id")
            professional_id = mine.id
        zone = principal.timezone
        if branch_id:
            zone = (await load_branch(uow, principal.tenant_id, branch_id)).timezone
        start_day = day or env.clock.now().astimezone(ZoneInfo(zone)).date() + timedelta(days=default_day_offset)
        start, end = _day_window(start_day, zone, days)
        items = await uow.appointments.between(
            principal.tenant_id, start, end, branch_id=branch_id, professional_id=professional_id, statuses=statuses
        )
        if confirmed is not None:
            items = [a for a in items if (a.confirmed_at is not None) == confirmed]
        return start_day, zone, await _rows(uow, principal.tenant_id, items)


async def check_in(env: Env, principal: Principal, appointment_id: str) -> Appointment:
    now = env.clock.now()
    async with env.uow() as uow:
        a = await _load(uow, principal.tenant_id, appointment_id)
        repo = uow.appointments
        arrived = replace(a, status=life.transition(a.status, life.ARRIVED), arrived_at=now, updated_at=now)
        await repo.save(arrived)
        policy = await policy_of(uow, principal.tenant_id, principal.country)
        anamnesis_url = None
        qid = policy.anamnesis_questionnaire_id
        if qid and not await uow.anamnesis.for_appointment(principal.tenant_id, a.id):
            anamnesis_url = env.links.url(
                "anamnesis", "anamnesis", subject=a.id, tenant_id=a.tenant_id, data={"questionnaire_id": qid}
            )
        uow.publish(
            PatientArrivedV1(
                appointment_id=a.id,
                person=person_v1(a.person),
                branch_id=a.branch_id,
                professional_id=a.professional_id,
                procedure_id=a.procedure_id,
                arrived_at=now,
                first_visit=not await repo.had_visit_before(principal.tenant_id, a.person, now, a.id),
                anamnesis_url=anamnesis_url,
                checked_in_by=principal.user_id,
            ),
            tenant_id=principal.tenant_id,
        )
        await repo.notify_board(principal.tenant_id, a.branch_id)
        await uow.commit()
    return arrived


async def _check_own_visit(uow: SchedulingWork, principal: Principal, a: Appointment) -> None:
    if principal.has(ADMIN):
        return
    mine = await uow.setup.professional_of_user(principal.tenant_id, principal.user_id)
    if mine is not None and mine.id != a.professional_id:
        raise Forbidden("This visit belongs to another professional.", field="appointment_id")


async def start_visit(env: Env, principal: Principal, appointment_id: str) -> Appointment:
    now = env.clock.now()
    async with env.uow() as uow:
        a = await _load(uow, principal.tenant_id, appointment_id)
        await _check_own_visit(uow, principal, a)
        started = replace(a, status=life.transition(a.status, life.IN_SERVICE), started_at=now, updated_at=now)
        repo = uow.appointments
        await repo.save(started)
        uow.publish(
            VisitStartedV1(
                appointment_id=a.id, person=person_v1(a.person), professional_id=a.professional_id, started_at=now
            ),
            tenant_id=principal.tenant_id,
        )
        await repo.notify_board(principal.tenant_id, a.branch_id)
        await uow.commit()
    return started


async def complete_visit(
    env: Env,
    principal: Principal,
    appointment_id: str,
    *,
    return_needed: bool,
    return_in_days: int | None,
    procedures_done: list[str] | None,
) -> Appointment:
    if return_in_days is not None and not return_needed:
        raise Invalid("return_in_days needs return_needed: true.", field="return_in_days")
    now = env.clock.now()
    async with env.uow() as uow:
        a = await _load(uow, principal.tenant_id, appointment_id)
        await _check_own_visit(uow, principal, a)
        done_ids = procedures_done if procedures_done is not None else [a.procedure_id]
        setup = uow.setup
        for pid in done_ids:
            if await setup.procedure(principal.tenant_id, pid) is None:
                raise NotFound(f"No procedure {pid} in this clinic.", field="procedures_done")
        done = replace(
            a,
            status=life.transition(a.status, life.DONE),
            completed_at=now,
            return_needed=return_needed,
            return_in_days=return_in_days,
            procedures_done=tuple(done_ids),
            updated_at=now,
        )
        repo = uow.appointments
        await repo.save(done)
        uow.publish(
            VisitCompletedV1(
                appointment_id=a.id,
                person=person_v1(a.person),
                professional_id=a.professional_id,
                procedure_id=a.procedure_id,
                procedures_done=list(done_ids),
                return_needed=return_needed,
                return_in_days=return_in_days,
                completed_at=now,
            ),
            tenant_id=principal.tenant_id,
        )
        await repo.notify_board(principal.tenant_id, a.branch_id)
        await uow.commit()
    return done


async def board(env: Env, tenant_id: str, branch_id: str, day: date | None = None) -> tuple[date, list[Row]]:
    """Today's arrivals of a branch (its local day), in arrival order."""
    async with env.uow() as uow:
        branch = await load_branch(uow, tenant_id, branch_id)
        today = day or env.clock.now().astimezone(branch.zone).date()
        start, end = _day_window(today, branch.timezone)
        items = await uow.appointments.arrived_between(tenant_id, branch_id, start, end)
        return today, await _rows(uow, tenant_id, items)


async def returns_to_book(env: Env, principal: Principal, branch_id: str | None) -> list[Row]:
    async with env.uow() as uow:
        items = await uow.appointments.returns_to_book(principal.tenant_id, branch_id)
        return await _rows(uow, principal.tenant_id, items)


async def book_return(
    env: Env,
    principal: Principal,
    appointment_id: str,
    *,
    starts_at: datetime,
    professional_id: str | None,
    procedure_id: str | None,
) -> Appointment:
    """Reception books the return a finished visit asked for -> appointment.booked + return.booked."""
    async with env.uow() as uow:
        previous = await _load(uow, principal.tenant_id, appointment_id)
        if previous.status != life.DONE or not previous.return_needed:
            raise Conflict("This visit did not ask for a return.", field="appointment_id", slug="no-return-needed")
        if previous.return_booked_id is not None:
            raise Conflict("The return of this visit is already booked.", field="appointment_id", slug="return-booked")
        new, branch, professional, procedure = await book_in(
            env,
            uow,
            principal.tenant_id,
            branch_id=previous.branch_id,
            procedure_id=procedure_id or previous.procedure_id,
            professional_id=professional_id or previous.professional_id,
            starts_at=starts_at,
            person=previous.person,
            source="return",
            booked_by=principal.user_id,
            return_of=previous.id,
            country=principal.country,
        )
        await uow.appointments.save(replace(previous, return_booked_id=new.id, updated_at=env.clock.now()))
        uow.publish(
            ReturnBookedV1(
                appointment_id=new.id,
                person=person_v1(new.person),
                previous_appointment_id=previous.id,
                branch_id=branch.id,
                professional_id=professional.id,
                procedure_id=procedure.id,
                starts_at=new.starts_at,
                timezone=branch.timezone,
                booked_by=principal.user_id,
                booked_at=new.created_at,
            ),
            tenant_id=principal.tenant_id,
        )
        await uow.commit()
    return new
