"""Events of the hair-transplant valuation → quote process, published by funnel on `clinicflow.funnel.events`
(docs/quotes.md).

Every event is keyed by the valuation id (one process per prospect), so one process's events stay in order;
the agents' digest is keyed by the agent. Each carries the prospect (`person`) and the prospect's sales agent
(`agent_id`), so notifications can address both without asking funnel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

import msgspec

from contracts.envelope import Event
from contracts.people import Person
from contracts.personal import PERSONAL
from contracts.topics import FUNNEL


class _ValuationEvent(Event, frozen=True, kw_only=True):
    TOPIC: ClassVar[str] = FUNNEL.name
    AGGREGATE: ClassVar[str] = "valuation_id"

    valuation_id: str
    person: Person
    #: The prospect's sales agent (staff user id), when one is set.
    agent_id: str | None = None


class ValuationOpenedV1(_ValuationEvent, frozen=True, kw_only=True):
    """A valuation process started: the prospect is asked for the photos through `upload_url`."""

    TYPE: ClassVar[str] = "clinicflow.funnel.valuation.opened.v1"

    lead_id: str | None = None
    photos_required: int
    upload_url: str
    opened_by: str
    opened_at: datetime


class ValuationPhotoReceivedV1(_ValuationEvent, frozen=True, kw_only=True):
    """One of the required photos arrived (uploaded through the link, or a WhatsApp image)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.valuation.photo_received.v1"

    #: front, top, crown, left, right.
    slot: str
    #: upload, whatsapp.
    source: str
    photos_received: int
    photos_required: int
    received_at: datetime


class ValuationPhotosRequestedV1(_ValuationEvent, frozen=True, kw_only=True):
    """A reminder to the prospect: the photos are still incomplete (`reminder` counts from 1)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.valuation.photos_requested.v1"

    reminder: int
    photos_received: int
    photos_missing: int
    upload_url: str
    requested_at: datetime


class ValuationPhotosCompletedV1(_ValuationEvent, frozen=True, kw_only=True):
    """All the photos are in: the diagnostic doctors are told, and the valuation is assigned to one of them."""

    TYPE: ClassVar[str] = "clinicflow.funnel.valuation.photos_completed.v1"

    photos_received: int
    completed_at: datetime


class ValuationAssignedV1(_ValuationEvent, frozen=True, kw_only=True):
    """The valuation task went to a diagnostic doctor (the one with the fewest open valuations, ties: idle longest),
    or a manager moved it to another doctor."""

    TYPE: ClassVar[str] = "clinicflow.funnel.valuation.assigned.v1"

    doctor_id: str
    previous_doctor_id: str | None = None
    #: The doctor's open valuations just before this one was given to them.
    open_valuations: int = 0
    #: A staff user id, or "funnel" for the automatic choice.
    assigned_by: str
    assigned_at: datetime


class ValuationRecordedV1(_ValuationEvent, frozen=True, kw_only=True):
    """The doctor recorded the valuation (diagnosis, grafts, notes); the quote comes next."""

    TYPE: ClassVar[str] = "clinicflow.funnel.valuation.recorded.v1"

    doctor_id: str
    summary: str
    grafts: int | None = None
    recorded_at: datetime


class ValuationAgentChangedV1(_ValuationEvent, frozen=True, kw_only=True):
    """Staff gave the prospect to another sales agent (`agent_id` is the new one)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.valuation.agent_changed.v1"

    previous_agent_id: str | None = None
    changed_by: str
    changed_at: datetime


class DigestEntry(msgspec.Struct, frozen=True, kw_only=True):
    valuation_id: str
    name: str | None = None
    phone: str | None = None
    photos_received: int
    opened_at: datetime


class ValuationDigestV1(Event, frozen=True, kw_only=True):
    """To one sales agent: their prospects whose photos are still incomplete (at most once a day)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.valuation.digest.v1"
    TOPIC: ClassVar[str] = FUNNEL.name
    AGGREGATE: ClassVar[str] = "agent_id"

    agent_id: str
    count: int
    profiles: list[DigestEntry]
    #: The same list as one line of text per profile (for message templates).
    summary: str
    compiled_at: datetime


class QuoteItem(msgspec.Struct, frozen=True, kw_only=True):
    description: str
    quantity: int
    #: Decimal strings in the quote's currency.
    unit_price: str
    discount_percent: str = "0"
    total: str
    cost_id: str | None = None


class _QuoteEvent(_ValuationEvent, frozen=True, kw_only=True):
    quote_id: str


class QuoteSentV1(_QuoteEvent, frozen=True, kw_only=True):
    """The quote went to the prospect, who answers through `quote_url` (accept, reject, or talk to the agent)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.quote.sent.v1"

    currency: str
    #: Before and after the discounts, decimal strings.
    subtotal: str
    total: str
    items: list[QuoteItem]
    quote_url: str
    sent_by: str
    sent_at: datetime


class QuoteAcceptedV1(_QuoteEvent, frozen=True, kw_only=True):
    """The prospect accepted the quote; the clinic should reply within 24 h."""

    TYPE: ClassVar[str] = "clinicflow.funnel.quote.accepted.v1"

    total: str
    currency: str
    accepted_at: datetime


class QuoteRejectedV1(_QuoteEvent, frozen=True, kw_only=True):
    """The prospect rejected the quote (with their reason, when they gave one)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.quote.rejected.v1"

    reason: Annotated[str | None, PERSONAL] = None
    rejected_at: datetime


class QuoteQuestionV1(_QuoteEvent, frozen=True, kw_only=True):
    """The prospect asked to talk to the sales agent about the quote."""

    TYPE: ClassVar[str] = "clinicflow.funnel.quote.question.v1"

    message: str | None = None
    asked_at: datetime


class QuoteUnansweredV1(_QuoteEvent, frozen=True, kw_only=True):
    """24 h passed without an answer: from the prospect (`waiting_for` prospect, after quote.sent) or from the
    clinic (`waiting_for` clinic, after quote.accepted). Once per wait."""

    TYPE: ClassVar[str] = "clinicflow.funnel.quote.unanswered.v1"

    #: prospect, clinic.
    waiting_for: str
    since: datetime
    noticed_at: datetime


class QuoteRepliedV1(_QuoteEvent, frozen=True, kw_only=True):
    """The clinic replied to the prospect's answer (an acceptance or a question)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.quote.replied.v1"

    note: Annotated[str | None, PERSONAL] = None
    replied_by: str
    replied_at: datetime


#: Registered in contracts.registry (one line there, so other processes can add theirs beside it).
EVENTS: tuple[type[Event], ...] = (
    ValuationOpenedV1,
    ValuationPhotoReceivedV1,
    ValuationPhotosRequestedV1,
    ValuationPhotosCompletedV1,
    ValuationAssignedV1,
    ValuationRecordedV1,
    ValuationAgentChangedV1,
    ValuationDigestV1,
    QuoteSentV1,
    QuoteAcceptedV1,
    QuoteRejectedV1,
    QuoteQuestionV1,
    QuoteUnansweredV1,
    QuoteRepliedV1,
)
