"""The waitlist: a freed slot is held for the longest-waiting person who wants it; first to accept gets it,
an offer that lapses passes to the next. Plus the explained no-show risk of an appointment."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date
from typing import Any

from kit.auth import Principal
from kit.context import new_id
from scheduling.domain import appointments as life
from scheduling.domain import waitlist as wl
from scheduling.domain.appointments import Appointment, Person
from scheduling.domain.errors import Conflict, Invalid, NotFound
from scheduling.domain.waitlist import Risk, WaitlistEntry, no_show_risk
from scheduling.services import offers
from scheduling.services.booking import book_in
from scheduling.services.env import Env, check_person, load_branch, load_procedure, load_professional

log = logging.getLogger(__name__)


async def join(
    env: Env,
    principal: Principal,
    *,
    branch_id: str,
    procedure_id: str,
    professional_id: str | None,
    person: Person,
    not_before: date | None,
    not_after: date | None,
) -> WaitlistEntry:
    check_person(person)
    if not_before and not_after and not_after < not_before:
        raise Invalid("not_after is before not_before.", field="not_after")
    async with env.uow() as uow:
        await load_branch(uow, principal.tenant_id, branch_id)
        await load_procedure(uow, principal.tenant_id, procedure_id)
        if professional_id:
            await load_professional(uow, principal.tenant_id, professional_id)
        entry = WaitlistEntry(
            id=new_id(),
            tenant_id=principal.tenant_id,
            person=person,
            branch_id=branch_id,
            procedure_id=procedure_id,
            professional_id=professional_id,
            not_before=not_before,
            not_after=not_after,
            status=wl.WAITING,
            created_at=env.clock.now(),
        )
        await uow.waitlist.add(entry)
        await uow.commit()
    return entry


async def listing(env: Env, principal: Principal, branch_id: str | None) -> list[WaitlistEntry]:
    async with env.uow() as uow:
        return await uow.waitlist.listing(principal.tenant_id, branch_id)


async def pass_on_lapsed_offers(env: Env) -> int:
    """Worker timer: an offer nobody accepted in time goes to the next person waiting."""
    now = env.clock.now()
    async with env.uow() as uow:
        lapsed = await uow.waitlist.expired_holds(now)
        for hold in lapsed:
            entry = await uow.waitlist.of_hold(hold.id)
            if entry is not None:
                await uow.waitlist.save(replace(entry, status=wl.EXPIRED))
            await uow.appointments.save(replace(hold, status=life.CANCELLED, updated_at=now))
            await offers.offer_freed_slot(env, uow, hold)
        await uow.commit()
    return len(lapsed)


async def accept(env: Env, tenant_id: str, entry_id: str, hold_id: str, link_id: str) -> Appointment:
    async with env.uow() as uow:
        entry = await uow.waitlist.get(tenant_id, entry_id, lock=True)
        if entry is None or entry.hold_id != hold_id or entry.status != wl.OFFERED:
            raise Conflict("This offer is no longer open.", field="token", slug="offer-closed")
        held = await uow.appointments.get(tenant_id, hold_id)
        if held is None:
            raise NotFound("This offer is no longer open.", field="token")
        appointment, *_ = await book_in(
            env,
            uow,
            tenant_id,
            branch_id=held.branch_id,
            procedure_id=held.procedure_id,
            professional_id=held.professional_id,
            starts_at=held.starts_at,
            person=entry.person,
            source="waitlist",
            booked_by=f"patient-link:{link_id}",
            hold_id=hold_id,
        )
        await uow.waitlist.save(replace(entry, status=wl.BOOKED))
        await uow.commit()
    return appointment


async def risk(env: Env, tenant_id: str, appointment_id: str) -> tuple[Appointment, Risk]:
    async with env.uow() as uow:
        a = await uow.appointments.get(tenant_id, appointment_id)
        if a is None or a.status == life.HELD:
            raise NotFound("No such appointment in this clinic.", field="appointment_id")
        no_shows, attended = await uow.waitlist.attendance(tenant_id, a.person, a.id)
    return a, no_show_risk(
        no_shows=no_shows,
        attended=attended,
        booked_at=a.created_at,
        starts_at=a.starts_at,
        now=env.clock.now(),
        confirmed=a.confirmed_at is not None,
        known_person=bool(a.person.lead_id or a.person.patient_id),
    )


def entry_view(e: WaitlistEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "person": {"lead_id": e.person.lead_id, "name": e.person.name, "phone": e.person.phone},
        "branch_id": e.branch_id,
        "procedure_id": e.procedure_id,
        "professional_id": e.professional_id,
        "not_before": e.not_before.isoformat() if e.not_before else None,
        "not_after": e.not_after.isoformat() if e.not_after else None,
        "status": e.status,
        "hold_id": e.hold_id,
        "offered_at": e.offered_at.isoformat() if e.offered_at else None,
        "created_at": e.created_at.isoformat(),
    }
