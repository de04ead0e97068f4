"""Request and response bodies of funnel (msgspec)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec


class StageOut(msgspec.Struct):
    id: str
    key: str
    name: str
    position: int
    color: str
    outcome: str


class PipelineOut(msgspec.Struct):
    id: str
    kind: str
    name: str
    automatic: bool
    stages: list[StageOut]


class PipelineIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    automatic: bool | None = None


class StageIn(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    name: str
    color: str = "#64748b"
    outcome: str = "open"


class NewPipelineIn(msgspec.Struct, forbid_unknown_fields=True):
    """A pipeline of the clinic's own: its name and stages in order (at least one open stage; at most one won,
    one lost)."""

    name: str
    stages: list[StageIn]


class RemovedOut(msgspec.Struct):
    #: deleted (it never held a deal) or archived (hidden; its closed deals are kept).
    removed: str


class DealIn(msgspec.Struct, forbid_unknown_fields=True):
    """A deal opened by hand in a pipeline of the clinic's own."""

    pipeline_id: UUID
    name: str
    #: A stage key of the pipeline; default its first open stage.
    stage: str | None = None
    phone: str | None = None
    lead_id: str | None = None
    patient_id: str | None = None
    amount: Decimal | None = None


class StagePatch(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    color: str | None = None
    position: int | None = None


class CreatedOut(msgspec.Struct):
    id: str


class DealOut(msgspec.Struct):
    id: str
    pipeline_id: str
    stage_id: str
    stage_key: str
    kind: str
    name: str | None
    phone: str | None
    source: str | None
    lead_id: str | None
    patient_id: str | None
    curator_id: str | None
    amount: str
    paid: str
    next_booking_at: datetime | None
    stage_since: datetime
    tasks_green: int = 0
    tasks_red: int = 0
    #: The lead's responsible agent (leads' owner).
    owner_id: str | None = None
    #: none, created, signed, completed: the most advanced of the deal's plans.
    plan_state: str = "none"
    #: The person's last visit, booking, arrival or payment.
    last_activity_at: datetime | None = None

    @classmethod
    def of(cls, row: Any, *, green: int = 0, red: int = 0) -> DealOut:
        return cls(
            id=row.id, pipeline_id=row.pipeline_id, stage_id=row.stage_id, stage_key=row.stage_key, kind=row.kind,
            name=row.name, phone=row.phone, source=row.source, lead_id=row.lead_id, patient_id=row.patient_id,
            curator_id=row.curator_id, amount=str(row.amount), paid=str(row.paid), next_booking_at=row.next_booking_at,
            stage_since=row.stage_since, tasks_green=green, tasks_red=red, owner_id=row.owner_id,
            plan_state=row.plan_state, last_activity_at=row.last_activity_at,
        )  # fmt: skip


class BoardColumn(msgspec.Struct):
    stage: StageOut
    count: int
    sum: str
    deals: list[DealOut]


class BoardOut(msgspec.Struct):
    pipeline_id: str
    columns: list[BoardColumn]


class MoveIn(msgspec.Struct, forbid_unknown_fields=True):
    stage: str
    reason: str


class CuratorIn(msgspec.Struct, forbid_unknown_fields=True):
    general_percent: Decimal
    per_service: dict[str, Decimal] = {}


class CuratorOut(msgspec.Struct):
    user_id: str
    general_percent: str
    per_service: dict[str, str]


class EarningOut(msgspec.Struct):
    curator_id: str
    currency: str
    #: Payments on the curator's patients' treatment in the period, refunds in it, and the commission on both.
    paid: str
    refunded: str
    earned: str
    payments: int


class EarningsOut(msgspec.Struct):
    #: First and last day (UTC), inclusive.
    from_: str = msgspec.field(name="from")
    to: str = ""
    curators: list[EarningOut] = []


class AssignIn(msgspec.Struct, forbid_unknown_fields=True):
    curator_id: UUID


class ItemIn(msgspec.Struct, forbid_unknown_fields=True):
    procedure: str
    quantity: int
    price: Decimal
    #: Percent off, 0-100; none: no discount.
    discount: Decimal | None = None
    stage: int = 1
    procedure_id: str | None = None


class PlanIn(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    items: list[ItemIn]
    currency: str = "BRL"


class TaskIn(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    due_at: datetime
    kind: str = "todo"
    responsible_id: UUID | None = None


class TaskPatch(msgspec.Struct, forbid_unknown_fields=True):
    title: str | None = None
    due_at: datetime | None = None
    responsible_id: UUID | None = None


class CommentIn(msgspec.Struct, forbid_unknown_fields=True):
    text: str


class TaskOut(msgspec.Struct):
    id: str
    kind: str
    title: str
    responsible_id: str | None
    due_at: datetime
    automatic: bool
    completed_at: datetime | None
    comments: list[dict[str, str]]
    deal_id: str | None = None
    #: missed_call, unconfirmed, interrupted for the automatic ones; None for staff's.
    reason: str | None = None
    #: The phone to call back (missed-call tasks).
    phone: str | None = None
    #: The appointment id of a confirmation call.
    ref: str | None = None


class QueueTaskOut(msgspec.Struct):
    task: TaskOut
    deal_name: str | None
    deal_kind: str


class FunnelSettingsIn(msgspec.Struct, forbid_unknown_fields=True):
    #: Hours before an unconfirmed appointment its confirmation call task is made (1-168, default 24).
    confirm_call_hours: int


class FunnelSettingsOut(msgspec.Struct):
    confirm_call_hours: int


class PlanItemOut(msgspec.Struct):
    procedure: str
    procedure_id: str | None
    quantity: int
    price: str
    discount: str
    stage: int


class SignedFileOut(msgspec.Struct):
    plan_id: str
    content_type: str
    size: int
    sha256: str | None
    #: Authorised download (the staff token): GET this path; or GET `<download>/link` for a signed link.
    download: str


class SignedLinkOut(msgspec.Struct):
    url: str
    expires_in: int


class PlanOut(msgspec.Struct):
    id: str
    title: str
    status: str
    total: str
    currency: str
    signed_at: datetime | None
    completed_at: datetime | None
    items: list[PlanItemOut]
    #: The uploaded signed file; None when signed without upload (or not signed).
    signed_file: SignedFileOut | None = None


class FeedOut(msgspec.Struct):
    at: datetime
    kind: str
    text: str


class VisitOut(msgspec.Struct):
    appointment_id: str
    completed_at: datetime
    procedures: list[str]


class BookingOut(msgspec.Struct):
    appointment_id: str
    starts_at: datetime | None
    cancelled_at: datetime | None
    done_at: datetime | None


class DealPaymentOut(msgspec.Struct):
    payment_id: str
    #: payment or refund (a refund's amount is negative).
    kind: str
    amount: str
    currency: str
    procedure_id: str | None
    at: datetime


class DealMessageOut(msgspec.Struct):
    id: str
    channel: str
    to: str
    template: str
    sent_at: datetime


class CardOut(msgspec.Struct):
    deal: DealOut
    plans: list[PlanOut]
    tasks: list[TaskOut]
    visits: list[VisitOut]
    bookings: list[BookingOut]
    feed: list[FeedOut]
    #: Payments and refunds (newest first); `debt` = the plans' total less what stays paid (never below 0).
    payments: list[DealPaymentOut] = []
    debt: str = "0.00"
    #: Messages notifications sent to the person (message.sent), newest first.
    messages: list[DealMessageOut] = []
