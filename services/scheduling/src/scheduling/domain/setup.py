"""The clinic's set-up: branches, professionals and their week, procedures, public holidays."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays

from scheduling.domain.errors import Invalid

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
DEFAULT_REMINDER_OFFSETS = (1440, 300)
#: The longest a procedure (so an appointment or a hold) may last: 12 h.
MAX_DURATION_MINUTES = 720
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_hhmm(value: str, field_name: str) -> time:
    if not _HHMM.match(value):
        raise Invalid(f"{value!r} is not a time of day as HH:MM.", field=field_name)
    hour, minute = value.split(":")
    return time(int(hour), int(minute))


def check_timezone(name: str, field_name: str = "timezone") -> ZoneInfo:
    try:
        if name not in _zones():
            raise ZoneInfoNotFoundError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"{name!r} is not an IANA time zone (e.g. America/Sao_Paulo).", field=field_name) from exc


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_country(code: str) -> str:
    code = code.upper()
    if code not in holidays.list_supported_countries():
        raise Invalid(f"No public holiday calendar for country {code!r}.", field="country")
    return code


@lru_cache(maxsize=256)
def public_holidays(country: str, year: int, subdivision: str | None = None) -> dict[date, str]:
    """The country's (and subdivision's, e.g. SP) public holidays of one year, from the `holidays` library."""
    calendar = holidays.country_holidays(country, subdiv=subdivision, years=year)
    return {day: str(name) for day, name in calendar.items()}


@dataclass(frozen=True)
class Interval:
    """A wall-clock span of one weekday, e.g. Mon 09:00-18:00 (start < end, same day)."""

    weekday: int  # 0 = Monday
    start: time
    end: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise Invalid("weekday must be 0 (Monday) to 6 (Sunday).", field="weekday")
        if self.start >= self.end:
            raise Invalid("A span must start before it ends (overnight spans are two spans).", field="end")


@dataclass(frozen=True)
class WorkingHours(Interval):
    """A professional works at `branch_id` on this weekday from start to end."""

    branch_id: str = ""


@dataclass(frozen=True)
class Branch:
    id: str
    tenant_id: str
    name: str
    address: str | None
    timezone: str
    #: Open on the country's public holidays (closed unless the branch opts in).
    open_on_holidays: bool = False
    #: ISO 3166-2 subdivision for regional holidays (e.g. SP), optional.
    subdivision: str | None = None
    active: bool = True

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Professional:
    id: str
    tenant_id: str
    name: str
    #: doctor, biomedic, dentist, diagnostic_doctor, ...
    kind: str
    specialties: tuple[str, ...]
    branch_ids: tuple[str, ...]
    hours: tuple[WorkingHours, ...]
    breaks: tuple[Interval, ...] = ()
    days_off: tuple[date, ...] = ()
    #: The staff account of this professional, so they see their own agenda.
    user_id: str | None = None
    active: bool = True

    def works_at(self, branch_id: str) -> bool:
        return branch_id in self.branch_ids

    def can_do(self, procedure: Procedure) -> bool:
        return procedure.specialty is None or procedure.specialty in self.specialties


@dataclass(frozen=True)
class Procedure:
    id: str
    tenant_id: str
    name: str
    duration_minutes: int
    specialty: str | None
    #: A reference price shown to staff ("350.00"), never charged from here.
    price_reference: str | None
    currency: str
    prepayment_required: bool
    #: Branches that offer it; empty: all.
    branch_ids: tuple[str, ...] = ()
    active: bool = True

    def offered_at(self, branch_id: str) -> bool:
        return not self.branch_ids or branch_id in self.branch_ids


@dataclass(frozen=True)
class ClinicPolicy:
    country: str = "BR"
    #: Minutes before the start a reminder goes out.
    reminder_offsets: tuple[int, ...] = DEFAULT_REMINDER_OFFSETS
    #: A cancellation at least this many hours before the start refunds the prepayment.
    refund_cutoff_hours: int = 24
    hold_minutes: int = 10
    slot_step_minutes: int = 15
    #: No online booking closer than this to the start.
    min_lead_minutes: int = 0
    #: The questionnaire sent on arrival.
    anamnesis_questionnaire_id: str | None = None

    def __post_init__(self) -> None:
        if not self.reminder_offsets or any(o <= 0 or o > 60 * 24 * 30 for o in self.reminder_offsets):
            raise Invalid("Reminder offsets are minutes before the start, 1 to 43200.", field="reminder_offsets")
        if len(set(self.reminder_offsets)) != len(self.reminder_offsets):
            raise Invalid("Reminder offsets must be distinct.", field="reminder_offsets")
        if not 1 <= self.hold_minutes <= 60:
            raise Invalid("A hold lasts 1 to 60 minutes.", field="hold_minutes")
        if self.slot_step_minutes not in (5, 10, 15, 20, 30, 60):
            raise Invalid("The slot step is 5, 10, 15, 20, 30 or 60 minutes.", field="slot_step_minutes")
        if not 0 <= self.refund_cutoff_hours <= 24 * 30:
            raise Invalid("The refund cut-off is 0 to 720 hours.", field="refund_cutoff_hours")


def hours_from(items: list[tuple[int, str, str, str]]) -> tuple[WorkingHours, ...]:
    """(weekday, 'HH:MM', 'HH:MM', branch_id) rows -> WorkingHours, with no overlap on one weekday."""
    out = [
        WorkingHours(weekday=w, start=parse_hhmm(s, "hours.start"), end=parse_hhmm(e, "hours.end"), branch_id=b)
        for w, s, e, b in items
    ]
    for i, a in enumerate(out):
        for b in out[i + 1 :]:
            if a.weekday == b.weekday and a.start < b.end and b.start < a.end:
                raise Invalid(f"Working hours overlap on {WEEKDAYS[a.weekday]}.", field="hours")
    return tuple(out)


def breaks_from(items: list[tuple[int, str, str]]) -> tuple[Interval, ...]:
    return tuple(
        Interval(weekday=w, start=parse_hhmm(s, "breaks.start"), end=parse_hhmm(e, "breaks.end")) for w, s, e in items
    )


class Busy(NamedTuple):
    """Time a professional cannot take: an active appointment or an unexpired hold (a tuple: availability
    builds thousands of them per request)."""

    professional_id: str
    starts_at: datetime
    ends_at: datetime
    appointment_id: str = ""
