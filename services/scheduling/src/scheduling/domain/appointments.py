"""The appointment's life: held -> booked -> confirmed -> arrived -> in_service -> done; cancelled; no_show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduling.domain.errors import Conflict

HELD = "held"
BOOKED = "booked"
CONFIRMED = "confirmed"
ARRIVED = "arrived"
IN_SERVICE = "in_service"
DONE = "done"
CANCELLED = "cancelled"
NO_SHOW = "no_show"

STATUSES = (HELD, BOOKED, CONFIRMED, ARRIVED, IN_SERVICE, DONE, CANCELLED, NO_SHOW)
#: Statuses that occupy the professional's time (the exclusion constraint's predicate).
ACTIVE = frozenset({HELD, BOOKED, CONFIRMED, ARRIVED, IN_SERVICE})

_TRANSITIONS: dict[str, frozenset[str]] = {
    HELD: frozenset({BOOKED, CANCELLED}),
    BOOKED: frozenset({CONFIRMED, ARRIVED, CANCELLED, NO_SHOW}),
    CONFIRMED: frozenset({ARRIVED, CANCELLED, NO_SHOW}),
    ARRIVED: frozenset({IN_SERVICE, NO_SHOW}),
    IN_SERVICE: frozenset({DONE}),
    DONE: frozenset(),
    CANCELLED: frozenset(),
    NO_SHOW: frozenset(),
}
SOURCES = ("staff", "online_booking", "return", "waitlist")
RESCHEDULABLE = frozenset({BOOKED, CONFIRMED})


def can_move(current: str, target: str) -> bool:
    return target in _TRANSITIONS.get(current, frozenset())


def transition(current: str, target: str) -> str:
    """The new status, or Conflict naming both when the appointment's life does not allow it."""
    if not can_move(current, target):
        raise Conflict(f"An appointment that is {current} cannot become {target}.", field="status", slug="bad-state")
    return target


def check_reschedulable(current: str) -> None:
    if current not in RESCHEDULABLE:
        raise Conflict(f"An appointment that is {current} cannot be moved.", field="status", slug="bad-state")


def check_no_show(starts_at: datetime, now: datetime) -> None:
    if now < starts_at:
        raise Conflict("A no-show can only be marked once the appointment has started.", field="status")


def refund_due(*, starts_at: datetime, now: datetime, cutoff_hours: int, payment_id: str | None) -> bool:
    """A prepaid appointment cancelled at least `cutoff_hours` before its start gets the money back."""
    return payment_id is not None and starts_at - now >= timedelta(hours=cutoff_hours)


def waiting_minutes(arrived_at: datetime, started_at: datetime | None, now: datetime) -> int:
    return max(0, int(((started_at or now) - arrived_at).total_seconds() // 60))


@dataclass(frozen=True)
class Person:
    """Who the appointment is for, as the booking knew them (contact data travels in the events)."""

    lead_id: str | None = None
    patient_id: str | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    locale: str | None = None


@dataclass(frozen=True)
class Appointment:
    id: str
    tenant_id: str
    branch_id: str
    professional_id: str
    procedure_id: str
    starts_at: datetime
    ends_at: datetime
    status: str
    source: str
    person: Person
    booked_by: str
    created_at: datetime
    updated_at: datetime
    payment_id: str | None = None
    hold_expires_at: datetime | None = None
    return_of: str | None = None
    confirmed_at: datetime | None = None
    confirmed_via: str | None = None
    arrived_at: datetime | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    return_needed: bool = False
    return_in_days: int | None = None
    procedures_done: tuple[str, ...] = ()
    return_booked_id: str | None = None
    cancel_reason: str | None = None
