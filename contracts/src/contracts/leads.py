"""Events published by the leads context on `clinicflow.leads.events`.

Every event is keyed by the lead id, so one lead's events (its requests and activities too)
arrive in order; `retention.applied` (a run of the `lost_leads` retention timer) is keyed by the run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from contracts.envelope import Event
from contracts.personal import CONTACT, PERSONAL
from contracts.topics import LEADS


class _LeadEvent(Event, frozen=True, kw_only=True):
    TOPIC: ClassVar[str] = LEADS.name
    AGGREGATE: ClassVar[str] = "lead_id"

    lead_id: str


class LeadCreatedV1(_LeadEvent, frozen=True, kw_only=True):
    """A new lead (prospect) was registered by staff, a form, a call or a message."""

    TYPE: ClassVar[str] = "clinicflow.leads.lead.created.v1"

    name: Annotated[str, PERSONAL]
    #: E.164; "" for a lead known only by its `contacts` (a Telegram or Instagram sender).
    phone: Annotated[str, CONTACT]
    email: Annotated[str | None, CONTACT] = None
    source: str
    #: BCP 47 tag of the language the person prefers (pt-BR, es, ru, en); None: clinic default.
    locale: str | None = None
    created_at: datetime
    urgency: str = "normal"
    owner_id: str | None = None
    #: How it arrived: manual, web_form, tilda, call, message, online_booking.
    channel: str = "manual"
    #: UTM fields of the form it came from (utm_source, utm_medium, utm_campaign, ...); empty when none.
    attribution: dict[str, str] = {}
    #: The person's addresses on channels whose addresses are no phone: {"telegram": chat id, "instagram": user
    #: id}. A lead first heard of on Telegram or Instagram has one and `phone` "" (no phone yet).
    contacts: Annotated[dict[str, str], CONTACT] = {}


class LeadUpdatedV1(_LeadEvent, frozen=True, kw_only=True):
    """Contact data or follow-up details of a lead changed; `fields` names what changed."""

    TYPE: ClassVar[str] = "clinicflow.leads.lead.updated.v1"

    fields: list[str]
    name: Annotated[str, PERSONAL]
    phone: Annotated[str, CONTACT]
    email: Annotated[str | None, CONTACT] = None
    locale: str | None = None
    urgency: str = "normal"
    updated_by: str
    updated_at: datetime


class LeadStatusChangedV1(_LeadEvent, frozen=True, kw_only=True):
    """A lead moved from one status to another (PENDING_CONTACT ... VISIT_COMPLETED)."""

    TYPE: ClassVar[str] = "clinicflow.leads.lead.status_changed.v1"

    from_status: str
    to_status: str
    comment: Annotated[str | None, PERSONAL] = None
    changed_by: str
    changed_at: datetime


class LeadAssignedV1(_LeadEvent, frozen=True, kw_only=True):
    """A lead was given to a sales agent (or taken away: owner_id None)."""

    TYPE: ClassVar[str] = "clinicflow.leads.lead.assigned.v1"

    owner_id: str | None = None
    previous_owner_id: str | None = None
    assigned_by: str
    assigned_at: datetime


class LeadMergedV1(_LeadEvent, frozen=True, kw_only=True):
    """A duplicate lead was merged into `lead_id`; `merged_lead_id` no longer exists on its own."""

    TYPE: ClassVar[str] = "clinicflow.leads.lead.merged.v1"

    merged_lead_id: str
    merged_by: str
    merged_at: datetime


class LeadConvertedV1(_LeadEvent, frozen=True, kw_only=True):
    """A lead was qualified into a patient record (or linked to an existing one)."""

    TYPE: ClassVar[str] = "clinicflow.leads.lead.converted.v1"

    patient_id: str
    name: Annotated[str, PERSONAL]
    phone: Annotated[str, CONTACT]
    email: Annotated[str | None, CONTACT] = None
    converted_by: str
    converted_at: datetime


class LeadDeletedV1(_LeadEvent, frozen=True, kw_only=True):
    """A lead was deleted by a clinic admin."""

    TYPE: ClassVar[str] = "clinicflow.leads.lead.deleted.v1"

    deleted_by: str
    deleted_at: datetime


class RequestCreatedV1(_LeadEvent, frozen=True, kw_only=True):
    """A lead asked about something (a treatment, by a channel); several per lead."""

    TYPE: ClassVar[str] = "clinicflow.leads.request.created.v1"

    request_id: str
    treatment: str | None = None
    group: str | None = None
    channel: str | None = None
    reason: Annotated[str | None, PERSONAL] = None
    created_at: datetime


class ActivityScheduledV1(_LeadEvent, frozen=True, kw_only=True):
    """A call, letter, e-mail, message, meeting or task was planned for a lead."""

    TYPE: ClassVar[str] = "clinicflow.leads.activity.scheduled.v1"

    activity_id: str
    type: str
    scheduled_at: datetime
    responsible_id: str
    private: bool = False


class ActivityCompletedV1(_LeadEvent, frozen=True, kw_only=True):
    """A planned activity was done; `result` says how it went."""

    TYPE: ClassVar[str] = "clinicflow.leads.activity.completed.v1"

    activity_id: str
    type: str
    result: str | None = None
    completed_by: str
    completed_at: datetime


class ActivityCancelledV1(_LeadEvent, frozen=True, kw_only=True):
    """A planned activity was called off; it no longer counts as pending (the bell drops it)."""

    TYPE: ClassVar[str] = "clinicflow.leads.activity.cancelled.v1"

    activity_id: str
    type: str
    reason: Annotated[str | None, PERSONAL] = None
    cancelled_by: str
    cancelled_at: datetime


class LeadsRetentionAppliedV1(Event, frozen=True, kw_only=True):
    """One run of leads' retention timer for a clinic: the leads lost (`NOT_INTERESTED`) for longer than the
    clinic's rule (privacy's `retention.set`, kind `lost_leads`) anonymised as an erasure does it. The privacy
    service records it in the clinic's retention report. Every field is optional (leads always sets them all):
    privacy falls back to the event's own id and time."""

    TYPE: ClassVar[str] = "clinicflow.leads.retention.applied.v1"
    TOPIC: ClassVar[str] = LEADS.name
    AGGREGATE: ClassVar[str] = "run_id"

    run_id: str | None = None
    #: The retention kind applied: lost_leads.
    kind: str = "lost_leads"
    #: How many leads it anonymised.
    removed: int = 0
    #: Per kind of record anonymised: leads, requests, activities, status_history, audit_trail, intake.
    counts: dict[str, int] = {}
    #: Leads lost before this were anonymised.
    cutoff: datetime | None = None
    at: datetime | None = None
