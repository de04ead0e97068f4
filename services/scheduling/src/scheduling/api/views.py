"""What the controllers share: query parameters and the encoders from use-case results to answers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID
from zoneinfo import ZoneInfo

from litestar.params import Parameter

from scheduling.schemas import AgendaItem, Availability, FreeDay, FreeProfessional, FreeTimesOut, SlotOut
from scheduling.services.booking import Available
from scheduling.services.reception import Row

From = Annotated[date | None, Parameter(query="from", description="first local date, YYYY-MM-DD (default today)")]
To = Annotated[
    date | None, Parameter(query="to", description="last local date (default a week from `from`; 31 days at most)")
]
OnDate = Annotated[date | None, Parameter(query="date", description="local date, YYYY-MM-DD")]


def opt_str(value: UUID | None) -> str | None:
    return str(value) if value is not None else None


def local(at: datetime, zone: str) -> str:
    """The branch's wall-clock "YYYY-MM-DD HH:MM" (isoformat: far cheaper than strftime per slot)."""
    return at.astimezone(ZoneInfo(zone)).replace(tzinfo=None).isoformat(sep=" ", timespec="minutes")


def agenda_item(r: Row) -> AgendaItem:
    a = r.appointment
    return AgendaItem(
        id=a.id,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        local_start=local(a.starts_at, r.branch.timezone),
        status=a.status,
        confirmed_at=a.confirmed_at,
        confirmed_via=a.confirmed_via,
        patient_name=a.person.name,
        phone=a.person.phone,
        lead_id=a.person.lead_id,
        patient_id=a.person.patient_id,
        procedure_id=r.procedure.id,
        procedure_name=r.procedure.name,
        specialty=r.procedure.specialty,
        professional_id=r.professional.id,
        professional_name=r.professional.name,
        branch_id=r.branch.id,
        branch_name=r.branch.name,
        source=a.source,
    )


def free_times_out(found: Available) -> FreeTimesOut:
    """The compact staff answer: per professional, per local date, the free start times as "HH:MM"."""
    return FreeTimesOut(
        branch_id=found.branch.id,
        procedure_id=found.procedure.id,
        timezone=found.branch.timezone,
        start=found.start,
        end=found.end,
        duration_minutes=found.procedure.duration_minutes,
        step_minutes=found.step_minutes,
        professionals=[
            FreeProfessional(
                id=f.professional.id,
                name=f.professional.name,
                free=f.count,
                days=[FreeDay(date=d.day, utc_offset=d.utc_offset, times=d.local_times()) for d in f.days],
            )
            for f in found.found
        ],
    )


def slots_out(found: Available) -> Availability:
    """The patient pages' answer: one list of slots, each with its instants and professional."""
    zone = found.branch.timezone
    return Availability(
        branch_id=found.branch.id,
        procedure_id=found.procedure.id,
        timezone=zone,
        slots=[
            SlotOut(
                professional_id=s.professional_id,
                professional_name=p.name,
                starts_at=s.starts_at,
                ends_at=s.ends_at,
                local=local(s.starts_at, zone),
            )
            for s, p in found.slots()
        ],
    )
