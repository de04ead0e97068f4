"""What staff can ask of the lead list: filters, free text, sort orders (plain values, no SQL)."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from leads.domain.errors import InvalidLead
from leads.domain.leads import STATUSES, URGENCIES, search_key

SORTS = ("created_at", "-created_at", "updated_at", "-updated_at", "name", "-name", "next_follow_up", "-next_follow_up")
#: Totals are counted up to this many rows; beyond it the list says "more than" (a "1,000+" counter): counting
#: every match of a broad filter over a million leads would cost more than the page itself.
TOTAL_CAP = 1_000


@dataclass(frozen=True)
class LeadQuery:
    created_from: datetime | None = None
    created_to: datetime | None = None
    statuses: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    owner_ids: tuple[str, ...] = ()
    unassigned: bool = False
    urgencies: tuple[str, ...] = ()
    follow_up_from: date | None = None
    follow_up_to: date | None = None
    #: Free text, already split into what it can be: a phone, a CPF, an e-mail, a name.
    phone: str | None = None
    cpf: str | None = None
    email: str | None = None
    name: str | None = None
    sort: str = "-created_at"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class FreeText:
    phone_digits: str | None
    cpf: str | None
    email: str | None
    name: str | None


def classify_text(q: str) -> FreeText:
    """'(11) 98765-4321' is a phone, '111.444.777-35' a CPF, 'a@b.c' an e-mail, anything else a name."""
    text = q.strip()
    digits = re.sub(r"\D", "", text)
    if "@" in text:
        return FreeText(None, None, text.lower(), None)
    if digits and len(digits) >= 6 and len(digits) >= len(re.sub(r"[\s().+\-/]", "", text)) - 1:
        cpf = digits if len(digits) == 11 and ("." in text or ("-" in text and text.count(".") == 2)) else None
        return FreeText(digits, cpf, None, None)
    key = search_key(text)
    if len(key) < 2:
        raise InvalidLead("Search for at least 2 characters.", field="q")
    return FreeText(None, None, None, key)


def check_query(query: LeadQuery) -> LeadQuery:
    if query.sort not in SORTS:
        raise InvalidLead(f"Sort by one of: {', '.join(SORTS)}.", field="sort")
    for status in query.statuses:
        if status not in STATUSES:
            raise InvalidLead(f"Unknown status {status!r}.", field="status")
    for urgency in query.urgencies:
        if urgency not in URGENCIES:
            raise InvalidLead(f"Unknown urgency {urgency!r}.", field="urgency")
    if query.created_from and query.created_to and query.created_from > query.created_to:
        raise InvalidLead("created_from is after created_to.", field="created_from")
    if query.follow_up_from and query.follow_up_to and query.follow_up_from > query.follow_up_to:
        raise InvalidLead("follow_up_from is after follow_up_to.", field="follow_up_from")
    return query


@dataclass(frozen=True)
class Metrics:
    period_from: date
    period_to: date
    total: int
    high_urgency: int
    follow_ups_today: int
    follow_ups_overdue: int
    by_status: dict[str, int]
    by_source: dict[str, int]


def with_text(query: LeadQuery, found: FreeText, *, phone: str | None) -> LeadQuery:
    """The query with the free text: `phone` is its E.164 form (the caller normalises it with the clinic's
    country)."""
    return replace(query, phone=phone, cpf=search_cpf(found), email=found.email, name=found.name)


def search_cpf(found: FreeText) -> str | None:
    """The CPF to look for in free text: one written as a CPF, or eleven bare digits, which may be a CPF as
    well as a phone (both are searched)."""
    if found.cpf:
        return found.cpf
    return found.phone_digits if found.phone_digits and len(found.phone_digits) == 11 else None


FOLLOW_UPS = ("today", "overdue")


def follow_up_days(follow_up: str | None, today: date) -> dict[str, date]:
    """`follow_up=today|overdue` as the follow-up date bounds of the query (today: the clinic's today)."""
    if follow_up is None:
        return {}
    if follow_up not in FOLLOW_UPS:
        raise InvalidLead(f"follow_up is one of: {', '.join(FOLLOW_UPS)}.", field="follow_up")
    if follow_up == "today":
        return {"follow_up_from": today, "follow_up_to": today}
    return {"follow_up_to": today - timedelta(days=1)}


def capped(total: int) -> tuple[int, bool]:
    """The total a list shows, and whether it is "more than" (TOTAL_CAP)."""
    return min(total, TOTAL_CAP), total > TOTAL_CAP


#: The metrics' period: 30 days to today unless asked; at most 10 years.
DEFAULT_PERIOD_DAYS = 30
MAX_PERIOD_DAYS = 3660


def metrics_period(day_from: date | None, day_to: date | None, today: date) -> tuple[date, date]:
    day_to = day_to or today
    day_from = day_from or day_to - timedelta(days=DEFAULT_PERIOD_DAYS - 1)
    if day_from > day_to:
        raise InvalidLead("from is after to.", field="from")
    if (day_to - day_from).days > MAX_PERIOD_DAYS:
        raise InvalidLead("A period spans at most 10 years.", field="from")
    return day_from, day_to
