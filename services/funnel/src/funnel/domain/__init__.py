"""Rules of funnel: plain Python, no framework (an import contract keeps it so).

The stage of a deal is a pure function of the facts recorded about its person (`arrived_stage`,
`request_stage`), never of the order events came in: consumers only record facts (idempotently, by
appointment, plan and item ids), then ask these functions where the deal belongs now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

MAX_TITLE = 200
MAX_COMMENT = 4000
#: Fits the Numeric(14, 2) columns.
MAX_PRICE = Decimal("999999999999.99")
#: Interrupted for this long without a booking: the deal is lost (a durable timer checks it).
LOST_AFTER = timedelta(days=182)
REQUESTS = "requests"
ARRIVED = "arrived"
CUSTOM = "custom"
OUTCOMES = ("open", "won", "lost")
TASK_KINDS = ("call", "todo")
#: The board's treatment-plan filter: no plan at all, or a plan in that state (created = not signed yet).
PLAN_STATES = ("none", "created", "signed", "completed")
_COLOUR = "#"


class FunnelError(Exception):
    """Base of the service's errors; `field` names the offending field in the problem document."""

    field: str | None = None


class InvalidFunnel(FunnelError):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(FunnelError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Conflict(FunnelError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class StageSpec:
    key: str
    name: str
    color: str
    outcome: str = "open"


#: The built-in pipelines every clinic starts with (then the clinic's to rename, recolour, extend).
REQUESTS_STAGES = (
    StageSpec("new", "New", "#3b82f6"),
    StageSpec("contacted", "In contact", "#a855f7"),
    StageSpec("booked", "Booked", "#22c55e", "won"),
    StageSpec("lost", "Lost", "#6b7280", "lost"),
)
ARRIVED_STAGES = (
    StageSpec("new", "New (arrived)", "#3b82f6"),
    StageSpec("plan_signed", "Treatment plan signed", "#eab308"),
    StageSpec("in_treatment", "In treatment", "#22c55e"),
    StageSpec("interrupted", "Interrupted", "#f97316"),
    StageSpec("completed", "Completed", "#16a34a", "won"),
    StageSpec("lost", "Lost", "#6b7280", "lost"),
)
BUILTIN = {REQUESTS: ("Requests and contacts", REQUESTS_STAGES), ARRIVED: ("Arrived and repeat", ARRIVED_STAGES)}


# --- facts --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Appointment:
    """What is known of one appointment of the person, merged from its events in any order."""

    id: str
    starts_at: datetime | None = None
    #: Event time of the booking or reschedule `starts_at` came from: the latest wins.
    starts_version: datetime | None = None
    cancelled_at: datetime | None = None
    #: The patient came (arrived or visit completed): no longer a future booking.
    done_at: datetime | None = None


def merge_appointment(old: Appointment | None, new: Appointment) -> Appointment:
    """Commutative, idempotent merge: the same facts whatever the order and however often they come."""
    if old is None:
        return new
    starts, version = old.starts_at, old.starts_version
    if new.starts_version is not None and (version is None or new.starts_version > version):
        starts, version = new.starts_at, new.starts_version
    return Appointment(
        id=old.id,
        starts_at=starts,
        starts_version=version,
        cancelled_at=_earliest(old.cancelled_at, new.cancelled_at),
        done_at=_earliest(old.done_at, new.done_at),
    )


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


@dataclass(frozen=True)
class Visit:
    appointment_id: str
    completed_at: datetime
    procedures: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemFact:
    procedure_id: str | None
    quantity: int
    #: Marked done by staff (on top of the visits that name its procedure).
    manual_done: int = 0


@dataclass(frozen=True)
class Plan:
    id: str
    created_at: datetime
    signed_at: datetime | None = None
    items: tuple[ItemFact, ...] = ()


def items_done(plan: Plan, visits: Iterable[Visit]) -> list[int]:
    """Done count of each item: staff marks plus visits after the plan was made that list its procedure."""
    seen = list(visits)
    out = []
    for item in plan.items:
        by_visits = sum(
            1
            for v in seen
            if item.procedure_id is not None and item.procedure_id in v.procedures and v.completed_at >= plan.created_at
        )
        out.append(min(item.quantity, item.manual_done + by_visits))
    return out


def plan_complete(plan: Plan, visits: Iterable[Visit]) -> bool:
    if plan.signed_at is None or not plan.items:
        return False
    return all(done >= item.quantity for done, item in zip(items_done(plan, visits), plan.items, strict=True))


@dataclass(frozen=True)
class Facts:
    arrived_at: datetime | None = None
    appointments: tuple[Appointment, ...] = ()
    plans: tuple[Plan, ...] = ()
    visits: tuple[Visit, ...] = ()


def future_bookings(facts: Facts, now: datetime) -> list[Appointment]:
    return [
        a
        for a in facts.appointments
        if a.starts_at is not None and a.cancelled_at is None and a.done_at is None and a.starts_at > now
    ]


def treatment_started(facts: Facts) -> datetime | None:
    """When the plan's services started: the first visit completed once a plan was signed (or an item done)."""
    signed = [p.signed_at for p in facts.plans if p.signed_at is not None]
    if not signed:
        return None
    first_signed = min(signed)
    after = [v.completed_at for v in facts.visits if v.completed_at >= first_signed]
    if after:
        return min(after)
    if any(i.manual_done > 0 for p in facts.plans if p.signed_at is not None for i in p.items):
        return first_signed
    return None


def interrupted_since(facts: Facts, started: datetime) -> datetime:
    """When the last booking stopped being a future one: its visit, its cancellation, or its start time."""
    ends = [started, *(v.completed_at for v in facts.visits)]
    for a in facts.appointments:
        if a.cancelled_at is not None:
            ends.append(a.cancelled_at)
        elif a.done_at is not None:
            ends.append(a.done_at)
        elif a.starts_at is not None:
            ends.append(a.starts_at)
    return max(ends)


def arrived_stage(facts: Facts, now: datetime) -> str:
    """Stage key of the person's Arrived-and-repeat deal (docs/funnel.md, "Rules that move deals")."""
    signed = [p for p in facts.plans if p.signed_at is not None]
    if signed and all(plan_complete(p, facts.visits) for p in signed):
        return "completed"
    started = treatment_started(facts)
    if started is not None:
        if future_bookings(facts, now):
            return "in_treatment"
        if now - interrupted_since(facts, started) >= LOST_AFTER:
            return "lost"
        return "interrupted"
    if signed:
        return "plan_signed"
    return "new"


def request_stage(current: str, booked: bool) -> str:
    """A request deal reaches Booked by itself; the stages before it are the staff's to set."""
    if booked and current not in ("booked", "lost"):
        return "booked"
    return current


# --- configuration and input ---------------------------------------------------------------------
def clean_title(title: str, *, field_name: str = "title") -> str:
    """Trimmed, 1 to MAX_TITLE characters."""
    cleaned = " ".join(title.split())
    if not cleaned:
        raise InvalidFunnel(f"The {field_name} must not be empty.", field=field_name)
    if len(cleaned) > MAX_TITLE:
        raise InvalidFunnel(f"The {field_name} has at most {MAX_TITLE} characters.", field=field_name)
    return cleaned


def clean_comment(text: str) -> str:
    cleaned = text.strip()
    if not cleaned or len(cleaned) > MAX_COMMENT:
        raise InvalidFunnel(f"A comment has 1 to {MAX_COMMENT} characters.", field="text")
    return cleaned


def clean_currency(currency: str) -> str:
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise InvalidFunnel("The currency is an ISO 4217 code such as BRL.", field="currency")
    return currency.upper()


def clean_color(color: str) -> str:
    value = color.strip().lower()
    if len(value) != 7 or not value.startswith(_COLOUR) or any(c not in "0123456789abcdef" for c in value[1:]):
        raise InvalidFunnel("The colour is a #rrggbb hex value.", field="color")
    return value


def clean_outcome(outcome: str) -> str:
    if outcome not in OUTCOMES:
        raise InvalidFunnel(f"The outcome is one of {', '.join(OUTCOMES)}.", field="outcome")
    return outcome


def clean_percent(value: Decimal, *, field_name: str) -> Decimal:
    if not Decimal(0) <= value <= Decimal(100):
        raise InvalidFunnel("A percentage is between 0 and 100.", field=field_name)
    return value


def clean_due(due_at: datetime, now: datetime) -> datetime:
    if due_at.tzinfo is None:
        raise InvalidFunnel("The due time needs a time zone.", field="due_at")
    if due_at < now:
        raise InvalidFunnel("A new task cannot be due in the past.", field="due_at")
    return due_at


def clean_kind(kind: str) -> str:
    if kind not in TASK_KINDS:
        raise InvalidFunnel(f"The kind is one of {', '.join(TASK_KINDS)}.", field="kind")
    return kind


@dataclass(frozen=True)
class PlanItem:
    procedure: str
    quantity: int
    price: Decimal
    discount: Decimal = Decimal(0)
    stage: int = 1
    procedure_id: str | None = None

    @property
    def total(self) -> Decimal:
        return (self.price * self.quantity * (Decimal(100) - self.discount) / Decimal(100)).quantize(Decimal("0.01"))


def clean_items(items: Iterable[PlanItem]) -> list[PlanItem]:
    out = list(items)
    if not out:
        raise InvalidFunnel("A treatment plan has at least one item.", field="items")
    for i, item in enumerate(out):
        clean_title(item.procedure, field_name=f"items[{i}].procedure")
        if item.quantity < 1:
            raise InvalidFunnel("The quantity is at least 1.", field=f"items[{i}].quantity")
        if not Decimal(0) <= item.price <= MAX_PRICE:
            raise InvalidFunnel(f"The price is between 0 and {MAX_PRICE}.", field=f"items[{i}].price")
        if item.quantity > 10_000:
            raise InvalidFunnel("The quantity is at most 10000.", field=f"items[{i}].quantity")
        clean_percent(item.discount, field_name=f"items[{i}].discount")
        if item.stage < 1:
            raise InvalidFunnel("Plan stages are numbered from 1.", field=f"items[{i}].stage")
    return out


@dataclass(frozen=True)
class TaskCounts:
    """The deal's indicators: green (active, not yet due), red (overdue); both 0: a task should be made."""

    green: int = 0
    red: int = 0


def task_counts(dues: Iterable[datetime], now: datetime) -> TaskCounts:
    green = red = 0
    for due in dues:
        if due < now:
            red += 1
        else:
            green += 1
    return TaskCounts(green=green, red=red)


Fact = Appointment | Visit | Plan | datetime


def record(facts: Facts, fact: Fact) -> Facts:
    """Facts plus one more (a datetime is an arrival): what the database does with its upserts, in memory."""
    if isinstance(fact, datetime):
        return Facts(_earliest(facts.arrived_at, fact), facts.appointments, facts.plans, facts.visits)
    if isinstance(fact, Appointment):
        known = {a.id: a for a in facts.appointments}
        known[fact.id] = merge_appointment(known.get(fact.id), fact)
        return Facts(facts.arrived_at, tuple(sorted(known.values(), key=lambda a: a.id)), facts.plans, facts.visits)
    if isinstance(fact, Visit):
        visits = {v.appointment_id: v for v in facts.visits}
        visits.setdefault(fact.appointment_id, fact)
        return Facts(facts.arrived_at, facts.appointments, facts.plans, tuple(sorted(visits.values(), key=_visit_key)))
    plans = {p.id: p for p in facts.plans}
    old = plans.get(fact.id)
    plans[fact.id] = (
        fact if old is None else Plan(old.id, old.created_at, _earliest(old.signed_at, fact.signed_at), old.items)
    )
    return Facts(facts.arrived_at, facts.appointments, tuple(sorted(plans.values(), key=lambda p: p.id)), facts.visits)


def _visit_key(v: Visit) -> str:
    return v.appointment_id


def plan_state(value: str | None) -> str | None:
    """The board's plan filter, checked: one of PLAN_STATES, or None for any."""
    if value is None or value == "":
        return None
    if value not in PLAN_STATES:
        raise InvalidFunnel(f"The plan states are: {', '.join(PLAN_STATES)}.", field="plan_state")
    return value
