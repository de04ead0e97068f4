"""The pre-qualification assistant's events (docs/funnel.md#the-pre-qualification-assistant).

The assistant is a process of the funnel service; it talks to the other contexts only through events:
it asks notifications to send its messages, payments for a payment link, scheduling for a booking link,
and tells leads what the patient answered. Scheduling's answer (`booking_link.issued`) is here too, since it
exists for the assistant. Funnel's events are keyed by the process id, so one patient's messages and answers
stay in order; scheduling's by the request id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

import msgspec

from contracts.envelope import Event
from contracts.people import Person
from contracts.personal import CONTACT, PERSONAL
from contracts.topics import FUNNEL, SCHEDULING


class _ProcessEvent(Event, frozen=True, kw_only=True):
    TOPIC: ClassVar[str] = FUNNEL.name
    AGGREGATE: ClassVar[str] = "process_id"

    process_id: str
    lead_id: str


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    """A row of a WhatsApp interactive list or a reply button: the id comes back as `button_id`."""

    id: str
    title: str


class AssistantMessageRequestedV1(_ProcessEvent, frozen=True, kw_only=True):
    """The assistant says something to the patient; notifications sends it on the channel they wrote from."""

    TYPE: ClassVar[str] = "clinicflow.funnel.assistant.message_requested.v1"

    #: Unique per message: notifications sends it once (its idempotency key).
    message_id: str
    #: whatsapp, telegram, instagram.
    channel: str
    #: The patient's address on that channel (E.164 phone, Telegram chat id, Instagram user id).
    to: Annotated[str, CONTACT]
    locale: str
    #: Which of the assistant's texts this is (ask_cpf, bad_cpf, payment_link, ...).
    key: str
    text: Annotated[str, PERSONAL]
    #: text, list (a WhatsApp interactive list: `button` opens it) or buttons (at most 3 reply buttons).
    style: str = "text"
    options: list[Choice] = []
    button: str | None = None
    requested_at: datetime


class AssistantAnswerRecordedV1(_ProcessEvent, frozen=True, kw_only=True):
    """The patient answered a question; leads updates the lead (name, CPF, the procedure and region wanted)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.assistant.answer_recorded.v1"

    deal_id: str | None = None
    name: Annotated[str | None, PERSONAL] = None
    #: 11 digits, check digits verified.
    cpf: Annotated[str | None, PERSONAL] = None
    procedure_id: str | None = None
    procedure: str | None = None
    branch_id: str | None = None
    region: str | None = None
    answered_at: datetime


class AssistantPaymentLinkRequestedV1(_ProcessEvent, frozen=True, kw_only=True):
    """Payments makes a charge for the procedure and publishes `payment.link_created` for this person."""

    TYPE: ClassVar[str] = "clinicflow.funnel.assistant.payment_link_requested.v1"

    #: The charge's idempotency key: a redelivered request never makes a second charge.
    request_id: str
    person: Person
    procedure_id: str
    description: str
    #: None: the procedure's price in payments.
    amount: str | None = None
    currency: str
    requested_at: datetime
    #: The CPF the person gave (11 digits): providers such as Asaas need it for the charge. Optional (added
    #: after v1 went out).
    cpf: Annotated[str | None, PERSONAL] = None


class AssistantBookingLinkRequestedV1(_ProcessEvent, frozen=True, kw_only=True):
    """Scheduling mints the person's online-booking link for a branch and procedure (`booking_link.issued`)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.assistant.booking_link_requested.v1"

    request_id: str
    person: Person
    procedure_id: str
    branch_id: str
    requested_at: datetime


class AssistantHandedOverV1(_ProcessEvent, frozen=True, kw_only=True):
    """A sales agent has the conversation now: took it over, or the timer handed it over (with a task)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.assistant.handed_over.v1"

    deal_id: str | None = None
    step: str
    #: agent:<user id> or timer.
    by: str
    task_id: str | None = None
    reason: str
    handed_at: datetime


class AssistantCompletedV1(_ProcessEvent, frozen=True, kw_only=True):
    """The patient booked: the process is over."""

    TYPE: ClassVar[str] = "clinicflow.funnel.assistant.completed.v1"

    deal_id: str | None = None
    appointment_id: str
    payment_id: str | None = None
    completed_at: datetime


class BookingLinkIssuedV1(Event, frozen=True, kw_only=True):
    """Scheduling minted a person's online-booking link (on the assistant's request)."""

    TYPE: ClassVar[str] = "clinicflow.scheduling.booking_link.issued.v1"
    TOPIC: ClassVar[str] = SCHEDULING.name
    AGGREGATE: ClassVar[str] = "request_id"

    request_id: str
    process_id: str | None = None
    person: Person
    branch_id: str
    procedure_id: str
    url: str
    expires_at: datetime
    issued_at: datetime
