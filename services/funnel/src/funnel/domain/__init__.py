"""Rules of funnel: plain Python, no framework (an import contract keeps it so).

The stage of a deal is a pure function of the facts recorded about its person (`arrived_stage`,
`request_stage`), never of the order events came in: consumers only record facts (idempotently, by
appointment, plan and item ids), then ask these functions where the deal belongs now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
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


class UnsupportedFile(FunnelError):
    """415: a signed plan file of a type the clinic does not keep."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class FileTooLarge(FunnelError):
    """413: larger than MAX_SIGNED_FILE."""

    def __init__(self, message: str, *, field: str) -> None:
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
    #: The patient confirmed they will come (appointment.confirmed).
    confirmed_at: datetime | None = None


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
        confirmed_at=_earliest(old.confirmed_at, new.confirmed_at),
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


def lost_due(facts: Facts, now: datetime) -> datetime | None:
    """When an Interrupted deal becomes Lost if nothing happens meanwhile (the Lost timer's due time); None
    when the rules do not put it in Interrupted."""
    started = treatment_started(facts)
    if started is None or arrived_stage(facts, now) != "interrupted":
        return None
    return interrupted_since(facts, started) + LOST_AFTER


def request_stage(current: str, booked: bool) -> str:
    """A request deal reaches Booked by itself; the stages before it are the staff's to set."""
    if booked and current not in ("booked", "lost"):
        return "booked"
    return current


# --- automatic tasks ------------------------------------------------------------------------------
#: Why an automatic task exists (tasks.reason).
MISSED_CALL = "missed_call"
UNCONFIRMED = "unconfirmed"
INTERRUPTED = "interrupted"
CONFIRM_CALL_HOURS = 24
MAX_CONFIRM_CALL_HOURS = 168
#: How long staff have for the confirmation call (never later than the appointment itself).
CONFIRM_CALL_WINDOW = timedelta(hours=1)


def call_back_due(missed_at: datetime, answered: Iterable[datetime]) -> bool:
    """A missed call still needs a call-back unless a later answered call (either way) reached the person."""
    return not any(a > missed_at for a in answered)


@dataclass(frozen=True)
class CallBack:
    """What to do with a phone's call-back task, given every call of that phone known so far."""

    #: Complete the open task: an answered call came after every missed call it covers.
    close: bool
    #: Missed calls (ids) a task should now cover (a new task, or the open one if it stays open).
    cover: tuple[str, ...]
    #: The latest missed call the (new or remaining) task covers.
    ref_at: datetime | None


def call_back(
    missed: Iterable[tuple[str, datetime, bool]], answered: Iterable[datetime], open_ref_at: datetime | None
) -> CallBack:
    """missed: (call id, missed at, already covered by a task); open_ref_at: the open task's latest missed call.

    The order calls are told in does not matter: the task is open exactly when some missed call came after
    the last answered one (tests/unit/test_funnel_domain.py checks it over shuffled, repeated events).
    """
    reached = list(answered)
    close = open_ref_at is not None and not call_back_due(open_ref_at, reached)
    due = [(call_id, at) for call_id, at, covered in missed if not covered and call_back_due(at, reached)]
    latest = max((at for _, at in due), default=None)
    if not close and open_ref_at is not None and latest is not None:
        latest = max(latest, open_ref_at)
    return CallBack(close=close, cover=tuple(sorted(call_id for call_id, _ in due)), ref_at=latest)


def clean_confirm_hours(hours: int) -> int:
    if not 1 <= hours <= MAX_CONFIRM_CALL_HOURS:
        raise InvalidFunnel(
            f"The confirmation call is made 1 to {MAX_CONFIRM_CALL_HOURS} hours before the appointment.",
            field="confirm_call_hours",
        )
    return hours


def confirm_call_due(starts_at: datetime, now: datetime) -> datetime:
    return min(now + CONFIRM_CALL_WINDOW, starts_at)


# --- board filters ---------------------------------------------------------------------------------
#: A deal's plan state: the most advanced of its plans' (deals.plan_state).
PLAN_STATES = ("none", "created", "signed", "completed")
#: Patient activity: a visit, booking, arrival or payment in the last `active_days` days, or a future booking.
ACTIVITIES = ("active", "inactive")
ACTIVE_DAYS = 90


def overdue(next_due_at: datetime | None, now: datetime) -> bool:
    """The board's "overdue tasks": the deal's earliest open task is past due (deals.overdue as of `now`)."""
    return next_due_at is not None and next_due_at < now


def inactive(last_activity_at: datetime | None, now: datetime, days: int = ACTIVE_DAYS) -> bool:
    """No visit, booking, arrival or payment in the last `days` days (deals.inactive as of `now`, default days)."""
    return last_activity_at is None or last_activity_at < now - timedelta(days=days)


def plan_state(statuses: Iterable[str]) -> str:
    return max((s for s in statuses if s in PLAN_STATES), key=PLAN_STATES.index, default="none")


def clean_plan_state(value: str | None) -> str | None:
    if value is not None and value not in PLAN_STATES:
        raise InvalidFunnel(f"plan_state is one of {', '.join(PLAN_STATES)}.", field="plan_state")
    return value


def clean_activity(value: str | None, days: int) -> str | None:
    if value is not None and value not in ACTIVITIES:
        raise InvalidFunnel(f"activity is one of {', '.join(ACTIVITIES)}.", field="activity")
    if not 1 <= days <= 3650:
        raise InvalidFunnel("active_days is 1 to 3650.", field="active_days")
    return value


# --- curators' earnings ------------------------------------------------------------------------------
CENT = Decimal("0.01")
#: The longest earnings report asked in one request.
MAX_EARNINGS_DAYS = 366


def commission_percent(general: Decimal, per_service: dict[str, Decimal], procedure_id: str | None) -> Decimal:
    """The curator's percentage for a payment: the service's own when set, else the general one."""
    if procedure_id is not None and procedure_id in per_service:
        return per_service[procedure_id]
    return general


def earned(amount: Decimal, percent: Decimal) -> Decimal:
    """What a payment (positive) or a refund (negative) earns the curator, to the cent (half away from zero)."""
    value = (abs(amount) * percent / Decimal(100)).quantize(CENT, rounding="ROUND_HALF_UP")
    return value if amount >= 0 else -value


def clean_period(start: date, end: date) -> tuple[date, date]:
    if end < start:
        raise InvalidFunnel("`to` is on or after `from`.", field="to")
    if (end - start).days > MAX_EARNINGS_DAYS:
        raise InvalidFunnel(f"Ask for at most {MAX_EARNINGS_DAYS} days at a time.", field="from")
    return start, end


# --- signed plan files ------------------------------------------------------------------------------
#: Under the gateway's staff body limit (10 MB).
MAX_SIGNED_FILE = 8 * 1024 * 1024
SIGNED_FILE_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def sniff_file(data: bytes) -> str | None:
    """The file's real type from its first bytes (the declared content type is not trusted alone)."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def check_signed_file(content_type: str | None, data: bytes) -> str:
    """The stored content type of an uploaded signed plan: PDF, JPEG or PNG, declared and real, 1 B to 8 MB."""
    declared = (content_type or "").split(";")[0].strip().lower()
    if declared not in SIGNED_FILE_TYPES:
        raise UnsupportedFile(
            f"The signed plan is a PDF, JPEG or PNG file (Content-Type {', '.join(SIGNED_FILE_TYPES)}).",
            field="content-type",
        )
    if not data:
        raise InvalidFunnel("The file is empty.", field="file")
    if len(data) > MAX_SIGNED_FILE:
        raise FileTooLarge(f"The file is larger than {MAX_SIGNED_FILE // (1024 * 1024)} MB.", field="file")
    if sniff_file(data) != declared:
        raise InvalidFunnel(f"The file is not a {SIGNED_FILE_TYPES[declared].upper()} file.", field="file")
    return declared


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


def clean_color(color: str, *, field_name: str = "color") -> str:
    value = color.strip().lower()
    if len(value) != 7 or not value.startswith(_COLOUR) or any(c not in "0123456789abcdef" for c in value[1:]):
        raise InvalidFunnel("The colour is a #rrggbb hex value.", field=field_name)
    return value


def clean_outcome(outcome: str, *, field_name: str = "outcome") -> str:
    if outcome not in OUTCOMES:
        raise InvalidFunnel(f"The outcome is one of {', '.join(OUTCOMES)}.", field=field_name)
    return outcome


def clean_key(key: str, *, field_name: str = "key") -> str:
    """A stage's key: its trimmed title, lower case, spaces as underscores."""
    return clean_title(key, field_name=field_name).lower().replace(" ", "_")


# --- a clinic's own pipelines ---------------------------------------------------------------------------
#: The most stages a pipeline of the clinic's own starts with (more may be added one by one).
MAX_STAGES = 30


def clean_pipeline_name(name: str, taken: Iterable[str]) -> str:
    """A pipeline's name: a title no other live pipeline of the clinic has (compared without case)."""
    cleaned = clean_title(name, field_name="name")
    if cleaned.casefold() in {t.casefold() for t in taken}:
        raise Conflict("The clinic already has a pipeline with this name.", field="name")
    return cleaned


def clean_stages(stages: list[StageSpec]) -> list[StageSpec]:
    """A new pipeline's stages, in order: at least one open stage (where new deals start), at most one won and
    one lost stage (what reports count as the pipeline's outcome), keys unique. Problems name `stages.<i>.<field>`."""
    if not stages:
        raise InvalidFunnel("A pipeline has at least one stage.", field="stages")
    if len(stages) > MAX_STAGES:
        raise InvalidFunnel(f"A pipeline starts with at most {MAX_STAGES} stages.", field="stages")
    cleaned: list[StageSpec] = []
    for i, s in enumerate(stages):
        at = f"stages.{i}"
        key = clean_key(s.key, field_name=f"{at}.key")
        if any(c.key == key for c in cleaned):
            raise InvalidFunnel("Another stage of the pipeline has this key.", field=f"{at}.key")
        outcome = clean_outcome(s.outcome, field_name=f"{at}.outcome")
        if outcome != "open" and any(c.outcome == outcome for c in cleaned):
            raise InvalidFunnel(f"A pipeline has at most one {outcome} stage.", field=f"{at}.outcome")
        name = clean_title(s.name, field_name=f"{at}.name")
        cleaned.append(StageSpec(key, name, clean_color(s.color, field_name=f"{at}.color"), outcome))
    if all(s.outcome != "open" for s in cleaned):
        raise InvalidFunnel("A pipeline needs an open stage for its deals to start in.", field="stages")
    return cleaned


def clean_amount(amount: Decimal, *, field_name: str = "amount") -> Decimal:
    if not Decimal(0) <= amount <= MAX_PRICE:
        raise InvalidFunnel(f"The amount is between 0 and {MAX_PRICE}.", field=field_name)
    return amount.quantize(Decimal("0.01"))


def removable(kind: str, open_deals: int, deals: int) -> str:
    """How a pipeline goes: `deleted` when it never held a deal, `archived` (hidden, its closed deals kept) when
    it only holds won or lost ones. The built-in pipelines stay, and so does one with open deals."""
    if kind != CUSTOM:
        raise Conflict("The built-in pipelines cannot be removed; rename them instead.", field="pipeline_id")
    if open_deals:
        raise Conflict(f"The pipeline holds {open_deals} open deal(s); move or close them first.", field="pipeline_id")
    return "archived" if deals else "deleted"


def check_members(wanted: dict[str, str], known: set[str]) -> None:
    """`wanted`: field -> user id. Each must be an active staff member of the clinic (`known`), else a 422 naming
    the field (a curator, a task's responsible person)."""
    for field, user_id in wanted.items():
        if user_id not in known:
            raise InvalidFunnel(f"{user_id} is not an active staff member of this clinic.", field=field)


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
