"""Events published by the funnel context on `clinicflow.funnel.events` (docs/funnel.md).

Deal events are keyed by the deal id, plan events by the plan id, task events by the task id.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from contracts.envelope import Event
from contracts.people import Person
from contracts.topics import FUNNEL


class _DealEvent(Event, frozen=True, kw_only=True):
    TOPIC: ClassVar[str] = FUNNEL.name
    AGGREGATE: ClassVar[str] = "deal_id"

    deal_id: str


class DealCreatedV1(_DealEvent, frozen=True, kw_only=True):
    """A deal opened in a pipeline: one per request (requests) or one per patient (arrived and repeat)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.deal.created.v1"

    pipeline_id: str
    #: requests, arrived, or custom.
    pipeline_kind: str
    stage_id: str
    stage_key: str
    person: Person
    #: Where the request came from (call, whatsapp, site form, ...), when it came from one.
    source: str | None = None
    created_at: datetime


class DealStageChangedV1(_DealEvent, frozen=True, kw_only=True):
    """A deal moved: by the rules (`automatic`) or by hand with a reason."""

    TYPE: ClassVar[str] = "clinicflow.funnel.deal.stage_changed.v1"

    pipeline_id: str
    from_stage_key: str
    to_stage_key: str
    to_stage_id: str
    automatic: bool = True
    reason: str | None = None
    changed_by: str | None = None
    changed_at: datetime


class DealLostV1(_DealEvent, frozen=True, kw_only=True):
    """A deal reached a lost stage (e.g. six months interrupted)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.deal.lost.v1"

    pipeline_id: str
    person: Person
    reason: str
    lost_at: datetime


class CuratorAssignedV1(_DealEvent, frozen=True, kw_only=True):
    """A curator was put in charge of the deal (and so of the patient's treatment)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.curator.assigned.v1"

    curator_id: str
    previous_curator_id: str | None = None
    assigned_by: str
    assigned_at: datetime


class _PlanEvent(Event, frozen=True, kw_only=True):
    TOPIC: ClassVar[str] = FUNNEL.name
    AGGREGATE: ClassVar[str] = "plan_id"

    plan_id: str
    deal_id: str


class TreatmentPlanCreatedV1(_PlanEvent, frozen=True, kw_only=True):
    """A treatment plan was drawn up for the patient of the deal; `total` after discounts."""

    TYPE: ClassVar[str] = "clinicflow.funnel.treatment_plan.created.v1"

    title: str
    total: str
    currency: str
    items: int
    #: The sum of the items before their discounts (analytics' Visits report); None from older producers.
    total_before_discount: str | None = None
    created_by: str
    created_at: datetime


class TreatmentPlanSignedV1(_PlanEvent, frozen=True, kw_only=True):
    """The patient signed the plan (an uploaded file, or "signed without upload")."""

    TYPE: ClassVar[str] = "clinicflow.funnel.treatment_plan.signed.v1"

    #: Object key of the uploaded signed file; None when signed without upload.
    file_key: str | None = None
    signed_by: str
    signed_at: datetime


class TreatmentPlanCompletedV1(_PlanEvent, frozen=True, kw_only=True):
    """Every item of the plan is done."""

    TYPE: ClassVar[str] = "clinicflow.funnel.treatment_plan.completed.v1"

    completed_at: datetime


class _TaskEvent(Event, frozen=True, kw_only=True):
    TOPIC: ClassVar[str] = FUNNEL.name
    AGGREGATE: ClassVar[str] = "task_id"

    task_id: str
    deal_id: str


class TaskCreatedV1(_TaskEvent, frozen=True, kw_only=True):
    """A call or to-do on a deal, by staff or by the rules (`automatic`)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.task.created.v1"

    #: call, todo.
    kind: str
    title: str
    responsible_id: str | None = None
    due_at: datetime
    automatic: bool = False
    created_at: datetime


class TaskCompletedV1(_TaskEvent, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "clinicflow.funnel.task.completed.v1"

    completed_by: str
    completed_at: datetime


class TaskOverdueV1(_TaskEvent, frozen=True, kw_only=True):
    """A task passed its due time without being completed (once per task)."""

    TYPE: ClassVar[str] = "clinicflow.funnel.task.overdue.v1"

    responsible_id: str | None = None
    due_at: datetime
    overdue_at: datetime
