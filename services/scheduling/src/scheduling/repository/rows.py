"""Table rows <-> domain objects (the repositories' only translation layer)."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import date
from typing import Any

from scheduling.domain.appointments import Appointment, Person
from scheduling.domain.setup import Branch, Interval, Procedure, Professional, WorkingHours, parse_hhmm
from scheduling.domain.waitlist import WaitlistEntry

_APPT_FIELDS = tuple(f.name for f in fields(Appointment))


def _hhmm(t: Any) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def branch(r: Any) -> Branch:
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


def professional(r: Any) -> Professional:
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


def procedure(r: Any) -> Procedure:
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


def appointment(r: Any) -> Appointment:
    values = {k: getattr(r, k) for k in _APPT_FIELDS if k not in ("person", "procedures_done")}
    return Appointment(**values, person=Person(**r.person), procedures_done=tuple(r.procedures_done))


def appointment_values(a: Appointment) -> dict[str, Any]:
    values = {k: getattr(a, k) for k in _APPT_FIELDS}
    values["person"] = asdict(a.person)
    values["procedures_done"] = list(a.procedures_done)
    values["lead_id"] = a.person.lead_id
    values["patient_id"] = a.person.patient_id
    return values


def waitlist_entry(r: Any) -> WaitlistEntry:
    return WaitlistEntry(
        id=r.id,
        tenant_id=r.tenant_id,
        person=Person(**r.person),
        branch_id=r.branch_id,
        procedure_id=r.procedure_id,
        professional_id=r.professional_id,
        not_before=r.not_before,
        not_after=r.not_after,
        status=r.status,
        created_at=r.created_at,
        hold_id=r.hold_id,
        offered_at=r.offered_at,
    )
