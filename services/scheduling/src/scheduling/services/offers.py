"""Offering a freed slot to the waitlist, inside the transaction that freed it (cancel, a lapsed offer)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from contracts.scheduling import WaitlistOfferedV1
from kit.context import new_id
from scheduling.domain import appointments as life
from scheduling.domain import waitlist as wl
from scheduling.domain.appointments import Appointment
from scheduling.domain.errors import Conflict
from scheduling.domain.waitlist import WaitlistEntry
from scheduling.services.env import Env, load_branch, load_procedure, load_professional, person_v1, policy_of
from scheduling.services.work import SchedulingWork


async def offer_freed_slot(env: Env, uow: SchedulingWork, freed: Appointment) -> WaitlistEntry | None:
    """In the caller's transaction: hold the freed time for the first person waiting for it."""
    now = env.clock.now()
    if freed.starts_at <= now:
        return None
    branch = await load_branch(uow, freed.tenant_id, freed.branch_id)
    entries = await uow.waitlist.waiting(freed.tenant_id, freed.branch_id, freed.procedure_id)
    taker = wl.first_taker(
        entries, professional_id=freed.professional_id, local_day=freed.starts_at.astimezone(branch.zone).date()
    )
    if taker is None:
        return None
    policy = await policy_of(uow, freed.tenant_id)
    hold = Appointment(
        id=new_id(),
        tenant_id=freed.tenant_id,
        branch_id=freed.branch_id,
        professional_id=freed.professional_id,
        procedure_id=freed.procedure_id,
        starts_at=freed.starts_at,
        ends_at=freed.ends_at,
        status=life.HELD,
        source="waitlist",
        person=taker.person,
        booked_by=f"waitlist:{taker.id}",
        created_at=now,
        updated_at=now,
        hold_expires_at=now + timedelta(minutes=policy.hold_minutes),
    )
    try:
        await uow.appointments.add(hold)
    except Conflict:
        return None  # someone booked the time in between
    offered = replace(taker, status=wl.OFFERED, hold_id=hold.id, offered_at=now)
    await uow.waitlist.save(offered)
    professional = await load_professional(uow, freed.tenant_id, freed.professional_id)
    procedure = await load_procedure(uow, freed.tenant_id, freed.procedure_id)
    assert hold.hold_expires_at is not None
    uow.publish(
        WaitlistOfferedV1(
            waitlist_entry_id=taker.id,
            person=person_v1(taker.person),
            branch_id=branch.id,
            branch_name=branch.name,
            procedure_id=procedure.id,
            procedure_name=procedure.name,
            professional_id=professional.id,
            professional_name=professional.name,
            starts_at=hold.starts_at,
            ends_at=hold.ends_at,
            timezone=branch.timezone,
            hold_expires_at=hold.hold_expires_at,
            accept_url=env.links.url(
                "book", "waitlist/accept", subject=taker.id, tenant_id=taker.tenant_id, data={"hold_id": hold.id}
            ),
            offered_at=now,
        ),
        tenant_id=freed.tenant_id,
    )
    return offered
