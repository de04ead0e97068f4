"""Personal data under LGPD, GDPR and 152-FZ (docs/privacy.md).

The privacy service publishes on `clinicflow.privacy.events`:

- `consent.given` / `consent.withdrawn`: the consent ledger, keyed by the person (`person_key`), so one person's
  consent changes arrive in order. Notifications keeps its own copy and checks it before sending; a withdrawal
  takes effect with the next message it would send.
- `request.export_requested` / `request.erasure_requested`: a data subject request, keyed by the request id, with
  every identifier the clinic knows the person by. Each service that holds personal data answers on *its own*
  topic (each service's Kafka user writes only there):
- `clinicflow.<service>.privacy_part.ready.v1`: the service's part of an export is a JSON document in the object
  store under `object_key`;
- `clinicflow.<service>.privacy_part.erased.v1`: the service anonymised its rows of the person; what the law
  makes it keep (e.g. fiscal records of payments) is counted under `retained`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

import msgspec

from contracts.envelope import Event
from contracts.personal import CONTACT, PERSONAL
from contracts.topics import (
    ANALYTICS,
    FUNNEL,
    IDENTITY,
    LEADS,
    NOTIFICATIONS,
    PAYMENTS,
    PRIVACY,
    SCHEDULING,
    TELEPHONY,
)

#: What a person may consent to (the ledger's purposes).
PURPOSES: tuple[str, ...] = ("marketing", "reminders", "ai_assistant", "external_ai")
#: The channels a consent may be limited to; "any" covers them all.
CHANNELS: tuple[str, ...] = ("any", "whatsapp", "sms", "email", "telegram", "instagram", "phone")
#: The services that answer export and erasure requests (each publishes its privacy_part events).
ANSWERING_SERVICES: tuple[str, ...] = (
    "leads",
    "scheduling",
    "payments",
    "notifications",
    "funnel",
    "telephony",
    "analytics",
)


class Subject(msgspec.Struct, frozen=True, kw_only=True):
    """Every identifier a clinic knows one person by. Phones are E.164; e-mails lower-case; CPF digits only."""

    lead_ids: list[str] = []
    patient_ids: list[str] = []
    phones: Annotated[list[str], CONTACT] = []
    emails: Annotated[list[str], CONTACT] = []
    cpfs: Annotated[list[str], CONTACT] = []


class _ConsentEvent(Event, frozen=True, kw_only=True):
    TOPIC: ClassVar[str] = PRIVACY.name
    AGGREGATE: ClassVar[str] = "person_key"

    consent_id: str
    #: "lead:<id>", "patient:<id>", "phone:<e164>" or "email:<address>": whom the ledger entry is about.
    person_key: str
    lead_id: str | None = None
    patient_id: str | None = None
    phone: Annotated[str | None, CONTACT] = None
    email: Annotated[str | None, CONTACT] = None
    #: marketing, reminders, ai_assistant, external_ai.
    purpose: str
    #: any, whatsapp, sms, email, telegram, instagram, phone.
    channel: str
    #: How it was recorded: console, web_form, patient_page, inbound_message, paper, import, api, stop_word (an
    #: opt-out word the person wrote on the channel, through notifications), start_word (an opt-in word).
    source: str
    #: The text the person agreed to (or the words they withdrew with).
    text: Annotated[str | None, PERSONAL] = None
    #: Staff user who recorded it; None when the person did it themselves.
    recorded_by: str | None = None
    at: datetime


class ConsentGivenV1(_ConsentEvent, frozen=True, kw_only=True):
    """The person agreed to `purpose` on `channel`."""

    TYPE: ClassVar[str] = "clinicflow.privacy.consent.given.v1"


class ConsentWithdrawnV1(_ConsentEvent, frozen=True, kw_only=True):
    """The person withdrew consent for `purpose` on `channel`: it takes effect at once."""

    TYPE: ClassVar[str] = "clinicflow.privacy.consent.withdrawn.v1"


class _RequestEvent(Event, frozen=True, kw_only=True):
    TOPIC: ClassVar[str] = PRIVACY.name
    AGGREGATE: ClassVar[str] = "request_id"

    request_id: str
    subject: Subject
    requested_at: datetime
    #: When the clinic must have answered (15 days under LGPD).
    due_at: datetime


class ExportRequestedV1(_RequestEvent, frozen=True, kw_only=True):
    """Access / export: every answering service writes what it holds about `subject` to the object store."""

    TYPE: ClassVar[str] = "clinicflow.privacy.request.export_requested.v1"


class ErasureRequestedV1(_RequestEvent, frozen=True, kw_only=True):
    """Erasure: every answering service anonymises its rows of `subject`, keeping what the law requires."""

    TYPE: ClassVar[str] = "clinicflow.privacy.request.erasure_requested.v1"


class _PartEvent(Event, frozen=True, kw_only=True):
    AGGREGATE: ClassVar[str] = "request_id"
    #: The service that answers (set by each topic's subclass).
    SERVICE: ClassVar[str]

    request_id: str
    service: str
    #: Rows found (ready) or anonymised (erased), by kind of data: {"leads": 1, "activities": 3}.
    counts: dict[str, int] = {}
    at: datetime


class _PartReady(_PartEvent, frozen=True, kw_only=True):
    """The service's part of an export: a JSON document in the object store (never the data in the event)."""

    object_key: str
    sha256: str | None = None
    size_bytes: int | None = None


class _PartErased(_PartEvent, frozen=True, kw_only=True):
    """The service anonymised the person's rows; `retained` counts what it must keep by law (flagged)."""

    retained: dict[str, int] = {}


class LeadsPartReadyV1(_PartReady, frozen=True, kw_only=True):
    """leads' part of an export: lead and patient records, requests, activities, status history, audit trail."""

    TOPIC: ClassVar[str] = LEADS.name
    SERVICE: ClassVar[str] = "leads"
    TYPE: ClassVar[str] = "clinicflow.leads.privacy_part.ready.v1"


class LeadsPartErasedV1(_PartErased, frozen=True, kw_only=True):
    """leads anonymised the person's lead and patient records (name, phones, e-mail, CPF, notes)."""

    TOPIC: ClassVar[str] = LEADS.name
    SERVICE: ClassVar[str] = "leads"
    TYPE: ClassVar[str] = "clinicflow.leads.privacy_part.erased.v1"


class SchedulingPartReadyV1(_PartReady, frozen=True, kw_only=True):
    """scheduling's part of an export: appointments, signed anamnesis forms, waitlist entries."""

    TOPIC: ClassVar[str] = SCHEDULING.name
    SERVICE: ClassVar[str] = "scheduling"
    TYPE: ClassVar[str] = "clinicflow.scheduling.privacy_part.ready.v1"


class SchedulingPartErasedV1(_PartErased, frozen=True, kw_only=True):
    """scheduling anonymised the person on appointments; signed anamnesis forms are retained (clinical record)."""

    TOPIC: ClassVar[str] = SCHEDULING.name
    SERVICE: ClassVar[str] = "scheduling"
    TYPE: ClassVar[str] = "clinicflow.scheduling.privacy_part.erased.v1"


class PaymentsPartReadyV1(_PartReady, frozen=True, kw_only=True):
    """payments' part of an export: charges and refunds."""

    TOPIC: ClassVar[str] = PAYMENTS.name
    SERVICE: ClassVar[str] = "payments"
    TYPE: ClassVar[str] = "clinicflow.payments.privacy_part.ready.v1"


class PaymentsPartErasedV1(_PartErased, frozen=True, kw_only=True):
    """payments removed contact data from open charges; paid charges are fiscal records, retained and flagged."""

    TOPIC: ClassVar[str] = PAYMENTS.name
    SERVICE: ClassVar[str] = "payments"
    TYPE: ClassVar[str] = "clinicflow.payments.privacy_part.erased.v1"


class NotificationsPartReadyV1(_PartReady, frozen=True, kw_only=True):
    """notifications' part of an export: messages sent, conversations and what the person wrote, opt-outs."""

    TOPIC: ClassVar[str] = NOTIFICATIONS.name
    SERVICE: ClassVar[str] = "notifications"
    TYPE: ClassVar[str] = "clinicflow.notifications.privacy_part.ready.v1"


class NotificationsPartErasedV1(_PartErased, frozen=True, kw_only=True):
    """notifications anonymised messages, conversations and inbound texts of the person."""

    TOPIC: ClassVar[str] = NOTIFICATIONS.name
    SERVICE: ClassVar[str] = "notifications"
    TYPE: ClassVar[str] = "clinicflow.notifications.privacy_part.erased.v1"


class FunnelPartReadyV1(_PartReady, frozen=True, kw_only=True):
    """funnel's part of an export: deals, treatment plans and items, tasks, the deals' activity and ledger, the
    valuation process (its history, quotes and photos' metadata), funnel's copies of appointments, visits,
    calls and messages."""

    TOPIC: ClassVar[str] = FUNNEL.name
    SERVICE: ClassVar[str] = "funnel"
    TYPE: ClassVar[str] = "clinicflow.funnel.privacy_part.ready.v1"


class FunnelPartErasedV1(_PartErased, frozen=True, kw_only=True):
    """funnel anonymised deals, tasks, activity and valuations and deleted the valuation photos; signed treatment
    plans (the treatment consent) and the deals' ledger (fiscal) are retained and flagged."""

    TOPIC: ClassVar[str] = FUNNEL.name
    SERVICE: ClassVar[str] = "funnel"
    TYPE: ClassVar[str] = "clinicflow.funnel.privacy_part.erased.v1"


class TelephonyPartReadyV1(_PartReady, frozen=True, kw_only=True):
    """telephony's part of an export: calls, their recordings' metadata and who opened them, its contact copy."""

    TOPIC: ClassVar[str] = TELEPHONY.name
    SERVICE: ClassVar[str] = "telephony"
    TYPE: ClassVar[str] = "clinicflow.telephony.privacy_part.ready.v1"


class TelephonyPartErasedV1(_PartErased, frozen=True, kw_only=True):
    """telephony removed the caller from the person's calls and deleted their recordings; recordings the
    clinic's rule holds (e.g. the last 90 days of customer-service calls) are retained and counted."""

    TOPIC: ClassVar[str] = TELEPHONY.name
    SERVICE: ClassVar[str] = "telephony"
    TYPE: ClassVar[str] = "clinicflow.telephony.privacy_part.erased.v1"


class AnalyticsPartReadyV1(_PartReady, frozen=True, kw_only=True):
    """analytics' part of an export: the person's rows in its read models (leads, appointments, payments, deals,
    plans, tasks, calls, suggestions as projected from the events, their facts, source corrections)."""

    TOPIC: ClassVar[str] = ANALYTICS.name
    SERVICE: ClassVar[str] = "analytics"
    TYPE: ClassVar[str] = "clinicflow.analytics.privacy_part.ready.v1"


class AnalyticsPartErasedV1(_PartErased, frozen=True, kw_only=True):
    """analytics anonymised the person in its read models (name, phones, plan and task titles); ids, times and
    amounts stay, so every count and revenue total is unchanged."""

    TOPIC: ClassVar[str] = ANALYTICS.name
    SERVICE: ClassVar[str] = "analytics"
    TYPE: ClassVar[str] = "clinicflow.analytics.privacy_part.erased.v1"


PART_READY: tuple[type[_PartReady], ...] = (
    LeadsPartReadyV1,
    SchedulingPartReadyV1,
    PaymentsPartReadyV1,
    NotificationsPartReadyV1,
    FunnelPartReadyV1,
    TelephonyPartReadyV1,
    AnalyticsPartReadyV1,
)
PART_ERASED: tuple[type[_PartErased], ...] = (
    LeadsPartErasedV1,
    SchedulingPartErasedV1,
    PaymentsPartErasedV1,
    NotificationsPartErasedV1,
    FunnelPartErasedV1,
    TelephonyPartErasedV1,
    AnalyticsPartErasedV1,
)


class RecordReadV1(Event, frozen=True, kw_only=True):
    """A staff member opened a personal record (a lead, an anamnesis form, a conversation, a recording, an
    appointment) through the gateway: who, when, why. The gateway publishes it on its own topic (keyed by the
    read's id, so compaction keeps every one); the privacy service keeps the read audit from it."""

    TOPIC: ClassVar[str] = IDENTITY.name
    AGGREGATE: ClassVar[str] = "read_id"
    TYPE: ClassVar[str] = "clinicflow.identity.record.read.v1"

    read_id: str
    actor_id: str
    #: lead, patient, anamnesis, conversation, recording, appointment.
    record_kind: str
    record_id: str
    #: Why, as the caller said (the `X-Purpose` header); None when it did not.
    purpose: str | None = None
    path: str
    at: datetime


class RetentionSetV1(Event, frozen=True, kw_only=True):
    """A clinic's privacy officer set how long one kind of data is kept (`PUT /api/v1/privacy/retention/{kind}`).
    The service that holds that kind applies it with a timer of its own (notifications: `messages`; leads:
    `lost_leads`) and reports each run back (`notifications.retention.applied`, `leads.retention.applied`), so the
    clinic's retention report lists every removal."""

    TOPIC: ClassVar[str] = PRIVACY.name
    AGGREGATE: ClassVar[str] = "kind"
    TYPE: ClassVar[str] = "clinicflow.privacy.retention.set.v1"

    #: lost_leads, recordings, messages, read_audit, exports.
    kind: str
    #: Data of this kind older than this many days is removed (or anonymised).
    days: int
    #: The staff member who set it.
    set_by: str | None = None
    at: datetime


class KeyShreddedV1(Event, frozen=True, kw_only=True):
    """An erasure was answered by every service and the person's keys were destroyed (crypto-shredding,
    kit.personal): every event that carried their personal fields, in Kafka, in an outbox or in a replay, now
    opens to "[erased]". Names the keys by id only; a process that cached one forgets it within its cache time."""

    TOPIC: ClassVar[str] = PRIVACY.name
    AGGREGATE: ClassVar[str] = "request_id"
    TYPE: ClassVar[str] = "clinicflow.privacy.key.shredded.v1"

    request_id: str
    key_ids: list[str] = []
    shredded_at: datetime


PartReady = _PartReady
PartErased = _PartErased

EVENTS: tuple[type[Event], ...] = (
    ConsentGivenV1,
    ConsentWithdrawnV1,
    ExportRequestedV1,
    ErasureRequestedV1,
    *PART_READY,
    *PART_ERASED,
    RecordReadV1,
    RetentionSetV1,
    KeyShreddedV1,
)


def person_key(
    *, lead_id: str | None = None, patient_id: str | None = None, phone: str | None = None, email: str | None = None
) -> str:
    """The ledger's key of a person: the most stable identifier given."""
    if patient_id:
        return f"patient:{patient_id}"
    if lead_id:
        return f"lead:{lead_id}"
    if phone:
        return f"phone:{phone}"
    if email:
        return f"email:{email.lower()}"
    raise ValueError("a person needs a lead id, a patient id, a phone or an e-mail")
