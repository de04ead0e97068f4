"""What staff can ask of the lead list: filters, free text, sort orders (plain values, no SQL)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

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
