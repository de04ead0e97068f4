"""Events published by the payments context on `clinicflow.payments.events`.

Keyed by the payment (charge) id, so one payment's events arrive in order. Money is a decimal string
with two places ("350.00") in `currency` (ISO 4217), never a float.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from contracts.envelope import Event
from contracts.people import Person
from contracts.topics import PAYMENTS


class _PaymentEvent(Event, frozen=True, kw_only=True):
    TOPIC: ClassVar[str] = PAYMENTS.name
    AGGREGATE: ClassVar[str] = "payment_id"

    payment_id: str
    person: Person
    #: The procedure (scheduling's service id) the payment is for, when it is for one.
    procedure_id: str | None = None
    #: The appointment it pays for, when the charge was made for a booked (or held) appointment.
    appointment_id: str | None = None


class PaymentLinkCreatedV1(_PaymentEvent, frozen=True, kw_only=True):
    """A charge was created and its payment link is ready to be sent to the patient."""

    TYPE: ClassVar[str] = "clinicflow.payments.payment.link_created.v1"

    amount: str
    #: Before the clinic's discounts; equal to `amount` when none applied.
    amount_before_discount: str
    currency: str
    description: str
    #: pix, credit, debit.
    methods: list[str]
    provider: str
    #: The provider's hosted checkout.
    url: str
    expires_at: datetime
    created_by: str
    created_at: datetime
    #: The clinic's own Pay page for this charge (a signed patient link: amounts, the PIX code and QR, then the
    #: checkout); the link to send the patient. None where the deployment has no link secret.
    pay_url: str | None = None


class PaymentConfirmedV1(_PaymentEvent, frozen=True, kw_only=True):
    """The provider confirmed the money: the patient may book (scheduling listens)."""

    TYPE: ClassVar[str] = "clinicflow.payments.payment.confirmed.v1"

    amount: str
    currency: str
    #: pix, credit, debit.
    method: str
    provider: str
    provider_payment_id: str
    paid_at: datetime
    receipt_url: str | None = None
    #: The money arrived after the link had expired or was cancelled: recorded and flagged for staff.
    late: bool = False


class PaymentFailedV1(_PaymentEvent, frozen=True, kw_only=True):
    """A payment attempt was refused or failed at the provider."""

    TYPE: ClassVar[str] = "clinicflow.payments.payment.failed.v1"

    reason: str
    method: str | None = None
    provider: str
    failed_at: datetime


class PaymentExpiredV1(_PaymentEvent, frozen=True, kw_only=True):
    """A payment link passed its expiry unpaid."""

    TYPE: ClassVar[str] = "clinicflow.payments.payment.expired.v1"

    expired_at: datetime


class PaymentCancelledV1(_PaymentEvent, frozen=True, kw_only=True):
    """Staff cancelled an unpaid payment link."""

    TYPE: ClassVar[str] = "clinicflow.payments.payment.cancelled.v1"

    cancelled_by: str
    cancelled_at: datetime
    reason: str | None = None


class PaymentRefundedV1(_PaymentEvent, frozen=True, kw_only=True):
    """Money went back to the patient, wholly or in part."""

    TYPE: ClassVar[str] = "clinicflow.payments.payment.refunded.v1"

    amount: str
    #: Everything refunded on this payment so far, this refund included.
    total_refunded: str
    currency: str
    partial: bool
    reason: str | None = None
    refunded_by: str
    refunded_at: datetime
