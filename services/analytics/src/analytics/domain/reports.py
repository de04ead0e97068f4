"""Report rules with no IO: periods in the clinic's days, groupings, sorting, the funnel's steps and drops,
cost per lead, commissions (docs/analytics.md, "Reports")."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from analytics.domain.attribution import CHANNELS
from analytics.domain.errors import InvalidAnalytics

#: The longest period one report covers.
MAX_DAYS = 3 * 366
DEFAULT_DAYS = 30
#: The calendar reports and spend accept (a clinic's data is never older or further ahead).
FIRST_YEAR, LAST_YEAR = 2000, 2100
CENT = Decimal("0.01")

#: What each report may be grouped by (the first ones are its default grouping).
LEAD_DIMENSIONS = ("channel", "source", "doctor", "branch")
REVENUE_DIMENSIONS = ("channel", "source", "doctor", "procedure", "branch")
#: The AI usage report's groupings (the reply assistant's requests).
AI_DIMENSIONS = ("staff", "channel", "model")
#: The funnel's steps, in order.
STEPS = ("leads", "booked", "arrived", "treated", "paid")


@dataclass(frozen=True)
class Period:
    """Clinic days `first` .. `last` inclusive, as the instants [start, end)."""

    first: date
    last: date
    start: datetime
    end: datetime


def period(first: date | None, last: date | None, timezone: str, today: date) -> Period:
    """The report's period; by default the last 30 days up to today (the clinic's days)."""
    for name, day in (("from", first), ("to", last)):
        if day is not None and not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise InvalidAnalytics(f"A day from {FIRST_YEAR} to {LAST_YEAR}.", field=name)
    last = last or (today if first is None else min(today, first + timedelta(days=DEFAULT_DAYS - 1)))
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise InvalidAnalytics("The end of the period is before its start.", field="to")
    if (last - first).days + 1 > MAX_DAYS:
        raise InvalidAnalytics(f"A report covers at most {MAX_DAYS} days.", field="to")
    zone = ZoneInfo(timezone)
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    return Period(first, last, start, end)


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(timezone)
    return (
        datetime.combine(day, time(), zone).astimezone(UTC),
        datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC),
    )


def dimensions(raw: Sequence[str] | None, allowed: Sequence[str], default: Sequence[str]) -> tuple[str, ...]:
    """The grouping asked for (`group_by=channel,source`), in the order given, each once."""
    if not raw:
        return tuple(default)
    chosen: list[str] = []
    for name in raw:
        if name not in allowed:
            raise InvalidAnalytics(f"Group by one of: {', '.join(allowed)}.", field="group_by")
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


def sort_key(raw: str | None, allowed: Iterable[str], default: str) -> tuple[str, bool]:
    """`sort=source` ascending, `sort=-revenue` descending."""
    value = (raw or default).strip()
    descending = value.startswith("-")
    name = value.lstrip("-")
    options = list(allowed)
    if name not in options:
        raise InvalidAnalytics(f"Sort by one of: {', '.join(options)} (a leading '-' for descending).", field="sort")
    return name, descending


def sort_rows(rows: list[dict[str, Any]], key: str, descending: bool) -> list[dict[str, Any]]:
    """Stable; rows without the value last whichever the direction."""

    def value(row: Mapping[str, Any]) -> Any:
        v = row.get(key)
        return (0, "") if v is None else (1, v)

    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]
    return sorted(present, key=value, reverse=descending) + missing


def rate(part: int | Decimal, whole: int | Decimal) -> float | None:
    """A share as a percentage with one decimal; None when there is nothing to divide by."""
    if not whole:
        return None
    return round(float(part) * 100.0 / float(whole), 1)


def funnel(row: Mapping[str, Any]) -> dict[str, Any]:
    """The counts of each step, plus each step's share of the leads and the drop from the step before."""
    out = dict(row)
    previous: int | None = None
    for step in STEPS:
        count = int(row.get(step) or 0)
        out[step] = count
        if step != "leads":
            out[f"{step}_rate"] = rate(count, out["leads"])
            out[f"{step}_drop"] = max((previous or 0) - count, 0)
            out[f"{step}_drop_rate"] = rate(max((previous or 0) - count, 0), previous or 0)
        previous = count
    return out


def money(value: Decimal | int | float | None) -> Decimal:
    return Decimal(value or 0).quantize(CENT, rounding=ROUND_HALF_UP)


def prorated(amount: Decimal, spent_from: datetime, spent_to: datetime, start: datetime, end: datetime) -> Decimal:
    """The part of a campaign's spend that falls in [start, end), in proportion to the time it overlaps."""
    length = (spent_to - spent_from).total_seconds()
    overlap = (min(spent_to, end) - max(spent_from, start)).total_seconds()
    if length <= 0 or overlap <= 0:
        return Decimal(0)
    return Decimal(amount) * Decimal(overlap) / Decimal(length)


def cost_per_lead(spend: Decimal | None, leads: int) -> Decimal | None:
    if spend is None or not leads:
        return None
    return money(spend / leads)


def ai_cost(value: Decimal | int | float | None) -> Decimal | None:
    """An assistant's cost in the clinic's currency, to 1/10,000 (a request costs fractions of a cent)."""
    return None if value is None else Decimal(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def commission(payments: Decimal, percent: Decimal | None) -> Decimal:
    return money(Decimal(payments) * (percent or Decimal(0)) / 100)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def clean_source(source: str) -> str:
    cleaned = source.strip()
    if not cleaned:
        raise InvalidAnalytics("Name the source.", field="source")
    if len(cleaned) > 100:
        raise InvalidAnalytics("A source has at most 100 characters.", field="source")
    return cleaned


def clean_percent(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0 or value > 100:
        raise InvalidAnalytics("A commission is a percentage from 0 to 100.", field="percent")
    return value.quantize(CENT)


def clean_spend(amount: Decimal, first: date, last: date, channel: str | None) -> Decimal:
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
        raise InvalidAnalytics("Spend is an amount from 0 up to 999,999,999,999.99.", field="amount")
    for name, day in (("from", first), ("to", last)):
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            raise InvalidAnalytics(f"A day from {FIRST_YEAR} to {LAST_YEAR}.", field=name)
    if channel is not None and channel not in CHANNELS:
        raise InvalidAnalytics(f"The channels are: {', '.join(CHANNELS)}.", field="channel")
    if last < first:
        raise InvalidAnalytics("The campaign ends before it starts.", field="to")
    return amount.quantize(CENT)
