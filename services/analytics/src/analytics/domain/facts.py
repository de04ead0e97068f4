"""Facts and rollups: each lead's steps on its own row, and daily sums of those rows (docs/analytics.md,
"Facts and rollups").

A fact is a function of the projections alone (the repository computes it with the same resolution of people to
leads as before: lead id, else the patient's first lead, else the phone's), so it is as order-free as they are.
The consumers' batches queue what they touched; the fact refresher (one at a time per clinic) recomputes the
facts of every lead and payment those may reach and moves each rollup by the difference between a fact's old and
new contribution: a rollup is at all times the sum of the facts it covers, whatever the order the events came in,
and a rebuild gives the same rollups. Two families of rollups: by channel and source, and by doctor and branch
(and procedure, for revenue). Days are UTC days; a report over a clinic's days reads the whole days from the
rollups and the partial edges from the facts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

RollupKey = tuple[Any, ...]
Counts = dict[str, Any]

LEAD_COUNTS = ("leads", "booked", "arrived", "treated", "paid", "revenue", "corrected")
REVENUE_COUNTS = ("payments", "gross", "refunds")


def lead_counts(fact: Mapping[str, Any]) -> Counts:
    """What one lead adds to its day's rollups."""
    return {
        "leads": 1,
        "booked": int(fact.get("booked_at") is not None),
        "arrived": int(fact.get("arrived_at") is not None),
        "treated": int(fact.get("treated_at") is not None),
        "paid": int(fact.get("paid_at") is not None),
        "revenue": Decimal(fact.get("revenue") or 0),
        "corrected": int(bool(fact.get("corrected"))),
    }


def payment_counts(fact: Mapping[str, Any]) -> Counts:
    """What one confirmed payment adds to its day's revenue rollups."""
    return {
        "payments": 1,
        "gross": Decimal(fact.get("gross") or 0),
        "refunds": Decimal(fact.get("refunded") or 0),
    }


@dataclass(frozen=True)
class Rollup:
    """A family of daily rollups: the facts summed per clinic, UTC day and `dims` (columns of the fact)."""

    table: str
    dims: tuple[str, ...]
    counts: Callable[[Mapping[str, Any]], Counts]

    def key(self, fact: Mapping[str, Any]) -> RollupKey:
        return (fact["tenant_id"], fact["day"], *(fact.get(d) for d in self.dims))


#: The report dimensions each family answers (a report grouped by a subset of them, for the whole clinic or one
#: branch when the family has the branch, reads the family's whole days and the facts of its edges).
LEAD_ROLLUPS = (
    Rollup("lead_rollups", ("channel", "source"), lead_counts),
    Rollup("lead_staff_rollups", ("professional_id", "branch_id"), lead_counts),
)
REVENUE_ROLLUPS = (
    Rollup("revenue_rollups", ("channel", "source"), payment_counts),
    Rollup("revenue_staff_rollups", ("professional_id", "branch_id", "procedure_id"), payment_counts),
)


def deltas(
    changes: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]], rollup: Rollup
) -> dict[RollupKey, Counts]:
    """How much each row of `rollup` moves when facts change from `old` to `new` (None: no fact); keys whose sum
    is unchanged are left out."""
    moved: dict[RollupKey, Counts] = defaultdict(dict)
    for old, new in changes:
        for fact, sign in ((old, -1), (new, 1)):
            if fact is None:
                continue
            key = rollup.key(fact)
            for name, value in rollup.counts(fact).items():
                moved[key][name] = moved[key].get(name, 0) + sign * value
    return {k: v for k, v in moved.items() if any(v.values())}


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


@dataclass(frozen=True)
class Split:
    """A period [start, end) as whole UTC days [first_day, end_day) read from rollups, plus the instants before
    and after them read from facts ([start, head_end) and [tail_start, end); either may be empty)."""

    first_day: date
    end_day: date
    head_end: datetime
    tail_start: datetime


def split(start: datetime, end: datetime) -> Split:
    first = utc_day(start)
    if datetime.combine(first, time(), UTC) < start:
        first += timedelta(days=1)
    last = utc_day(end)  # the day containing `end` is not whole (end is exclusive)
    if last <= first:  # no whole day in between: the facts alone
        return Split(first, first, end, end)
    return Split(first, last, datetime.combine(first, time(), UTC), datetime.combine(last, time(), UTC))
