"""Events published by the scheduling context on `clinicflow.scheduling.events`.

Appointment events are keyed by the appointment id, so one appointment's life arrives in order.
Times are timezone-aware instants; `timezone` is the branch's IANA zone, for showing local times.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

import msgspec

from contracts.envelope import Event
from contracts.people import Person
from contracts.personal import PERSONAL
from contracts.topics import SCHEDULING


class _AppointmentEvent(Event, frozen=True, kw_only=True):
    TOPIC: ClassVar[str] = SCHEDULING.name
    AGGREGATE: ClassVar[str] = "appointment_id"

    appointment_id: str
    person: Person


class AppointmentBookedV1(_AppointmentEvent, frozen=True, kw_only=True):
    """An appointment was booked by staff, by the patient online, or as a return visit."""

    TYPE: ClassVar[str] = "clinicflow.scheduling.appointment.booked.v1"

    branch_id: str
    branch_name: str
    branch_address: str | None = None
    professional_id: str
    professional_name: str
    procedure_id: str
    procedure_name: str
    specialty: str | None = None
    starts_at: datetime
    ends_at: datetime
    timezone: str
    #: staff, online_booking, return, waitlist.
    source: str
    payment_id: str | None = None
    #: The visit this one is a return of.
    return_of: str | None = None
    #: A calendar file for the confirmation message (patient link serving text/calendar).
    ics_url: str | None = None
    #: Patient links for the confirmation message.
    confirm_url: str | None = None
    reschedule_url: str | None = None
    booked_by: str
    booked_at: datetime


class AppointmentConfirmedV1(_AppointmentEvent, frozen=True, kw_only=True):
    """The patient (or staff on their behalf) confirmed they will come."""

    TYPE: ClassVar[str] = "clinicflow.scheduling.appointment.confirmed.v1"

    starts_at: datetime
    #: link, whatsapp, sms, staff.
    via: str
    confirmed_by: str | None = None
    confirmed_at: datetime


class AppointmentRescheduledV1(_AppointmentEvent, frozen=True, kw_only=True):
    """An appointment moved to another time (and possibly professional or branch); payment carries over."""

    TYPE: ClassVar[str] = "clinicflow.scheduling.appointment.rescheduled.v1"

    previous_starts_at: datetime
    starts_at: datetime
    ends_at: datetime
    timezone: str
    branch_id: str
    professional_id: str
    rescheduled_by: str
    rescheduled_at: datetime


class AppointmentCancelledV1(_AppointmentEvent, frozen=True, kw_only=True):
    """An appointment was cancelled; `refund_due` tells payments to refund `payment_id`."""

    TYPE: ClassVar[str] = "clinicflow.scheduling.appointment.cancelled.v1"

    starts_at: datetime
    reason: Annotated[str | None, PERSONAL] = None
    cancelled_by: str
    cancelled_at: datetime
    payment_id: str | None = None
    #: Cancelled within the clinic's policy, so the prepayment goes back.
    refund_due: bool = False


class AppointmentNoShowV1(_AppointmentEvent, frozen=True, kw_only=True):
    """The patient did not come."""

    TYPE: ClassVar[str] = "clinicflow.scheduling.appointment.no_show.v1"

    starts_at: datetime
    marked_by: str
    marked_at: datetime


class ReminderAction(msgspec.Struct, frozen=True, kw_only=True):
    """A button on the reminder: `id` comes back as the reply's button id, `url` is the patient link."""

    #: e.g. appt:<appointment id>:confirm, appt:<appointment id>:reschedule
    id: str
    #: confirm, reschedule.
    kind: str
    url: str


class NoShowReason(msgspec.Struct, frozen=True, kw_only=True):
    #: base, history, lead_time, confirmation, person.
    factor: str
    points: int
    detail: str


class NoShowRisk(msgspec.Struct, frozen=True, kw_only=True):
    """A simple, explained no-show risk: 0-100, low < 30 <= medium < 60 <= high, every point with its reason."""

    score: int
    level: str
    reasons: list[NoShowReason] = []


class ReminderDueV1(_AppointmentEvent, frozen=True, kw_only=True):
    """A reminder of an appointment is due now (24 h and 5 h before by default)."""

    TYPE: ClassVar[str] = "clinicflow.scheduling.reminder.due.v1"

    reminder_id: str
    #: Minutes before the start this reminder was set for (1440, 300, ...).
    offset_minutes: int
    starts_at: datetime
    timezone: str
    branch_name: str
    branch_address: str | None = None
    professional_name: str
    procedure_name: str
    actions: list[ReminderAction] = []
    due_at: datetime
    #: The appointment's no-show risk when the reminder went out (the reminder flow may weigh it, e.g. a call
    #: for a high one); None from producers before it was added.
    no_show_risk: NoShowRisk | None = None


class PatientArrivedV1(_AppointmentEvent, frozen=True, kw_only=True):
    """Reception checked the patient in; `anamnesis_url` is the questionnaire link, when one is due."""

    TYPE: ClassVar[str] = "clinicflow.scheduling.patient.arrived.v1"

    branch_id: str
    professional_id: str
    procedure_id: str
    arrived_at: datetime
    #: The patient's first visit to the clinic.
    first_visit: bool = False
    anamnesis_url: str | None = None
    checked_in_by: str


class VisitStartedV1(_AppointmentEvent, frozen=True, kw_only=True):
    """The professional called the patient in."""

    TYPE: ClassVar[str] = "clinicflow.scheduling.visit.started.v1"

    professional_id: str
    started_at: datetime


class VisitCompletedV1(_AppointmentEvent, frozen=True, kw_only=True):
    """The visit ended; a return may be needed after `return_in_days`."""

    TYPE: ClassVar[str] = "clinicflow.scheduling.visit.completed.v1"

    professional_id: str
    procedure_id: str
    #: Procedure ids done in this visit.
    procedures_done: list[str] = []
    return_needed: bool = False
    return_in_days: int | None = None
    completed_at: datetime


class ReturnBookedV1(_AppointmentEvent, frozen=True, kw_only=True):
    """Reception booked the return visit of `previous_appointment_id` (the new one is `appointment_id`)."""

    TYPE: ClassVar[str] = "clinicflow.scheduling.return.booked.v1"

    previous_appointment_id: str
    branch_id: str
    professional_id: str
    procedure_id: str
    starts_at: datetime
    timezone: str
    booked_by: str
    booked_at: datetime


class AnamnesisSubmittedV1(_AppointmentEvent, frozen=True, kw_only=True):
    """The patient filled in and signed the clinic's questionnaire; the signed form is immutable."""

    TYPE: ClassVar[str] = "clinicflow.scheduling.anamnesis.submitted.v1"

    submission_id: str
    questionnaire_id: str
    #: SHA-256 (hex) of exactly what was signed.
    sha256: str
    signed_at: datetime


class WaitlistOfferedV1(Event, frozen=True, kw_only=True):
    """A freed slot is offered to the next person on the waitlist; the hold expires at `hold_expires_at`."""

    TYPE: ClassVar[str] = "clinicflow.scheduling.waitlist.offered.v1"
    TOPIC: ClassVar[str] = SCHEDULING.name
    AGGREGATE: ClassVar[str] = "waitlist_entry_id"

    waitlist_entry_id: str
    person: Person
    branch_id: str
    branch_name: str
    procedure_id: str
    procedure_name: str
    professional_id: str
    professional_name: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    hold_expires_at: datetime
    accept_url: str
    offered_at: datetime
