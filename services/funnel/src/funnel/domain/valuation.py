"""The hair-transplant valuation → quote process: plain rules, no framework (docs/quotes.md).

One process per prospect. Its state is a pure function of what happened to it (`step`): photos arrive by
slot (a repeated or redelivered photo replaces the one in its slot, never counts twice), the fifth distinct
slot completes the profile once, and the prospect's answer to a quote is applied once (the same answer again
is a no-op; a different one after a final answer is a conflict). Timers are instants on the process
(`reminder_due_at`, `answer_due_at`) that the worker's rounds compare with the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from funnel.domain import Conflict, FunnelError, InvalidFunnel


class Forbidden(FunnelError):
    """The caller may not do this (e.g. records a valuation without being a diagnostic doctor)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class LinkInvalid(FunnelError):
    """A patient link that is forged, expired or made for another page (a 401 the patient can read)."""

    def __init__(self, message: str, *, field: str = "token") -> None:
        super().__init__(message)
        self.field = field


#: Valuation errors and their HTTP statuses (app.py adds them to the service's error map).
ERRORS: dict[type[Exception], int] = {Forbidden: 403, LinkInvalid: 401}

#: The five photos a hair-transplant valuation needs, in the order WhatsApp images fill them.
SLOTS = ("front", "top", "crown", "left", "right")
PHOTOS_REQUIRED = len(SLOTS)
REMINDER_EVERY = timedelta(hours=24)
MAX_REMINDERS = 3
DIGEST_EVERY = timedelta(hours=24)
ANSWER_WITHIN = timedelta(hours=24)
MAX_PHOTO_BYTES = 8 * 1024 * 1024
DIAGNOSTIC_DOCTOR = "diagnostic_doctor"
SYSTEM = "funnel"

COLLECTING, VALUING, QUOTING, SENT, QUESTION, ACCEPTED, REJECTED, CLOSED, CANCELLED = (
    "collecting",
    "valuing",
    "quoting",
    "quote_sent",
    "question",
    "accepted",
    "rejected",
    "closed",
    "cancelled",
)
STATES = (COLLECTING, VALUING, QUOTING, SENT, QUESTION, ACCEPTED, REJECTED, CLOSED, CANCELLED)
#: Still waiting for something: reassigning the agent and editing the details are allowed.
OPEN_STATES = (COLLECTING, VALUING, QUOTING, SENT, QUESTION, ACCEPTED)
ACCEPT, REJECT, ASK = "accept", "reject", "question"
PROSPECT, CLINIC = "prospect", "clinic"


@dataclass(frozen=True)
class Process:
    state: str = COLLECTING
    photos: frozenset[str] = frozenset()
    doctor_id: str | None = None
    quote_id: str | None = None
    #: The prospect's final answer to the current quote (accept / reject), or question.
    answer: str | None = None
    reminders: int = 0
    reminder_due_at: datetime | None = None
    #: Who the current wait is for (prospect after a quote is sent, clinic after an acceptance).
    waiting_for: str | None = None
    waiting_since: datetime | None = None
    answer_due_at: datetime | None = None


# --- what can happen (the tests shuffle and duplicate these) -----------------------------------------
@dataclass(frozen=True)
class PhotoAdded:
    slot: str
    at: datetime


@dataclass(frozen=True)
class DoctorAssigned:
    doctor_id: str


@dataclass(frozen=True)
class ValuationRecorded:
    by: str


@dataclass(frozen=True)
class QuoteSent:
    quote_id: str
    at: datetime


@dataclass(frozen=True)
class Answered:
    quote_id: str
    action: str
    at: datetime


@dataclass(frozen=True)
class ClinicReplied:
    at: datetime


@dataclass(frozen=True)
class Cancelled:
    at: datetime


Happening = PhotoAdded | DoctorAssigned | ValuationRecorded | QuoteSent | Answered | ClinicReplied | Cancelled

#: What a step tells the use case to publish (the use case maps them to contract events).
RECEIVED, COMPLETED, ASSIGNED, RECORDED, SENT_OUT, ANSWERED, REPLIED, CANCEL = (
    "photo_received",
    "photos_completed",
    "assigned",
    "recorded",
    "quote_sent",
    "answered",
    "replied",
    "cancelled",
)


def opened(now: datetime) -> Process:
    return Process(reminder_due_at=now + REMINDER_EVERY)


def check_slot(slot: str) -> str:
    clean = slot.strip().lower()
    if clean not in SLOTS:
        raise InvalidFunnel(f"The photo is one of: {', '.join(SLOTS)}.", field="slot")
    return clean


def next_slot(photos: Iterable[str]) -> str | None:
    """Where a photo without a named slot goes (a WhatsApp image): the first one still missing."""
    have = set(photos)
    return next((s for s in SLOTS if s not in have), None)


def step(p: Process, happened: Happening) -> tuple[Process, tuple[str, ...]]:
    """The process after `happened`, and what to announce. Raises Conflict for what the state forbids."""
    if isinstance(happened, PhotoAdded):
        slot = check_slot(happened.slot)
        if p.state != COLLECTING:
            if slot in p.photos:
                return p, ()  # a late redelivery of a photo already counted
            raise Conflict("The photos are complete; the valuation has started.", field="slot")
        photos = p.photos | {slot}
        if len(photos) == len(p.photos):
            return replace(p, photos=photos), (RECEIVED,)  # replaced in its slot, counted once
        if len(photos) < PHOTOS_REQUIRED:
            return replace(p, photos=photos), (RECEIVED,)
        return replace(p, photos=photos, state=VALUING, reminder_due_at=None), (RECEIVED, COMPLETED)
    if isinstance(happened, DoctorAssigned):
        if p.state != VALUING:
            raise Conflict("Only a valuation waiting for its doctor can be assigned.", field="doctor_id")
        if p.doctor_id == happened.doctor_id:
            return p, ()
        return replace(p, doctor_id=happened.doctor_id), (ASSIGNED,)
    if isinstance(happened, ValuationRecorded):
        if p.state == VALUING and p.doctor_id is None:
            raise Conflict("The valuation has no doctor yet.", field="doctor_id")
        if p.state not in (VALUING, QUOTING):
            raise Conflict("The valuation can be recorded once the photos are complete.", field="state")
        return replace(p, state=QUOTING), (RECORDED,)
    if isinstance(happened, QuoteSent):
        if p.quote_id == happened.quote_id and p.state in (SENT, QUESTION, ACCEPTED, REJECTED, CLOSED):
            return p, ()
        if p.state not in (QUOTING, SENT, QUESTION):
            raise Conflict("A quote is sent after the valuation, before the prospect's final answer.", field="state")
        return (
            replace(
                p, state=SENT, quote_id=happened.quote_id, answer=None, waiting_for=PROSPECT,
                waiting_since=happened.at, answer_due_at=happened.at + ANSWER_WITHIN,
            ),
            (SENT_OUT,),
        )  # fmt: skip
    if isinstance(happened, Answered):
        return _answer(p, happened)
    if isinstance(happened, ClinicReplied):
        if p.state == ACCEPTED:
            return replace(p, state=CLOSED, waiting_for=None, waiting_since=None, answer_due_at=None), (REPLIED,)
        if p.state == QUESTION:
            # The agent answered the question: the quote stands, the prospect decides (another 24 h).
            return (
                replace(
                    p, state=SENT, answer=None, waiting_for=PROSPECT, waiting_since=happened.at,
                    answer_due_at=happened.at + ANSWER_WITHIN,
                ),
                (REPLIED,),
            )  # fmt: skip
        raise Conflict("There is no answer of the prospect to reply to.", field="state")
    assert isinstance(happened, Cancelled)
    if p.state == CANCELLED:
        return p, ()
    if p.state not in OPEN_STATES:
        raise Conflict("The process has ended.", field="state")
    return replace(p, state=CANCELLED, reminder_due_at=None, answer_due_at=None, waiting_for=None), (CANCEL,)


def _answer(p: Process, a: Answered) -> tuple[Process, tuple[str, ...]]:
    if a.action not in (ACCEPT, REJECT, ASK):
        raise InvalidFunnel("The answer is accept, reject or question.", field="action")
    if p.quote_id != a.quote_id:
        raise Conflict("This quote was replaced by a newer one; open the latest link.", field="token")
    if p.answer == a.action:
        return p, ()  # the same answer again (a double tap, a retried request)
    if p.state in (ACCEPTED, REJECTED, CLOSED):
        raise Conflict(f"The quote was already {'accepted' if p.answer == ACCEPT else 'rejected'}.", field="action")
    if p.state not in (SENT, QUESTION):
        raise Conflict("The quote is not open for an answer.", field="token")
    if a.action == ACCEPT:
        return (
            replace(
                p, state=ACCEPTED, answer=ACCEPT, waiting_for=CLINIC, waiting_since=a.at,
                answer_due_at=a.at + ANSWER_WITHIN,
            ),
            (ANSWERED,),
        )  # fmt: skip
    if a.action == REJECT:
        return replace(p, state=REJECTED, answer=REJECT, waiting_for=None, answer_due_at=None), (ANSWERED,)
    # A question: the agent should talk to the prospect; the 24 h wait for an answer stops meanwhile.
    return replace(p, state=QUESTION, answer=ASK, waiting_for=None, answer_due_at=None), (ANSWERED,)


def run(events: Iterable[Happening], start: Process | None = None) -> tuple[Process, list[str]]:
    """Apply events in order, skipping those the state refuses (the tests' model of a consumer)."""
    p = start or Process()
    said: list[str] = []
    for e in events:
        try:
            p, out = step(p, e)
        except (Conflict, InvalidFunnel):
            continue
        said += out
    return p, said


# --- timers ----------------------------------------------------------------------------------------
def reminder_due(p: Process, now: datetime) -> bool:
    return p.state == COLLECTING and p.reminder_due_at is not None and p.reminder_due_at <= now


def after_reminder(p: Process, now: datetime) -> Process:
    """One more reminder sent; the next one a day later, none after MAX_REMINDERS (the agent's digest goes on)."""
    count = p.reminders + 1
    return replace(p, reminders=count, reminder_due_at=now + REMINDER_EVERY if count < MAX_REMINDERS else None)


def answer_overdue(p: Process, now: datetime) -> str | None:
    """Who has not answered in 24 h (prospect or clinic), once per wait; None when nothing is overdue."""
    if p.answer_due_at is None or p.answer_due_at > now:
        return None
    if (p.state == SENT and p.waiting_for == PROSPECT) or (p.state == ACCEPTED and p.waiting_for == CLINIC):
        return p.waiting_for
    return None


# --- the doctor ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DoctorLoad:
    user_id: str
    open_valuations: int
    #: When they last got or finished a valuation; None: never (idle the longest).
    last_active_at: datetime | None


def choose_doctor(doctors: Iterable[DoctorLoad]) -> DoctorLoad | None:
    """The fewest open valuations; among those, the one idle longest; then by id, so the choice is stable."""
    return min(
        doctors,
        key=lambda d: (d.open_valuations, d.last_active_at is not None, d.last_active_at or datetime.min, d.user_id),
        default=None,
    )


def is_diagnostic_doctor(roles: Iterable[str], active: bool) -> bool:
    return active and DIAGNOSTIC_DOCTOR in set(roles)


# --- the quote -------------------------------------------------------------------------------------
MAX_ITEMS = 50
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Cost:
    id: str
    name: str
    price: Decimal
    currency: str


@dataclass(frozen=True)
class Discount:
    id: str
    name: str
    percent: Decimal


@dataclass(frozen=True)
class Line:
    cost: Cost
    quantity: int
    discount: Discount | None = None


@dataclass(frozen=True)
class PricedLine:
    description: str
    cost_id: str
    quantity: int
    unit_price: Decimal
    discount_percent: Decimal
    total: Decimal


@dataclass(frozen=True)
class Priced:
    currency: str
    subtotal: Decimal
    total: Decimal
    lines: tuple[PricedLine, ...]


def price_quote(lines: list[Line], overall: Discount | None = None) -> Priced:
    """Prices from the clinic's costs; a line's own discount, else the quote's, applies to it (not both)."""
    if not lines:
        raise InvalidFunnel("A quote needs at least one item.", field="items")
    if len(lines) > MAX_ITEMS:
        raise InvalidFunnel(f"A quote has at most {MAX_ITEMS} items.", field="items")
    currencies = {line.cost.currency for line in lines}
    if len(currencies) != 1:
        raise InvalidFunnel("Every item of a quote is in the same currency.", field="items")
    priced = []
    for n, line in enumerate(lines):
        if not 1 <= line.quantity <= 1000:
            raise InvalidFunnel("The quantity is between 1 and 1000.", field=f"items[{n}].quantity")
        discount = line.discount or overall
        percent = discount.percent if discount else Decimal(0)
        gross = line.cost.price * line.quantity
        total = (gross * (100 - percent) / 100).quantize(_CENT, rounding=ROUND_HALF_UP)
        priced.append(PricedLine(line.cost.name, line.cost.id, line.quantity, line.cost.price, percent, total))
    subtotal = sum((line.cost.price * line.quantity for line in lines), Decimal(0)).quantize(_CENT)
    return Priced(currencies.pop(), subtotal, sum((p.total for p in priced), Decimal(0)), tuple(priced))


def clean_price(value: Decimal, *, field_name: str = "price") -> Decimal:
    if not value.is_finite() or value < 0 or value > Decimal("999999999999.99"):
        raise InvalidFunnel("The price is a non-negative amount.", field=field_name)
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def clean_discount(value: Decimal) -> Decimal:
    if not value.is_finite() or not Decimal(0) < value <= Decimal(100):
        raise InvalidFunnel("A discount is a percentage above 0, at most 100.", field="percent")
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def clean_text(value: str | None, *, field_name: str, max_length: int = 2000, required: bool = False) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise InvalidFunnel("This cannot be empty.", field=field_name)
    if len(text) > max_length:
        raise InvalidFunnel(f"At most {max_length} characters.", field=field_name)
    return text or None


_PHONE = re.compile(r"^\+[1-9][0-9]{7,14}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def clean_phone(value: str | None) -> str | None:
    """E.164 (+521…); spaces, dashes and brackets are dropped."""
    if value is None or not value.strip():
        return None
    digits = re.sub(r"[\s().-]", "", value)
    if not _PHONE.match(digits):
        raise InvalidFunnel("The phone is in international form, e.g. +52 55 1234 5678.", field="phone")
    return digits


def clean_email(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    if len(text) > 254 or not _EMAIL.match(text):
        raise InvalidFunnel("This is not an e-mail address.", field="email")
    return text


# --- photos ----------------------------------------------------------------------------------------
def image_type(data: bytes) -> str | None:
    """The image's real type from its first bytes (what the client says is not trusted)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in (b"heic", b"heix", b"mif1", b"heif"):
        return "image/heic"
    return None


def check_photo(data: bytes) -> str:
    if not data:
        raise InvalidFunnel("The photo is empty.", field="photo")
    if len(data) > MAX_PHOTO_BYTES:
        raise InvalidFunnel(f"The photo is larger than {MAX_PHOTO_BYTES // (1024 * 1024)} MB.", field="photo")
    kind = image_type(data)
    if kind is None:
        raise InvalidFunnel("Please send a photo (JPEG, PNG, WebP or HEIC).", field="photo")
    return kind


# --- opened by a lead's request (docs/quotes.md, "Opened by a request") -----------------------------
#: A treatment slug of leads' "treatment" list: lower-case letters, digits, "_" and "-".
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
MAX_TREATMENTS = 50


def clean_treatments(values: Iterable[str]) -> tuple[str, ...]:
    """The clinic's treatments that need a valuation: leads' treatment slugs, each once."""
    out: list[str] = []
    for i, raw in enumerate(values):
        slug = raw.strip()
        if not _SLUG.match(slug):
            raise InvalidFunnel("A treatment slug of the leads' treatment list, e.g. hair_transplant.",
                                field=f"treatments.{i}")  # fmt: skip
        if slug not in out:
            out.append(slug)
    if len(out) > MAX_TREATMENTS:
        raise InvalidFunnel(f"At most {MAX_TREATMENTS} treatments.", field="treatments")
    return tuple(out)


@dataclass(frozen=True)
class RequestRule:
    """The clinic's setting: which requests open a valuation, and the agent when the lead has no owner."""

    treatments: frozenset[str] = frozenset()
    agent_id: str | None = None


@dataclass(frozen=True)
class Prospect:
    """The lead as leads' events described it."""

    name: str
    phone: str | None = None
    email: str | None = None
    locale: str | None = None
    owner_id: str | None = None


OPEN, NOT_NEEDED, NO_LEAD, UNREACHABLE, ALREADY_OPEN = "open", "not_needed", "no_lead", "unreachable", "already_open"


def on_request(rule: RequestRule | None, treatment: str | None, prospect: Prospect | None, *, has_open: bool) -> str:
    """Whether a lead's request opens a valuation: OPEN, or why not (the request's treatment needs none; the
    lead is not known yet; it has neither phone nor e-mail to send the photo link to; it already has one open).
    Once per request is the use case's: the request id is unique among the processes."""
    if rule is None or treatment is None or treatment not in rule.treatments:
        return NOT_NEEDED
    if prospect is None:
        return NO_LEAD
    if has_open:
        return ALREADY_OPEN
    if not (prospect.phone or prospect.email):
        return UNREACHABLE
    return OPEN
