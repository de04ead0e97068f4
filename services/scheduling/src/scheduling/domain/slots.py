"""Free slots and the checks of a requested time, in the branch's time zone.

Wall-clock hours (Mon 09:00-18:00) become instants per local date with zoneinfo, so a DST change moves
the UTC instants, never the hours the clinic sees. Candidates step through each working span in UTC.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduling.domain.errors import Invalid
from scheduling.domain.setup import Branch, Busy, ClinicPolicy, Interval, Procedure, Professional

MAX_RANGE_DAYS = 62


@dataclass(frozen=True)
class Slot:
    professional_id: str
    starts_at: datetime
    ends_at: datetime


def instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time on a local date (a time in a DST gap reads as before it)."""
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def local_days(start: date, end: date) -> list[date]:
    if end < start:
        raise Invalid("The range ends before it starts.", field="to")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise Invalid(f"Ask for at most {MAX_RANGE_DAYS} days at a time.", field="to")
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def closed_reason(branch: Branch, professional: Professional, day: date, holidays: dict[date, str]) -> str | None:
    if day in professional.days_off:
        return f"{professional.name} is off on {day.isoformat()}."
    if day in holidays and not branch.open_on_holidays:
        return f"{day.isoformat()} is a public holiday ({holidays[day]}); {branch.name} is closed."
    return None


def _spans(
    branch: Branch, professional: Professional, day: date, intervals: Iterable[Interval]
) -> list[tuple[datetime, datetime]]:
    zone = branch.zone
    return [(instant(day, i.start, zone), instant(day, i.end, zone)) for i in intervals if i.weekday == day.weekday()]


def working_spans(branch: Branch, professional: Professional, day: date) -> list[tuple[datetime, datetime]]:
    return _spans(branch, professional, day, (h for h in professional.hours if h.branch_id == branch.id))


def break_spans(branch: Branch, professional: Professional, day: date) -> list[tuple[datetime, datetime]]:
    return _spans(branch, professional, day, professional.breaks)


def _overlaps(start: datetime, end: datetime, spans: Iterable[tuple[datetime, datetime]]) -> bool:
    return any(start < e and s < end for s, e in spans)


def free_slots(
    *,
    branch: Branch,
    procedure: Procedure,
    professionals: Iterable[Professional],
    busy: Iterable[Busy],
    days: list[date],
    policy: ClinicPolicy,
    holidays: dict[date, str],
    now: datetime,
) -> list[Slot]:
    """Every start (on the clinic's step) where the procedure fits: within hours, off breaks, days off and
    holidays, clear of appointments and holds, not in the past. Sorted by time, then professional."""
    duration = timedelta(minutes=procedure.duration_minutes)
    step = timedelta(minutes=policy.slot_step_minutes)
    earliest = now + timedelta(minutes=policy.min_lead_minutes)
    by_professional: dict[str, list[tuple[datetime, datetime]]] = {}
    for b in busy:
        by_professional.setdefault(b.professional_id, []).append((b.starts_at, b.ends_at))
    out: list[Slot] = []
    for professional in professionals:
        if not (professional.active and professional.works_at(branch.id) and professional.can_do(procedure)):
            continue
        taken = sorted(by_professional.get(professional.id, []))
        starts = [s for s, _ in taken]
        longest = max((e - s for s, e in taken), default=timedelta(0))
        for day in days:
            if closed_reason(branch, professional, day, holidays):
                continue
            pauses = break_spans(branch, professional, day)
            for span_start, span_end in working_spans(branch, professional, day):
                at = span_start
                while at + duration <= span_end:
                    end = at + duration
                    if at >= earliest and not _overlaps(at, end, pauses):
                        # Only appointments starting in (at - longest, end) can overlap [at, end).
                        lo = bisect.bisect_right(starts, at - longest)
                        hi = bisect.bisect_left(starts, end)
                        if not any(s < end and at < e for s, e in taken[lo:hi]):
                            out.append(Slot(professional.id, at, end))
                    at += step
    out.sort(key=lambda s: (s.starts_at, s.professional_id))
    return out


def check_bookable(
    *,
    branch: Branch,
    procedure: Procedure,
    professional: Professional,
    starts_at: datetime,
    holidays: dict[date, str],
    now: datetime,
) -> datetime:
    """Raise Invalid (naming `starts_at` or the id) unless the professional can take the procedure then;
    returns the end. Overlap with other appointments is the database's to refuse."""
    if starts_at.tzinfo is None:
        raise Invalid("starts_at needs a time zone offset (e.g. 2026-12-01T14:00:00-03:00).", field="starts_at")
    if not professional.active or not professional.works_at(branch.id):
        raise Invalid(f"{professional.name} does not work at {branch.name}.", field="professional_id")
    if not professional.can_do(procedure):
        raise Invalid(f"{professional.name} does not do {procedure.name}.", field="professional_id")
    if not procedure.active or not procedure.offered_at(branch.id):
        raise Invalid(f"{procedure.name} is not offered at {branch.name}.", field="procedure_id")
    starts_at = starts_at.astimezone(UTC)  # aware arithmetic in a local zone would be wall-clock arithmetic
    if starts_at < now:
        raise Invalid("That time is in the past.", field="starts_at")
    ends_at = starts_at + timedelta(minutes=procedure.duration_minutes)
    day = starts_at.astimezone(branch.zone).date()
    reason = closed_reason(branch, professional, day, holidays)
    if reason:
        raise Invalid(reason, field="starts_at", slug="closed-day")
    if not any(s <= starts_at and ends_at <= e for s, e in working_spans(branch, professional, day)):
        raise Invalid(
            f"{professional.name} does not work at {branch.name} then (outside working hours).",
            field="starts_at",
            slug="outside-hours",
        )
    if _overlaps(starts_at, ends_at, break_spans(branch, professional, day)):
        raise Invalid(f"That time falls in {professional.name}'s break.", field="starts_at", slug="outside-hours")
    return ends_at
