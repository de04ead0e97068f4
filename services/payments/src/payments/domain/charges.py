"""The charge (payment link) and its state machine.

    pending ──► paid ──► partially_refunded ──► refunded
       │  ▲       ▲            (paid ──► refunded at once for a full refund)
       ▼  │       │ late: money arrived after expiry/cancel, recorded and flagged
     failed       │
       │          │
       ├──► expired ─┤
       └──► cancelled┘

`failed` means the last attempt was refused; the patient may try again on the same link, so a failed
charge can still be paid, expire or be cancelled. Money is never dropped: a payment confirmed for an
expired or cancelled link moves it to paid with `late=True` for staff to settle (refund or keep).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from payments.domain.errors import Conflict, InvalidInput

PENDING, PAID, FAILED, EXPIRED, CANCELLED = "pending", "paid", "failed", "expired", "cancelled"
PARTIALLY_REFUNDED, REFUNDED = "partially_refunded", "refunded"
STATUSES = (PENDING, PAID, FAILED, EXPIRED, CANCELLED, PARTIALLY_REFUNDED, REFUNDED)
#: The link can still take money in the normal way.
OPEN = frozenset({PENDING, FAILED})
#: Money has been received on it.
SETTLED = frozenset({PAID, PARTIALLY_REFUNDED, REFUNDED})

PIX, CREDIT, DEBIT = "pix", "credit", "debit"
METHODS = (PIX, CREDIT, DEBIT)

MIN_EXPIRY = timedelta(minutes=1)
MAX_EXPIRY = timedelta(days=30)
DEFAULT_EXPIRY = timedelta(hours=24)


def check_methods(methods: list[str]) -> list[str]:
    if not methods:
        raise InvalidInput("Allow at least one method (pix, credit, debit).", field="methods")
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InvalidInput(f"Unknown payment method {unknown[0]!r}; use pix, credit or debit.", field="methods")
    return [m for m in METHODS if m in methods]  # canonical order, no repeats


def check_expiry(expires_at: datetime, now: datetime) -> datetime:
    if expires_at.tzinfo is None:
        raise InvalidInput("expires_at needs a time zone (e.g. 2026-12-01T18:00:00-03:00).", field="expires_at")
    if expires_at <= now:
        raise InvalidInput("expires_at is in the past.", field="expires_at")
    if expires_at - now < MIN_EXPIRY:
        raise InvalidInput("A link must stay open at least a minute.", field="expires_at")
    if expires_at - now > MAX_EXPIRY:
        raise InvalidInput("A link may stay open at most 30 days.", field="expires_at")
    return expires_at


@dataclass(frozen=True)
class NewCharge:
    """What staff asked for; prices, discounts and the provider turn it into a Charge."""

    description: str
    methods: tuple[str, ...]
    lead_id: str | None = None
    patient_id: str | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    locale: str | None = None
    #: The payer's CPF (11 digits), passed to the provider only; not kept on the charge.
    cpf: str | None = None
    amount: Decimal | None = None
    currency: str | None = None
    procedure_id: str | None = None
    appointment_id: str | None = None
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Charge:
    id: str
    tenant_id: str
    status: str
    amount: Decimal
    amount_before_discount: Decimal
    currency: str
    description: str
    methods: tuple[str, ...]
    provider: str
    expires_at: datetime
    created_by: str
    created_at: datetime
    updated_at: datetime
    lead_id: str | None = None
    patient_id: str | None = None
    person_name: str | None = None
    person_phone: str | None = None
    person_email: str | None = None
    person_locale: str | None = None
    procedure_id: str | None = None
    appointment_id: str | None = None
    discount_id: str | None = None
    provider_ref: str | None = None
    checkout_url: str | None = None
    pix_code: str | None = None
    provider_payment_id: str | None = None
    method: str | None = None
    paid_amount: Decimal | None = None
    paid_at: datetime | None = None
    late: bool = False
    refunded_amount: Decimal = field(default=Decimal("0.00"))
    failure_reason: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    reconciled_at: datetime | None = None

    @property
    def refundable(self) -> Decimal:
        return (self.paid_amount or Decimal(0)) - self.refunded_amount

    @property
    def open_debt(self) -> Decimal:
        """What the patient still owes on it: the amount while the link is open, nothing once paid or closed."""
        return self.amount if self.status in OPEN else Decimal("0.00")


@dataclass(frozen=True)
class Outcome:
    """What applying a provider's report did: the new charge, and which event (if any) it calls for."""

    charge: Charge
    event: str | None  # "confirmed", "failed" or None (nothing changed)


def confirm(
    charge: Charge, *, provider_payment_id: str, method: str, amount: Decimal, paid_at: datetime, now: datetime
) -> Outcome:
    """The provider says the money arrived. Idempotent: a second report of the same payment changes nothing."""
    if charge.status in SETTLED:
        return Outcome(charge, None)
    late = charge.status in (EXPIRED, CANCELLED)
    paid = replace(
        charge,
        status=PAID,
        provider_payment_id=provider_payment_id,
        method=method if method in METHODS else None,
        paid_amount=amount,
        paid_at=paid_at,
        late=late,
        failure_reason=None,
        updated_at=now,
    )
    return Outcome(paid, "confirmed")


def fail(charge: Charge, *, reason: str, method: str | None, now: datetime) -> Outcome:
    """An attempt was refused. A report arriving after the money (out of order) changes nothing."""
    if charge.status != PENDING:
        return Outcome(charge, None)
    return Outcome(replace(charge, status=FAILED, failure_reason=reason[:500], method=method, updated_at=now), "failed")


def expire(charge: Charge, now: datetime) -> Outcome:
    if charge.status not in OPEN or charge.expires_at > now:
        return Outcome(charge, None)
    return Outcome(replace(charge, status=EXPIRED, closed_at=now, updated_at=now), "expired")


def cancel(charge: Charge, *, by: str, now: datetime) -> Charge:
    if charge.status not in OPEN:
        raise Conflict(f"A {charge.status} payment cannot be cancelled.", field="status")
    return replace(charge, status=CANCELLED, closed_at=now, closed_by=by, updated_at=now)


def refund(charge: Charge, amount: Decimal | None, now: datetime) -> tuple[Charge, Decimal]:
    """Record a refund (all that is left when `amount` is None); returns the charge and the refunded amount."""
    if charge.status not in (PAID, PARTIALLY_REFUNDED):
        raise Conflict(f"Only paid payments can be refunded; this one is {charge.status}.", field="status")
    left = charge.refundable
    value = left if amount is None else amount
    if value > left:
        raise InvalidInput(f"At most {left} can still be refunded.", field="amount")
    total = charge.refunded_amount + value
    status = REFUNDED if total >= (charge.paid_amount or Decimal(0)) else PARTIALLY_REFUNDED
    return replace(charge, status=status, refunded_amount=total, updated_at=now), value


def refunded_at_provider(charge: Charge, total_refunded: Decimal, now: datetime) -> tuple[Charge, Decimal] | None:
    """The provider reports `total_refunded` on this payment, e.g. after a refund in its own dashboard: record
    the part we have not recorded yet. None when there is nothing new (our own refunds are recorded already)."""
    if charge.status not in (PAID, PARTIALLY_REFUNDED):
        return None
    new = min(total_refunded, charge.paid_amount or Decimal(0)) - charge.refunded_amount
    if new <= 0:
        return None
    return refund(charge, new, now)


def due_for_reconciliation(charge: Charge, now: datetime, after: timedelta) -> bool:
    """Still waiting for money long enough that a lost webhook is likely: ask the provider."""
    if charge.status not in (*OPEN, EXPIRED, CANCELLED):
        return False
    last = charge.reconciled_at or charge.created_at
    return now - last >= after
