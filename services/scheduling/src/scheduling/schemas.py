"""HTTP bodies of scheduling (msgspec): requests are strict, responses mirror the domain."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from scheduling.domain.appointments import Appointment, Person
from scheduling.domain.setup import MAX_DURATION_MINUTES, Branch, ClinicPolicy, Procedure, Professional

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Text = Annotated[str, msgspec.Meta(max_length=2000)]
HHMM = Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["09:00"])]
Weekday = Annotated[int, msgspec.Meta(ge=0, le=6, description="0 = Monday ... 6 = Sunday")]
When = Annotated[datetime, msgspec.Meta(examples=["2026-12-07T10:00:00-03:00"])]


class _In(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass


# --- set-up --------------------------------------------------------------------------------
class PolicyIn(_In, kw_only=True):
    country: Annotated[str, msgspec.Meta(min_length=2, max_length=2)] | None = None
    reminder_offsets: list[Annotated[int, msgspec.Meta(ge=1, le=43200)]] | None = None
    refund_cutoff_hours: Annotated[int, msgspec.Meta(ge=0, le=720)] | None = None
    hold_minutes: Annotated[int, msgspec.Meta(ge=1, le=60)] | None = None
    slot_step_minutes: int | None = None
    min_lead_minutes: Annotated[int, msgspec.Meta(ge=0, le=10080)] | None = None
    anamnesis_questionnaire_id: UUID | None = None


class PolicyOut(msgspec.Struct, frozen=True, kw_only=True):
    country: str
    reminder_offsets: list[int]
    refund_cutoff_hours: int
    hold_minutes: int
    slot_step_minutes: int
    min_lead_minutes: int
    anamnesis_questionnaire_id: str | None

    @classmethod
    def of(cls, p: ClinicPolicy) -> PolicyOut:
        return cls(
            country=p.country,
            reminder_offsets=list(p.reminder_offsets),
            refund_cutoff_hours=p.refund_cutoff_hours,
            hold_minutes=p.hold_minutes,
            slot_step_minutes=p.slot_step_minutes,
            min_lead_minutes=p.min_lead_minutes,
            anamnesis_questionnaire_id=p.anamnesis_questionnaire_id,
        )


class BranchIn(_In, kw_only=True):
    name: Name
    timezone: Annotated[str, msgspec.Meta(max_length=64, examples=["America/Sao_Paulo"])]
    address: Text | None = None
    open_on_holidays: bool = False
    subdivision: Annotated[str, msgspec.Meta(max_length=10, examples=["SP"])] | None = None
    active: bool = True


class BranchOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    address: str | None
    timezone: str
    open_on_holidays: bool
    subdivision: str | None
    active: bool

    @classmethod
    def of(cls, b: Branch) -> BranchOut:
        return cls(
            id=b.id,
            name=b.name,
            address=b.address,
            timezone=b.timezone,
            open_on_holidays=b.open_on_holidays,
            subdivision=b.subdivision,
            active=b.active,
        )


class HoursIn(_In, kw_only=True):
    weekday: Weekday
    start: HHMM
    end: HHMM
    branch_id: UUID


class BreakIn(_In, kw_only=True):
    weekday: Weekday
    start: HHMM
    end: HHMM


class ProfessionalIn(_In, kw_only=True):
    name: Name
    kind: Annotated[str, msgspec.Meta(max_length=50, examples=["dentist"])]
    specialties: list[Annotated[str, msgspec.Meta(max_length=100)]] = []
    branch_ids: list[UUID] = []
    hours: list[HoursIn] = []
    breaks: list[BreakIn] = []
    days_off: list[date] = []
    user_id: UUID | None = None
    active: bool = True


class ProfessionalOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    kind: str
    specialties: list[str]
    branch_ids: list[str]
    hours: list[dict[str, Any]]
    breaks: list[dict[str, Any]]
    days_off: list[str]
    user_id: str | None
    active: bool

    @classmethod
    def of(cls, p: Professional) -> ProfessionalOut:
        hhmm = "{:%H:%M}".format
        return cls(
            id=p.id,
            name=p.name,
            kind=p.kind,
            specialties=list(p.specialties),
            branch_ids=list(p.branch_ids),
            hours=[
                {"weekday": h.weekday, "start": hhmm(h.start), "end": hhmm(h.end), "branch_id": h.branch_id}
                for h in p.hours
            ],
            breaks=[{"weekday": b.weekday, "start": hhmm(b.start), "end": hhmm(b.end)} for b in p.breaks],
            days_off=[d.isoformat() for d in p.days_off],
            user_id=p.user_id,
            active=p.active,
        )


class ProcedureIn(_In, kw_only=True):
    name: Name
    duration_minutes: Annotated[int, msgspec.Meta(ge=5, le=MAX_DURATION_MINUTES)]
    specialty: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    price_reference: Annotated[str, msgspec.Meta(pattern=r"^\d{1,9}\.\d{2}$", examples=["350.00"])] | None = None
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$")] = "BRL"
    prepayment_required: bool = False
    branch_ids: list[UUID] = []
    active: bool = True


class ProcedureOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    duration_minutes: int
    specialty: str | None
    price_reference: str | None
    currency: str
    prepayment_required: bool
    branch_ids: list[str]
    active: bool

    @classmethod
    def of(cls, p: Procedure) -> ProcedureOut:
        return cls(
            id=p.id,
            name=p.name,
            duration_minutes=p.duration_minutes,
            specialty=p.specialty,
            price_reference=p.price_reference,
            currency=p.currency,
            prepayment_required=p.prepayment_required,
            branch_ids=list(p.branch_ids),
            active=p.active,
        )


class HolidayOut(msgspec.Struct, frozen=True):
    date: date
    name: str


# --- availability and appointments ---------------------------------------------------------
class SlotOut(msgspec.Struct, frozen=True, kw_only=True):
    professional_id: str
    professional_name: str
    starts_at: datetime
    ends_at: datetime
    #: The branch's wall-clock date and time of the start.
    local: str


class Availability(msgspec.Struct, frozen=True, kw_only=True):
    branch_id: str
    procedure_id: str
    timezone: str
    slots: list[SlotOut]


class FreeDay(msgspec.Struct, frozen=True, kw_only=True):
    #: A local date of the branch; with `utc_offset` and one of `times` it spells the exact start:
    #: `{date}T{time}:00{utc_offset}` (a DST change within a day splits it into two entries).
    date: date
    utc_offset: str
    #: The free start times, wall clock "HH:MM", ascending.
    times: list[str]


class FreeProfessional(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    #: How many free starts in the window.
    free: int
    days: list[FreeDay]


class FreeTimesOut(msgspec.Struct, frozen=True, kw_only=True):
    branch_id: str
    procedure_id: str
    timezone: str
    start: date = msgspec.field(name="from")
    end: date = msgspec.field(name="to")
    duration_minutes: int
    step_minutes: int
    #: Every professional of the branch who does the procedure (an empty `days`: nothing free).
    professionals: list[FreeProfessional]


class PersonIn(_In, kw_only=True):
    lead_id: UUID | None = None
    patient_id: UUID | None = None
    name: Name
    #: E.164, e.g. +5511987654321.
    phone: Annotated[str, msgspec.Meta(pattern=r"^\+[1-9]\d{7,14}$")] | None = None
    email: Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)] | None = None
    locale: Annotated[str, msgspec.Meta(max_length=10)] | None = None

    def person(self) -> Person:
        return Person(
            lead_id=str(self.lead_id) if self.lead_id else None,
            patient_id=str(self.patient_id) if self.patient_id else None,
            name=self.name,
            phone=self.phone,
            email=self.email,
            locale=self.locale,
        )


class BookIn(_In, kw_only=True):
    branch_id: UUID
    procedure_id: UUID
    professional_id: UUID
    starts_at: When
    person: PersonIn
    #: A prepayment to use (default: the person's oldest unused one for this procedure).
    payment_id: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    #: Book what this hold keeps (its time and professional must match).
    hold_id: UUID | None = None


class HoldIn(_In, kw_only=True):
    branch_id: UUID
    procedure_id: UUID
    professional_id: UUID
    starts_at: When
    person: PersonIn


class RescheduleIn(_In, kw_only=True):
    starts_at: When
    professional_id: UUID | None = None


class CancelIn(_In, kw_only=True):
    reason: Text | None = None


class CompleteIn(_In, kw_only=True):
    return_needed: bool = False
    return_in_days: Annotated[int, msgspec.Meta(ge=1, le=730)] | None = None
    #: Procedure ids done in the visit (default: the booked one).
    procedures_done: list[UUID] | None = None


class ReturnIn(_In, kw_only=True):
    starts_at: When
    professional_id: UUID | None = None
    procedure_id: UUID | None = None


class PersonOut(msgspec.Struct, frozen=True, kw_only=True):
    lead_id: str | None
    patient_id: str | None
    name: str | None
    phone: str | None
    email: str | None
    locale: str | None


class AppointmentOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    branch_id: str
    professional_id: str
    procedure_id: str
    starts_at: datetime
    ends_at: datetime
    status: str
    source: str
    person: PersonOut
    payment_id: str | None
    hold_expires_at: datetime | None
    return_of: str | None
    confirmed_at: datetime | None
    confirmed_via: str | None
    arrived_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    return_needed: bool
    return_in_days: int | None
    procedures_done: list[str]
    return_booked_id: str | None
    cancel_reason: str | None
    booked_by: str
    created_at: datetime

    @classmethod
    def of(cls, a: Appointment) -> AppointmentOut:
        p = a.person
        return cls(
            id=a.id,
            branch_id=a.branch_id,
            professional_id=a.professional_id,
            procedure_id=a.procedure_id,
            starts_at=a.starts_at,
            ends_at=a.ends_at,
            status=a.status,
            source=a.source,
            person=PersonOut(
                lead_id=p.lead_id, patient_id=p.patient_id, name=p.name, phone=p.phone, email=p.email, locale=p.locale
            ),
            payment_id=a.payment_id,
            hold_expires_at=a.hold_expires_at,
            return_of=a.return_of,
            confirmed_at=a.confirmed_at,
            confirmed_via=a.confirmed_via,
            arrived_at=a.arrived_at,
            started_at=a.started_at,
            completed_at=a.completed_at,
            return_needed=a.return_needed,
            return_in_days=a.return_in_days,
            procedures_done=list(a.procedures_done),
            return_booked_id=a.return_booked_id,
            cancel_reason=a.cancel_reason,
            booked_by=a.booked_by,
            created_at=a.created_at,
        )


class ReminderOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    offset_minutes: int
    due_at: datetime
    status: str
    sent_at: datetime | None


class AppointmentDetail(msgspec.Struct, frozen=True, kw_only=True):
    appointment: AppointmentOut
    reminders: list[ReminderOut]


class AgendaItem(msgspec.Struct, frozen=True, kw_only=True):
    """What the agenda shows: who, what, when, the state; never clinical notes."""

    id: str
    starts_at: datetime
    ends_at: datetime
    local_start: str
    status: str
    confirmed_at: datetime | None
    confirmed_via: str | None
    patient_name: str | None
    phone: str | None
    lead_id: str | None
    patient_id: str | None
    procedure_id: str
    procedure_name: str
    specialty: str | None
    professional_id: str
    professional_name: str
    branch_id: str
    branch_name: str
    source: str


class Agenda(msgspec.Struct, frozen=True, kw_only=True):
    start: date
    end: date
    timezone: str
    items: list[AgendaItem]


class BoardItem(msgspec.Struct, frozen=True, kw_only=True):
    appointment_id: str
    patient_name: str | None
    professional_name: str
    procedure_name: str
    starts_at: datetime
    arrived_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    waiting_minutes: int


class Board(msgspec.Struct, frozen=True, kw_only=True):
    branch_id: str
    date: date
    waiting: list[BoardItem]
    in_service: list[BoardItem]
    done: list[BoardItem]


class ItemList(msgspec.Struct, frozen=True):
    items: list[Any]


class BookingLinkIn(_In, kw_only=True):
    #: Who the link is for; omitted: a clinic-wide link for the website (the page asks for name and phone).
    person: PersonIn | None = None


class BookingLinkOut(msgspec.Struct, frozen=True):
    url: str
    token: str


# --- patient pages -------------------------------------------------------------------------
class OnlineBookIn(_In, kw_only=True):
    branch_id: UUID
    procedure_id: UUID
    starts_at: When
    #: Omitted: whoever is free then.
    professional_id: UUID | None = None
    #: Needed when the link was not made for a known person.
    name: Name | None = None
    phone: Annotated[str, msgspec.Meta(pattern=r"^\+[1-9]\d{7,14}$")] | None = None
    email: Annotated[str, msgspec.Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)] | None = None
    locale: Annotated[str, msgspec.Meta(max_length=10)] | None = None
    #: The hold the page made when the patient picked the time (POST /public/scheduling/booking/hold).
    hold_id: UUID | None = None


class OnlineHoldIn(_In, kw_only=True):
    branch_id: UUID
    procedure_id: UUID
    starts_at: When
    #: Omitted: whoever is free then.
    professional_id: UUID | None = None
    #: The hold this one replaces (the patient picked another time): released at once.
    replaces: UUID | None = None


class QuestionIn(_In, kw_only=True):
    id: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_]{1,50}$")]
    label: Name
    #: text, textarea, yes_no, number, date, single_choice, multi_choice.
    type: str
    required: bool = False
    options: list[Annotated[str, msgspec.Meta(min_length=1, max_length=200)]] = []


class SectionIn(_In, kw_only=True):
    title: Name
    questions: list[QuestionIn]


class QuestionnaireIn(_In, kw_only=True):
    name: Name
    sections: list[SectionIn]


class SignatureIn(_In, kw_only=True):
    #: typed (name + consent box) or drawn (a PNG/JPEG/SVG data URL).
    kind: str
    typed_name: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    consent: bool = False
    image: Annotated[str, msgspec.Meta(max_length=500_000)] | None = None


class AnamnesisIn(_In, kw_only=True):
    answers: dict[str, Any]
    signature: SignatureIn


class AnamnesisDraftIn(_In, kw_only=True):
    #: The answers given so far, by question id (each checked as on signing; none required yet).
    answers: dict[str, Any]


class WaitlistIn(_In, kw_only=True):
    branch_id: UUID
    procedure_id: UUID
    person: PersonIn
    #: Only this professional (default: anyone who does the procedure).
    professional_id: UUID | None = None
    #: The local dates the person can come between (inclusive; default: any).
    not_before: date | None = None
    not_after: date | None = None
