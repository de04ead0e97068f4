"""Rules of privacy: plain Python, no framework (an import contract keeps it so).

The consent ledger, data subject requests and their due dates per clinic region, the export link's single use,
retention rules and the read audit (docs/privacy.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

PURPOSES = ("marketing", "reminders", "ai_assistant", "external_ai")
CHANNELS = ("any", "whatsapp", "sms", "email", "telegram", "instagram", "phone")
CONSENT_SOURCES = (
    "console", "web_form", "patient_page", "inbound_message", "paper", "import", "api", "stop_word", "start_word",
)  # fmt: skip
#: notifications' channel_consent.changed `how` -> the ledger entry's source: the words the person wrote on the
#: channel, or staff through notifications' opt-out API.
CHANNEL_CONSENT_SOURCES = {"stop_word": "stop_word", "start_word": "start_word", "staff": "console"}
#: The purpose a channel opt-out (or opt-in word) is recorded for.
CHANNEL_CONSENT_PURPOSE = "marketing"
#: access and export both gather an archive; correction is tracked and answered by the officer; erasure
#: anonymises through every answering service.
REQUEST_KINDS = ("access", "export", "correction", "erasure")
OPEN, IN_PROGRESS, COMPLETED, REJECTED = "open", "in_progress", "completed", "rejected"
REQUEST_STATUSES = (OPEN, IN_PROGRESS, COMPLETED, REJECTED)
PART_PENDING, PART_READY, PART_ERASED = "pending", "ready", "erased"
#: What the read audit records opening of.
RECORD_KINDS = ("lead", "patient", "anamnesis", "conversation", "recording", "appointment")
#: Kinds of data a clinic may set a retention period for (docs/privacy.md, "Retention").
RETENTION_KINDS = ("lost_leads", "recordings", "messages", "read_audit", "exports")
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 1, 36500
MAX_TEXT = 4000

#: The clinic's country -> its data residency region (the overlay under deploy/k8s/overlays/<region>).
REGION_OF_COUNTRY = {
    "BR": "br",
    "RU": "ru",
    "ES": "eu",
    "PT": "eu",
    "MX": "latam",
    "AR": "latam",
    "CO": "latam",
    "CL": "latam",
    "PE": "latam",
    "US": "us",
}
#: Days to answer a data subject request, by the law the clinic's country follows: LGPD art. 19 (15 days),
#: GDPR art. 12(3) (one month), 152-FZ art. 14 (10 working days ≈ 14 calendar days), Mexico's LFPDPPP (20 days).
RESPONSE_DAYS = {"BR": 15, "ES": 30, "PT": 30, "RU": 14, "MX": 20}
DEFAULT_RESPONSE_DAYS = 15
LAW_OF_COUNTRY = {"BR": "LGPD", "ES": "GDPR", "PT": "GDPR", "RU": "152-FZ", "MX": "LFPDPPP"}

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_E164 = re.compile(r"^\+[1-9]\d{7,14}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class PrivacyError(Exception):
    """Base of the service's errors; `field` names the offending field in the problem document."""

    field: str | None = None

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidPrivacy(PrivacyError):
    pass


class NotFound(PrivacyError):
    pass


class Conflict(PrivacyError):
    pass


class Gone(PrivacyError):
    """The export link was used already or has expired."""


class LinkInvalid(PrivacyError):
    pass


# --- identifiers -----------------------------------------------------------------------------------
def clean_phone(raw: str, *, field: str = "phone") -> str:
    """E.164 (+ and 8 to 15 digits); separators are dropped."""
    digits = re.sub(r"[\s().-]", "", raw or "")
    if not _E164.match(digits):
        raise InvalidPrivacy(f"{raw!r} is not a phone number in E.164 form (+5511987654321).", field=field)
    return digits


def clean_email(raw: str, *, field: str = "email") -> str:
    value = (raw or "").strip().lower()
    if not _EMAIL.match(value):
        raise InvalidPrivacy(f"{raw!r} is not an e-mail address.", field=field)
    return value


def clean_cpf(raw: str, *, field: str = "cpf") -> str:
    """Digits only, with the two check digits verified."""
    digits = re.sub(r"\D", "", raw or "")
    if len(digits) != 11 or digits == digits[0] * 11:
        raise InvalidPrivacy(f"{raw!r} is not a CPF.", field=field)
    for n in (9, 10):
        total = sum(int(d) * (n + 1 - i) for i, d in enumerate(digits[:n]))
        check = (total * 10) % 11 % 10
        if check != int(digits[n]):
            raise InvalidPrivacy(f"{raw!r} is not a CPF (check digit).", field=field)
    return digits


def clean_id(raw: str, *, field: str) -> str:
    if not _UUID.match(raw or ""):
        raise InvalidPrivacy(f"{raw!r} is not an id.", field=field)
    return raw.lower()


def clean_text(raw: str | None, *, field: str, required: bool = False) -> str | None:
    value = (raw or "").strip()
    if not value:
        if required:
            raise InvalidPrivacy(f"{field} must not be empty.", field=field)
        return None
    if len(value) > MAX_TEXT:
        raise InvalidPrivacy(f"{field} has at most {MAX_TEXT} characters.", field=field)
    return value


def one_of(value: str, allowed: tuple[str, ...], *, field: str) -> str:
    if value not in allowed:
        raise InvalidPrivacy(f"{field} is one of {', '.join(allowed)}, not {value!r}.", field=field)
    return value


@dataclass(frozen=True)
class Subject:
    """Every identifier the person is known by in the clinic."""

    lead_ids: tuple[str, ...] = ()
    patient_ids: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    cpfs: tuple[str, ...] = ()

    def empty(self) -> bool:
        return not (self.lead_ids or self.patient_ids or self.phones or self.emails or self.cpfs)

    def merged(self, other: Subject) -> Subject:
        def union(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(dict.fromkeys((*a, *b)))

        return Subject(
            union(self.lead_ids, other.lead_ids),
            union(self.patient_ids, other.patient_ids),
            union(self.phones, other.phones),
            union(self.emails, other.emails),
            union(self.cpfs, other.cpfs),
        )

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "lead_ids": list(self.lead_ids),
            "patient_ids": list(self.patient_ids),
            "phones": list(self.phones),
            "emails": list(self.emails),
            "cpfs": list(self.cpfs),
        }

    @classmethod
    def of(cls, raw: dict[str, Any]) -> Subject:
        return cls(*(tuple(raw.get(k) or ()) for k in ("lead_ids", "patient_ids", "phones", "emails", "cpfs")))


def clean_subject(
    *,
    lead_ids: list[str],
    patient_ids: list[str],
    phones: list[str],
    emails: list[str],
    cpfs: list[str],
) -> Subject:
    subject = Subject(
        tuple(dict.fromkeys(clean_id(v, field="subject.lead_ids") for v in lead_ids)),
        tuple(dict.fromkeys(clean_id(v, field="subject.patient_ids") for v in patient_ids)),
        tuple(dict.fromkeys(clean_phone(v, field="subject.phones") for v in phones)),
        tuple(dict.fromkeys(clean_email(v, field="subject.emails") for v in emails)),
        tuple(dict.fromkeys(clean_cpf(v, field="subject.cpfs") for v in cpfs)),
    )
    if subject.empty():
        raise InvalidPrivacy("Name the person by a lead id, patient id, phone, e-mail or CPF.", field="subject")
    return subject


# --- the clinic ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Clinic:
    tenant_id: str
    country: str
    region: str
    response_days: int
    updated_at: datetime

    @property
    def law(self) -> str:
        return LAW_OF_COUNTRY.get(self.country, "LGPD")


def clinic_for(tenant_id: str, country: str, now: datetime, *, response_days: int | None = None) -> Clinic:
    country = (country or "BR").upper()
    days = response_days if response_days is not None else RESPONSE_DAYS.get(country, DEFAULT_RESPONSE_DAYS)
    if not 1 <= days <= 90:
        raise InvalidPrivacy("response_days is between 1 and 90.", field="response_days")
    return Clinic(tenant_id, country, REGION_OF_COUNTRY.get(country, "br"), days, now)


def due_at(clinic: Clinic, requested_at: datetime) -> datetime:
    return requested_at + timedelta(days=clinic.response_days)


# --- consent ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Consent:
    """One ledger entry: the person gave (granted) or withdrew consent for a purpose on a channel."""

    id: str
    tenant_id: str
    person_key: str
    lead_id: str | None
    patient_id: str | None
    phone: str | None
    email: str | None
    purpose: str
    channel: str
    granted: bool
    source: str
    text: str | None
    recorded_by: str | None
    at: datetime


def person_key(lead_id: str | None, patient_id: str | None, phone: str | None, email: str | None) -> str:
    if patient_id:
        return f"patient:{patient_id}"
    if lead_id:
        return f"lead:{lead_id}"
    if phone:
        return f"phone:{phone}"
    if email:
        return f"email:{email}"
    raise InvalidPrivacy("Name the person by a lead id, patient id, phone or e-mail.", field="lead_id")


def channel_consent_entry(
    tenant_id: str,
    *,
    change_id: str,
    channel: str,
    address: str,
    opted_in: bool,
    how: str,
    text: str | None,
    lead_id: str | None,
    patient_id: str | None,
    staff_id: str | None,
    at: datetime,
) -> Consent | None:
    """The ledger entry of a channel opt-out notifications reported (docs/privacy.md, "Consent"): marketing
    withdrawn on that channel, with the words the person wrote as the text; an opt-in word gives it back. None for
    what is not the person's word on marketing: staff lifting an opt-out (the clinic records a new consent, with
    its text, in the ledger instead), an unknown channel or way, or a Telegram / Instagram sender who is no lead
    yet (nothing to key the entry by; the channel opt-out in notifications still holds)."""
    source = CHANNEL_CONSENT_SOURCES.get(how)
    if source is None or channel not in CHANNELS or channel == "any" or (opted_in and how != "start_word"):
        return None
    phone = address if channel in ("whatsapp", "sms") and _E164.match(address) else None
    email = address.lower() if channel == "email" and _EMAIL.match(address.lower()) else None
    if not (lead_id or patient_id or phone or email):
        return None
    return Consent(
        id=change_id,
        tenant_id=tenant_id,
        person_key=person_key(lead_id, patient_id, phone, email),
        lead_id=lead_id,
        patient_id=patient_id,
        phone=phone,
        email=email,
        purpose=CHANNEL_CONSENT_PURPOSE,
        channel=channel,
        granted=opted_in,
        source=source,
        text=(text or "").strip()[:2000] or None,
        recorded_by=staff_id,
        at=at,
    )


def current_consents(entries: list[Consent]) -> dict[tuple[str, str], Consent]:
    """(purpose, channel) -> the latest entry: the person's consent as it stands."""
    latest: dict[tuple[str, str], Consent] = {}
    for entry in sorted(entries, key=lambda e: (e.at, e.id)):
        latest[(entry.purpose, entry.channel)] = entry
    return latest


def allowed(entries: list[Consent], purpose: str, channel: str) -> bool | None:
    """Whether the ledger lets `purpose` on `channel`: a withdrawal on the channel or on "any" forbids it,
    a consent on either allows it; None when the person never said."""
    now = current_consents(entries)
    said = [now[k] for k in ((purpose, channel), (purpose, "any")) if k in now]
    if not said:
        return None
    return all(e.granted for e in said)


# --- subject requests ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Part:
    service: str
    status: str
    object_key: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    retained: dict[str, int] = field(default_factory=dict)
    at: datetime | None = None


@dataclass(frozen=True)
class SubjectRequest:
    id: str
    tenant_id: str
    kind: str
    status: str
    subject: Subject
    details: str | None
    corrections: dict[str, str]
    requested_by: str
    requested_at: datetime
    due_at: datetime
    completed_at: datetime | None = None
    archive_key: str | None = None
    archive_sha256: str | None = None
    resolution: str | None = None
    parts: tuple[Part, ...] = ()

    @property
    def gathers(self) -> bool:
        return self.kind in ("access", "export")

    def overdue(self, now: datetime) -> bool:
        return self.status not in (COMPLETED, REJECTED) and now > self.due_at


def clean_corrections(raw: dict[str, str]) -> dict[str, str]:
    allowed_fields = ("name", "phone", "email", "cpf", "birth_date", "city", "other")
    out: dict[str, str] = {}
    for key, value in raw.items():
        one_of(key, allowed_fields, field="corrections")
        cleaned = clean_text(value, field=f"corrections.{key}", required=True)
        assert cleaned is not None
        out[key] = cleaned
    return out


def parts_done(request: SubjectRequest, expected: tuple[str, ...]) -> bool:
    """Every answering service has answered (ready for an export, erased for an erasure)."""
    wanted = PART_READY if request.gathers else PART_ERASED
    done = {p.service for p in request.parts if p.status == wanted}
    return set(expected) <= done


def resolve(request: SubjectRequest, status: str, resolution: str | None, now: datetime) -> SubjectRequest:
    """The officer closes a request by hand: a correction done, or a request rejected (with the reason)."""
    one_of(status, (COMPLETED, REJECTED), field="status")
    if request.status in (COMPLETED, REJECTED):
        raise Conflict(f"The request is {request.status} already.", field="status")
    if status == COMPLETED and request.kind != "correction":
        raise Conflict("Exports and erasures complete when every service has answered.", field="status")
    if status == REJECTED and not resolution:
        raise InvalidPrivacy("Say why the request is rejected.", field="resolution")
    return SubjectRequest(
        **{**request.__dict__, "status": status, "resolution": resolution, "completed_at": now},
    )


# --- export links ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportLink:
    id: str
    tenant_id: str
    request_id: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


def check_link_usable(link: ExportLink | None, now: datetime) -> ExportLink:
    if link is None:
        raise LinkInvalid("This export link is not valid.")
    if link.used_at is not None:
        raise Gone("This export link was used already; ask for a new one.")
    if now >= link.expires_at:
        raise Gone("This export link has expired; ask for a new one.")
    return link


# --- retention and the read audit ------------------------------------------------------------------
@dataclass(frozen=True)
class RetentionRule:
    tenant_id: str
    kind: str
    days: int
    updated_at: datetime


def clean_retention(kind: str, days: int) -> tuple[str, int]:
    one_of(kind, RETENTION_KINDS, field="kind")
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise InvalidPrivacy(
            f"days is between {MIN_RETENTION_DAYS} and {MAX_RETENTION_DAYS}.",
            field="days",
        )
    return kind, days


@dataclass(frozen=True)
class ReadEntry:
    id: str
    tenant_id: str
    actor_id: str
    record_kind: str
    record_id: str
    purpose: str | None
    path: str
    at: datetime


# --- the key store (crypto-shredding, kit.personal) ----------------------------------------------------
_PERSON_KEY = re.compile(r"^(lead|patient|phone|email):[^\s]{1,320}$")
#: One producer's commit or one consumer's batch names at most this many people or keys.
MAX_KEYS_PER_CALL = 1000


def clean_person_keys(raw: list[str]) -> list[str]:
    if not raw or len(raw) > MAX_KEYS_PER_CALL:
        raise InvalidPrivacy(f"Name 1 to {MAX_KEYS_PER_CALL} people.", field="person_keys")
    for i, key in enumerate(raw):
        if not _PERSON_KEY.match(key):
            raise InvalidPrivacy(
                f"{key[:40]!r} is not a person key (lead:, patient:, phone: or email:).", field=f"person_keys[{i}]"
            )
    return sorted(set(raw))


def clean_key_ids(raw: list[str]) -> list[str]:
    if not raw or len(raw) > MAX_KEYS_PER_CALL:
        raise InvalidPrivacy(f"Name 1 to {MAX_KEYS_PER_CALL} keys.", field="key_ids")
    return sorted({clean_id(key_id, field=f"key_ids[{i}]") for i, key_id in enumerate(raw)})


def erased_person_keys(subject: Subject) -> list[str]:
    """Every key an erased person's data may have been sealed under (kit.personal.person_key_of)."""
    return [
        *(f"lead:{i}" for i in subject.lead_ids),
        *(f"patient:{i}" for i in subject.patient_ids),
        *(f"phone:{p}" for p in subject.phones),
        *(f"email:{e}" for e in subject.emails),
    ]
