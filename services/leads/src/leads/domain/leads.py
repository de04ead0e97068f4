"""The lead (prospect): fields, statuses and their transitions, edits, urgency, follow-ups."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from leads.domain.errors import InvalidLead, InvalidTransition

LOCALES = ("pt-BR", "es", "ru", "en")
URGENCIES = ("high", "normal", "low")
CONSENT_CHANNELS = ("whatsapp", "sms", "email", "phone")
INTAKE_CHANNELS = ("manual", "web_form", "tilda", "call", "message", "online_booking")

PENDING_CONTACT = "PENDING_CONTACT"
CONTACTED_NO_RESPONSE = "CONTACTED_NO_RESPONSE"
CONTACTED_CALL_LATER = "CONTACTED_CALL_LATER"
RESCHEDULED = "RESCHEDULED"
REQUIRES_FOLLOW_UP = "REQUIRES_FOLLOW_UP"
NOT_INTERESTED = "NOT_INTERESTED"
APPOINTMENT_CANCELED = "APPOINTMENT_CANCELED"
INTERESTED_SCHEDULE_APPOINTMENT = "INTERESTED_SCHEDULE_APPOINTMENT"
APPOINTMENT_SCHEDULED = "APPOINTMENT_SCHEDULED"
VISIT_COMPLETED = "VISIT_COMPLETED"

STATUSES = (
    PENDING_CONTACT,
    CONTACTED_NO_RESPONSE,
    CONTACTED_CALL_LATER,
    RESCHEDULED,
    REQUIRES_FOLLOW_UP,
    NOT_INTERESTED,
    APPOINTMENT_CANCELED,
    INTERESTED_SCHEDULE_APPOINTMENT,
    APPOINTMENT_SCHEDULED,
    VISIT_COMPLETED,
)
INITIAL_STATUS = PENDING_CONTACT
#: A lead in one of these is no longer being worked: new contacts open a new lead.
CLOSED_STATUSES = frozenset({NOT_INTERESTED, VISIT_COMPLETED})

#: Statuses that only make sense after an appointment exists.
_NEEDS_APPOINTMENT = {APPOINTMENT_CANCELED, VISIT_COMPLETED}
_HAS_APPOINTMENT = {APPOINTMENT_SCHEDULED, RESCHEDULED}
#: After the visit, the person comes back as a follow-up or a return visit, not as a fresh prospect.
_AFTER_VISIT = {REQUIRES_FOLLOW_UP, INTERESTED_SCHEDULE_APPOINTMENT, APPOINTMENT_SCHEDULED}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NOTES = 10_000


@dataclass(frozen=True)
class Lead:
    id: str
    tenant_id: str
    name: str
    phone: str
    email: str | None
    source: str
    locale: str | None
    status: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    phones: tuple[str, ...] = ()
    cpf: str | None = None
    birth_date: date | None = None
    city: str | None = None
    urgency: str = "normal"
    owner_id: str | None = None
    next_follow_up: date | None = None
    notes: str | None = None
    consents: dict[str, bool] = field(default_factory=dict)
    attribution: dict[str, str] = field(default_factory=dict)
    channel: str = "manual"
    patient_id: str | None = None
    merged_into: str | None = None
    updated_by: str | None = None
    #: The next appointment as scheduling last told us (leads.domain.sync); None: none booked.
    next_appointment_id: str | None = None
    next_appointment_at: datetime | None = None
    next_appointment_procedure: str | None = None
    next_appointment_branch: str | None = None
    #: Where the person is reached on channels whose addresses are no phone: {"telegram": chat id,
    #: "instagram": user id}. A lead first heard of there has no phone until someone asks for it.
    contacts: dict[str, str] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES and self.merged_into is None


@dataclass(frozen=True)
class StatusChange:
    lead_id: str
    from_status: str | None  # None: the lead was created
    to_status: str
    comment: str | None
    changed_by: str
    changed_at: datetime


#: Fields staff may edit directly (status and owner have their own actions).
EDITABLE = (
    "name",
    "phones",
    "email",
    "cpf",
    "birth_date",
    "city",
    "locale",
    "source",
    "urgency",
    "next_follow_up",
    "notes",
    "consents",
)


def search_key(text: str) -> str:
    """Lower-case, accents stripped, spaces folded: 'José  Conceição' -> 'jose conceicao'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.lower().split())


def clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise InvalidLead("The name must not be empty.", field="name")
    if len(cleaned) > 200:
        raise InvalidLead("The name must be at most 200 characters.", field="name")
    return cleaned


def clean_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise InvalidLead(f"{email!r} is not an e-mail address.", field="email")
    return email


def check_source(source: str, known: dict[str, str]) -> str:
    slug = source.strip().lower()
    if slug not in known:
        raise InvalidLead(f"Unknown source {source!r}; use one of: {', '.join(known)}.", field="source")
    return slug


def check_locale(locale: str | None) -> str | None:
    if locale is None:
        return None
    if locale not in LOCALES:
        raise InvalidLead(f"Unsupported language {locale!r}; use one of: {', '.join(LOCALES)}.", field="locale")
    return locale


def check_urgency(urgency: str) -> str:
    if urgency not in URGENCIES:
        raise InvalidLead(f"Urgency must be one of: {', '.join(URGENCIES)}.", field="urgency")
    return urgency


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise InvalidLead(f"Unknown status {status!r}; use one of: {', '.join(STATUSES)}.", field="status")
    return status


def check_birth_date(birth_date: date | None, today: date) -> date | None:
    if birth_date is None:
        return None
    if birth_date > today:
        raise InvalidLead("The birth date is in the future.", field="birth_date")
    if birth_date.year < 1900:
        raise InvalidLead("The birth date is before 1900.", field="birth_date")
    return birth_date


def check_consents(consents: dict[str, bool]) -> dict[str, bool]:
    unknown = [c for c in consents if c not in CONSENT_CHANNELS]
    if unknown:
        raise InvalidLead(
            f"Consent channels are {', '.join(CONSENT_CHANNELS)}; not {', '.join(unknown)}.", field="consents"
        )
    return dict(consents)


def check_notes(notes: str | None) -> str | None:
    if notes is None or not notes.strip():
        return None
    if len(notes) > MAX_NOTES:
        raise InvalidLead(f"Notes hold at most {MAX_NOTES} characters.", field="notes")
    return notes.strip()


def clean_city(city: str | None) -> str | None:
    if city is None or not city.strip():
        return None
    return " ".join(city.split())[:120]


#: Channels a lead may be reached on without a phone (Lead.contacts).
CONTACT_CHANNELS = ("telegram", "instagram")


def unique_phones(phones: list[str] | tuple[str, ...], *, required: bool = True) -> tuple[str, ...]:
    """Normalised phones, first one primary, no repeats; at least one unless the lead has another address."""
    ordered = tuple(dict.fromkeys(phones))
    if not ordered and required:
        raise InvalidLead("A lead needs at least one phone number.", field="phones")
    if len(ordered) > 10:
        raise InvalidLead("A lead holds at most 10 phone numbers.", field="phones")
    return ordered


def new_lead(
    *,
    lead_id: str,
    tenant_id: str,
    name: str,
    phones: list[str],
    email: str | None,
    source: str,
    known_sources: dict[str, str],
    locale: str | None,
    created_by: str,
    now: datetime,
    cpf: str | None = None,
    birth_date: date | None = None,
    city: str | None = None,
    urgency: str = "normal",
    owner_id: str | None = None,
    next_follow_up: date | None = None,
    notes: str | None = None,
    consents: dict[str, bool] | None = None,
    attribution: dict[str, str] | None = None,
    channel: str = "manual",
    status: str | None = None,
    contacts: dict[str, str] | None = None,
) -> Lead:
    """`status`: where the front desk already is with the person (default PENDING_CONTACT); the status history
    starts with it. `contacts`: a Telegram or Instagram address; a lead with one needs no phone (`phone` "")."""
    handles = check_contacts(contacts or {})
    all_phones = unique_phones(phones, required=not handles)
    return Lead(
        id=lead_id,
        tenant_id=tenant_id,
        name=clean_name(name),
        phone=all_phones[0] if all_phones else "",
        phones=all_phones,
        email=clean_email(email),
        source=check_source(source, known_sources),
        locale=check_locale(locale),
        status=INITIAL_STATUS if status is None else check_status(status),
        created_by=created_by,
        created_at=now,
        updated_at=now,
        updated_by=created_by,
        cpf=cpf,
        birth_date=check_birth_date(birth_date, now.date()),
        city=clean_city(city),
        urgency=check_urgency(urgency),
        owner_id=owner_id,
        next_follow_up=next_follow_up,
        notes=check_notes(notes),
        consents=check_consents(consents or {}),
        attribution=dict(attribution or {}),
        channel=channel if channel in INTAKE_CHANNELS else "manual",
        contacts=handles,
    )


def check_contacts(contacts: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for channel, address in contacts.items():
        if channel not in CONTACT_CHANNELS:
            raise InvalidLead(f"One of {', '.join(CONTACT_CHANNELS)}.", field=f"contacts.{channel}")
        cleaned = address.strip()
        if not cleaned or len(cleaned) > 200:
            raise InvalidLead("An address of 1 to 200 characters.", field=f"contacts.{channel}")
        out[channel] = cleaned
    return out


#: Fields with an action of their own, and where to send the client instead.
_OWN_ACTION = {
    "owner_id": "Change the owner with POST /api/v1/leads/{id}/assign.",
    "status": "Change the status with POST /api/v1/leads/{id}/status.",
}


def check_editable(changes: dict[str, Any]) -> None:
    """Only EDITABLE fields may be changed by an edit; status and owner point to their own actions."""
    for key, message in _OWN_ACTION.items():
        if key in changes:
            raise InvalidLead(message, field=key)
    unknown = [k for k in changes if k not in EDITABLE]
    if unknown:
        raise InvalidLead(f"{', '.join(unknown)} cannot be edited here.", field=unknown[0])


def check_changeable(lead: Lead, *, field: str = "lead_id") -> Lead:
    """A lead merged into another is kept for its history only: changes go to the lead it was merged into."""
    if lead.merged_into is not None:
        raise InvalidLead(f"This lead was merged into {lead.merged_into}; change that one.", field=field)
    return lead


def check_delete(confirm: bool) -> None:
    if not confirm:
        raise InvalidLead("Deleting a lead cannot be undone from the app: send confirm=true.", field="confirm")


#: How the same person met again at intake is handled: refused (409 with candidates), added to their open
#: lead as a request, or created anyway (a relative sharing the family phone).
ON_DUPLICATE = ("reject", "add_request", "create")


def check_on_duplicate(value: str) -> str:
    if value not in ON_DUPLICATE:
        raise InvalidLead(f"on_duplicate is one of: {', '.join(ON_DUPLICATE)}.", field="on_duplicate")
    return value


def edit(
    lead: Lead, changes: dict[str, Any], *, known_sources: dict[str, str], actor: str, now: datetime
) -> tuple[Lead, dict[str, tuple[Any, Any]]]:
    """Apply already-normalised changes (phones in E.164, CPF checked); returns the lead and the diff."""
    check_editable(changes)
    values: dict[str, Any] = {}
    for key, value in changes.items():
        if key == "name":
            values["name"] = clean_name(value)
        elif key == "phones":
            values["phones"] = unique_phones(value, required=not lead.contacts)
            values["phone"] = values["phones"][0] if values["phones"] else ""
        elif key == "email":
            values["email"] = clean_email(value)
        elif key == "source":
            values["source"] = check_source(value, known_sources)
        elif key == "locale":
            values["locale"] = check_locale(value)
        elif key == "urgency":
            values["urgency"] = check_urgency(value)
        elif key == "birth_date":
            values["birth_date"] = check_birth_date(value, now.date())
        elif key == "notes":
            values["notes"] = check_notes(value)
        elif key == "city":
            values["city"] = clean_city(value)
        elif key == "consents":
            values["consents"] = {**lead.consents, **check_consents(value)}
        else:
            values[key] = value
    diff = {k: (getattr(lead, k), v) for k, v in values.items() if getattr(lead, k) != v and k != "phone"}
    if not diff:
        return lead, {}
    return replace(lead, **values, updated_at=now, updated_by=actor), diff


def change_status(
    lead: Lead, to_status: str, *, comment: str | None, actor: str, now: datetime
) -> tuple[Lead, StatusChange]:
    check_status(to_status)
    current = lead.status
    if to_status == current:
        raise InvalidTransition(f"The lead is already {current}.", field="status")
    if to_status in _NEEDS_APPOINTMENT and current not in _HAS_APPOINTMENT:
        raise InvalidTransition(f"{to_status} needs a scheduled appointment; the lead is {current}.", field="status")
    if current == VISIT_COMPLETED and to_status not in _AFTER_VISIT:
        raise InvalidTransition(
            f"After VISIT_COMPLETED a lead can only go to {', '.join(sorted(_AFTER_VISIT))}.", field="status"
        )
    if comment is not None and len(comment) > 2000:
        raise InvalidLead("The comment holds at most 2000 characters.", field="comment")
    change = StatusChange(lead.id, current, to_status, (comment or "").strip() or None, actor, now)
    return replace(lead, status=to_status, updated_at=now, updated_by=actor), change


def assign(lead: Lead, owner_id: str | None, *, actor: str, now: datetime) -> Lead:
    if owner_id == lead.owner_id:
        raise InvalidTransition("The lead already has this owner.", field="owner_id")
    return replace(lead, owner_id=owner_id, updated_at=now, updated_by=actor)


def auditable(lead: Lead) -> dict[str, Any]:
    """The lead as the audit log records it (dates as ISO strings)."""
    out: dict[str, Any] = {}
    for key in (
        "name",
        "phones",
        "email",
        "cpf",
        "birth_date",
        "city",
        "locale",
        "source",
        "status",
        "urgency",
        "owner_id",
        "next_follow_up",
        "notes",
        "consents",
        "patient_id",
        "merged_into",
    ):
        value = getattr(lead, key)
        out[key] = (
            value.isoformat()
            if isinstance(value, (date, datetime))
            else list(value)
            if isinstance(value, tuple)
            else value
        )
    return out


def audit_diff(diff: dict[str, tuple[Any, Any]]) -> dict[str, list[Any]]:
    def plain(value: Any) -> Any:
        if isinstance(value, (date, datetime)):
            return value.isoformat()
        return list(value) if isinstance(value, tuple) else value

    return {k: [plain(a), plain(b)] for k, (a, b) in diff.items()}


@dataclass(frozen=True)
class LeadRequest:
    """What a lead asked about. A lead can hold several."""

    id: str
    tenant_id: str
    lead_id: str
    treatment: str | None
    group: str | None
    channel: str | None
    reason: str | None
    handled: bool
    status: str | None
    intake: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class AuditEntry:
    entity: str
    entity_id: str
    lead_id: str | None
    action: str
    actor_id: str | None
    at: datetime
    changes: dict[str, Any]


def check_reason(reason: str | None) -> str | None:
    if reason is None or not reason.strip():
        return None
    if len(reason) > 2000:
        raise InvalidLead("The reason holds at most 2000 characters.", field="reason")
    return reason.strip()


#: Fields of a request staff may edit, and the clinic list (kind) each slug field must come from.
REQUEST_EDITABLE = ("treatment", "group", "channel", "reason", "handled", "status")
REQUEST_LISTS = {"treatment": "treatment", "group": "group", "channel": "channel", "status": "request_status"}


def edit_request(
    request: LeadRequest, changes: dict[str, Any], *, now: datetime
) -> tuple[LeadRequest, dict[str, list[Any]]]:
    """The request with `changes` (slugs already checked against the clinic's lists) and the diff, field ->
    [before, after], of what really changed; an empty diff leaves the request as it was."""
    unknown = [k for k in changes if k not in REQUEST_EDITABLE]
    if unknown:
        raise InvalidLead(f"{', '.join(unknown)} cannot be edited.", field=unknown[0])
    values = dict(changes)
    if "reason" in values:
        values["reason"] = check_reason(values["reason"])
    diff = {k: [getattr(request, k), v] for k, v in values.items() if getattr(request, k) != v}
    if not diff:
        return request, {}
    return replace(request, **values, updated_at=now), diff
