"""Contract events -> what the rules look at: the short type, the person, the fields, the template variables.

Rules are written against short types (`lead.created`, `reminder.due`); a rule may exist before its producer
does. Patient-facing events carry the person (contracts.people.Person); lead events carry the contact data
themselves, and the others find it in the copy notifications keeps (contacts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from contracts import Event, EventMeta
from contracts.leads import (
    LeadAssignedV1,
    LeadConvertedV1,
    LeadCreatedV1,
    LeadStatusChangedV1,
    LeadUpdatedV1,
)
from contracts.payments import (
    PaymentCancelledV1,
    PaymentConfirmedV1,
    PaymentExpiredV1,
    PaymentFailedV1,
    PaymentLinkCreatedV1,
    PaymentRefundedV1,
)
from contracts.people import Person
from contracts.quotes import EVENTS as QUOTE_EVENTS
from contracts.scheduling import (
    AnamnesisSubmittedV1,
    AppointmentBookedV1,
    AppointmentCancelledV1,
    AppointmentConfirmedV1,
    AppointmentNoShowV1,
    AppointmentRescheduledV1,
    PatientArrivedV1,
    ReminderDueV1,
    ReturnBookedV1,
    VisitCompletedV1,
    VisitStartedV1,
    WaitlistOfferedV1,
)
from notifications import rendering
from notifications.domain import first_name

#: Every event the notifications worker consumes (rules may name any of them).
CONSUMED: tuple[type[Event], ...] = (
    LeadCreatedV1,
    LeadUpdatedV1,
    LeadStatusChangedV1,
    LeadAssignedV1,
    LeadConvertedV1,
    PaymentLinkCreatedV1,
    PaymentConfirmedV1,
    PaymentFailedV1,
    PaymentExpiredV1,
    PaymentCancelledV1,
    PaymentRefundedV1,
    AppointmentBookedV1,
    AppointmentConfirmedV1,
    AppointmentRescheduledV1,
    AppointmentCancelledV1,
    AppointmentNoShowV1,
    ReminderDueV1,
    PatientArrivedV1,
    VisitStartedV1,
    VisitCompletedV1,
    ReturnBookedV1,
    AnamnesisSubmittedV1,
    WaitlistOfferedV1,
    *QUOTE_EVENTS,  # funnel's valuation -> quote process (notifications.quotes)
)


def short_type(full: str) -> str:
    """clinicflow.scheduling.reminder.due.v1 -> reminder.due"""
    parts = full.split(".")
    return ".".join(parts[2:-1]) if len(parts) > 3 else full


EVENT_TYPES: tuple[str, ...] = tuple(short_type(e.TYPE) for e in CONSUMED)
_ACTOR_FIELDS = (
    "created_by",
    "booked_by",
    "changed_by",
    "assigned_by",
    "converted_by",
    "checked_in_by",
    "cancelled_by",
    "rescheduled_by",
    "confirmed_by",
    "updated_by",
    "marked_by",
    "refunded_by",
)
_WHEN_FIELDS = ("starts_at", "expires_at", "paid_at")


@dataclass(frozen=True)
class Occurrence:
    event_type: str
    tenant_id: str
    event_id: str
    #: What the event is about (payment:<id>, appointment:<id>, lead:<id>): delayed messages are cancelled by it.
    subject: str
    person: dict[str, Any] | None
    #: The event's fields (for conditions) plus derived ones (has_anamnesis, status).
    fields: dict[str, Any]
    actions: list[dict[str, str]] = field(default_factory=list)
    actor_id: str | None = None
    owner_id: str | None = None
    timezone: str | None = None


def _person_of(event: Event) -> dict[str, Any] | None:
    person = getattr(event, "person", None)
    if isinstance(person, Person):
        return msgspec.structs.asdict(person)
    if isinstance(event, LeadCreatedV1 | LeadUpdatedV1):
        return {
            "lead_id": event.lead_id,
            "patient_id": None,
            "name": event.name,
            "phone": event.phone,
            "email": event.email,
            "locale": event.locale,
        }
    if isinstance(event, LeadConvertedV1):
        return {
            "lead_id": event.lead_id,
            "patient_id": event.patient_id,
            "name": event.name,
            "phone": event.phone,
            "email": event.email,
            "locale": None,
        }
    return None


def occurrence(event: Event, meta: EventMeta) -> Occurrence:
    fields = msgspec.to_builtins(event)
    person = _person_of(event)
    kind = short_type(meta.type)
    aggregate = type(event).AGGREGATE
    subject = f"{aggregate.removesuffix('_id')}:{event.aggregate_id()}"
    fields["has_anamnesis"] = bool(getattr(event, "anamnesis_url", None))
    if isinstance(event, LeadStatusChangedV1):
        fields["status"] = event.to_status
    if person is None and getattr(event, "lead_id", None):
        person = {"lead_id": event.lead_id}  # type: ignore[attr-defined]
    actions = [msgspec.to_builtins(a) for a in getattr(event, "actions", [])]
    actor = next((getattr(event, f) for f in _ACTOR_FIELDS if getattr(event, f, None)), None)
    owner = getattr(event, "owner_id", None)
    return Occurrence(
        event_type=kind,
        tenant_id=meta.tenant_id,
        event_id=meta.id,
        subject=subject,
        person=person,
        fields=fields,
        actions=actions,
        actor_id=actor,
        owner_id=owner,
        timezone=getattr(event, "timezone", None),
    )


def variables(occ: Occurrence, person: dict[str, Any] | None, locale: str, clinic_tz: str) -> dict[str, Any]:
    """The template variables of an event (docs/notifications.md lists them per template)."""
    f = occ.fields
    tz = occ.timezone or clinic_tz
    name = (person or {}).get("name") or ""
    values: dict[str, Any] = {name_: None for name_ in rendering.SAMPLES}
    values.update({k: v for k, v in f.items() if isinstance(v, str | int | float | bool) or v is None})
    values.update(
        name=name, first_name=first_name(name), phone=(person or {}).get("phone"), email=(person or {}).get("email")
    )
    when = {k: _instant(f.get(k)) for k in _WHEN_FIELDS}
    values["date"] = rendering.local_date(when["starts_at"], tz, locale)
    values["time"] = rendering.local_time(when["starts_at"], tz)
    values["expires_date"] = rendering.local_date(when["expires_at"], tz, locale)
    values["paid_date"] = rendering.local_date(when["paid_at"], tz, locale)
    for action in occ.actions:
        values[f"{action['kind']}_url"] = action.get("url")
    if f.get("pay_url"):
        # payment.link_created: the clinic's Pay page (PIX code and QR, then the checkout) is what the patient
        # gets; the provider's checkout stays at hand as checkout_url.
        values["checkout_url"], values["url"] = f.get("url"), f["pay_url"]
    return values


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None
