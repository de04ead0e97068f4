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


def _seconds(at: datetime) -> int:
    return int(at.timestamp())


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Disjoint, sorted spans (active appointments never overlap, but holds and callers' data may touch)."""
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start < out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


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
    busy_seconds: Iterable[tuple[str, int, int]] = (),
) -> list[Slot]:
    """Every start (on the clinic's step) where the procedure fits: within hours, off breaks, days off and
    holidays, clear of appointments and holds, not in the past. Sorted by time, then professional.

    The scan runs on integer epoch seconds (datetimes only for the slots it keeps): 30 professionals over
    14 days are ~20,000 candidates, and aware-datetime arithmetic would dominate the request.
    """
    duration = procedure.duration_minutes * 60
    step = policy.slot_step_minutes * 60
    earliest = _seconds(now) + policy.min_lead_minutes * 60
    by_professional: dict[str, list[tuple[int, int]]] = {}
    for b in busy:
        by_professional.setdefault(b.professional_id, []).append((_seconds(b.starts_at), _seconds(b.ends_at)))
    for pid, start_s, end_s in busy_seconds:  # the same, as epoch seconds straight from the database
        by_professional.setdefault(pid, []).append((start_s, end_s))
    found: list[tuple[int, str]] = []
    for professional in professionals:
        if not (professional.active and professional.works_at(branch.id) and professional.can_do(procedure)):
            continue
        # Merged into disjoint spans, sorted by start they are sorted by end too: one pointer walks them
        # alongside the candidates.
        taken = _merged(by_professional.get(professional.id, []))
        ends = [e for _, e in taken]
        for day in days:
            if closed_reason(branch, professional, day, holidays):
                continue
            pauses = [(_seconds(a), _seconds(b)) for a, b in break_spans(branch, professional, day)]
            for span_start, span_end in working_spans(branch, professional, day):
                at, last = _seconds(span_start), _seconds(span_end) - duration
                j = bisect.bisect_right(ends, at)
                while at <= last:
                    end = at + duration
                    while j < len(taken) and ends[j] <= at:
                        j += 1
                    clear = j >= len(taken) or taken[j][0] >= end
                    if clear and at >= earliest and not any(at < pe and ps < end for ps, pe in pauses):
                        found.append((at, professional.id))
                    at += step
    found.sort()
    return [Slot(pid, datetime.fromtimestamp(at, UTC), datetime.fromtimestamp(at + duration, UTC)) for at, pid in found]


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
