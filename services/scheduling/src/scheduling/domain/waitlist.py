"""The waitlist (first come, first offered; one offer at a time, held until it lapses) and the no-show risk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from scheduling.domain.appointments import Person

WAITING = "waiting"
OFFERED = "offered"
BOOKED = "booked"
EXPIRED = "expired"


@dataclass(frozen=True)
class WaitlistEntry:
    id: str
    tenant_id: str
    person: Person
    branch_id: str
    procedure_id: str
    professional_id: str | None
    not_before: date | None
    not_after: date | None
    status: str
    created_at: datetime
    hold_id: str | None = None
    offered_at: datetime | None = None

    def wants(self, *, professional_id: str, local_day: date) -> bool:
        """Would this person take a slot of `professional_id` on that local date?"""
        if self.status != WAITING:
            return False
        if self.professional_id is not None and self.professional_id != professional_id:
            return False
        if self.not_before is not None and local_day < self.not_before:
            return False
        return self.not_after is None or local_day <= self.not_after


def first_taker(entries: list[WaitlistEntry], *, professional_id: str, local_day: date) -> WaitlistEntry | None:
    """The longest-waiting entry that wants the freed slot."""
    for entry in sorted(entries, key=lambda e: e.created_at):
        if entry.wants(professional_id=professional_id, local_day=local_day):
            return entry
    return None


@dataclass(frozen=True)
class Risk:
    score: int
    level: str
    reasons: list[dict[str, object]]


def no_show_risk(
    *,
    no_shows: int,
    attended: int,
    booked_at: datetime,
    starts_at: datetime,
    now: datetime,
    confirmed: bool,
    known_person: bool,
) -> Risk:
    """A simple, explained score 0-100: every point comes with its reason, so staff can trust or ignore it.

    History weighs most (each earlier no-show +25, up to +50; each attended visit -5, down to -15); a booking
    made long ahead is forgotten more (+10 beyond 14 days); an unconfirmed visit less than a day away +15,
    a confirmed one -20; an unknown online booker +5. Base 10. low < 30 <= medium < 60 <= high.
    """
    reasons: list[dict[str, object]] = [{"factor": "base", "points": 10, "detail": "every appointment"}]
    if no_shows:
        reasons.append(
            {"factor": "history", "points": min(50, 25 * no_shows), "detail": f"{no_shows} earlier no-show(s)"}
        )
    if attended:
        reasons.append(
            {"factor": "history", "points": -min(15, 5 * attended), "detail": f"{attended} visit(s) attended"}
        )
    lead = starts_at - booked_at
    if lead > timedelta(days=14):
        reasons.append({"factor": "lead_time", "points": 10, "detail": f"booked {lead.days} days ahead"})
    if confirmed:
        reasons.append({"factor": "confirmation", "points": -20, "detail": "the patient confirmed"})
    elif starts_at - now < timedelta(hours=24):
        reasons.append({"factor": "confirmation", "points": 15, "detail": "not confirmed, less than a day to go"})
    if not known_person:
        reasons.append({"factor": "person", "points": 5, "detail": "first contact through online booking"})
    score = max(0, min(100, sum(int(r["points"]) for r in reasons)))  # type: ignore[call-overload]
    return Risk(score=score, level="low" if score < 30 else "medium" if score < 60 else "high", reasons=reasons)
