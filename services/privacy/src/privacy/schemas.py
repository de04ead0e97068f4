"""Request and response bodies of privacy (msgspec)."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import msgspec

from privacy.domain import Clinic, Consent, Part, ReadEntry, RetentionRule, SubjectRequest


class ConsentIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    #: marketing, reminders, ai_assistant, external_ai.
    purpose: str
    #: any, whatsapp, sms, email, telegram, instagram, phone.
    channel: str = "any"
    #: console, web_form, patient_page, inbound_message, paper, import, api.
    source: str = "console"
    lead_id: str | None = None
    patient_id: str | None = None
    phone: str | None = None
    email: str | None = None
    #: The text the person agreed to (required when giving consent).
    text: str | None = None


class ConsentOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
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

    @classmethod
    def of(cls, c: Consent) -> ConsentOut:
        return cls(
            id=c.id,
            person_key=c.person_key,
            lead_id=c.lead_id,
            patient_id=c.patient_id,
            phone=c.phone,
            email=c.email,
            purpose=c.purpose,
            channel=c.channel,
            granted=c.granted,
            source=c.source,
            text=c.text,
            recorded_by=c.recorded_by,
            at=c.at,
        )


class PersonConsentOut(msgspec.Struct, frozen=True, kw_only=True):
    person_key: str
    #: The consent as it stands, one entry per purpose and channel (the latest).
    current: list[ConsentOut]
    #: Every entry, oldest first: the proof of when, how and to what text.
    history: list[ConsentOut]


class SubjectIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    lead_ids: list[str] = []
    patient_ids: list[str] = []
    phones: list[str] = []
    emails: list[str] = []
    cpfs: list[str] = []


class RequestIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    #: access, export, correction, erasure.
    kind: str
    subject: SubjectIn
    details: str | None = None
    #: correction: field -> the right value (name, phone, email, cpf, birth_date, city, other).
    corrections: dict[str, str] = {}


class ResolveIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    #: completed (a correction made) or rejected (with the reason).
    status: str
    resolution: str | None = None


class PartOut(msgspec.Struct, frozen=True, kw_only=True):
    service: str
    #: pending, ready (its export part is in), erased.
    status: str
    counts: dict[str, int]
    #: What the service keeps by law (erasure), by kind of data.
    retained: dict[str, int]
    at: datetime | None

    @classmethod
    def of(cls, p: Part) -> PartOut:
        return cls(service=p.service, status=p.status, counts=p.counts, retained=p.retained, at=p.at)


class RequestOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    kind: str
    status: str
    subject: dict[str, list[str]]
    details: str | None
    corrections: dict[str, str]
    requested_by: str
    requested_at: datetime
    due_at: datetime
    overdue: bool
    completed_at: datetime | None
    resolution: str | None
    #: access / export: the archive is ready to download (POST .../link).
    archive_ready: bool
    archive_sha256: str | None
    parts: list[PartOut]

    @classmethod
    def of(cls, r: SubjectRequest, now: datetime) -> RequestOut:
        return cls(
            id=r.id,
            kind=r.kind,
            status=r.status,
            subject=r.subject.as_dict(),
            details=r.details,
            corrections=r.corrections,
            requested_by=r.requested_by,
            requested_at=r.requested_at,
            due_at=r.due_at,
            overdue=r.overdue(now),
            completed_at=r.completed_at,
            resolution=r.resolution,
            archive_ready=r.archive_key is not None,
            archive_sha256=r.archive_sha256,
            parts=[PartOut.of(p) for p in r.parts],
        )


class ExportLinkOut(msgspec.Struct, frozen=True, kw_only=True):
    #: Opens the archive once, until expires_at, without a token (hand it to the person).
    url: str
    expires_at: datetime


class ClinicIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    country: str | None = None
    response_days: int | None = None


class ClinicOut(msgspec.Struct, frozen=True, kw_only=True):
    country: str
    #: Where the clinic's data lives (deploy/k8s/overlays/<region>).
    region: str
    law: str
    response_days: int

    @classmethod
    def of(cls, c: Clinic) -> ClinicOut:
        return cls(country=c.country, region=c.region, law=c.law, response_days=c.response_days)


class ReadIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    record_kind: str
    record_id: str
    purpose: str | None = None
    path: str


class ReadOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    actor_id: str
    record_kind: str
    record_id: str
    purpose: str | None
    path: str
    at: datetime

    @classmethod
    def of(cls, e: ReadEntry) -> ReadOut:
        return cls(
            id=e.id,
            actor_id=e.actor_id,
            record_kind=e.record_kind,
            record_id=e.record_id,
            purpose=e.purpose,
            path=e.path,
            at=e.at,
        )


class RetentionIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    days: int


class RetentionOut(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    days: int
    updated_at: datetime

    @classmethod
    def of(cls, r: RetentionRule) -> RetentionOut:
        return cls(kind=r.kind, days=r.days, updated_at=r.updated_at)


class RetentionList(msgspec.Struct, frozen=True):
    items: list[RetentionOut]


class RetentionRunOut(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    removed: int
    cutoff: datetime
    at: datetime

    @classmethod
    def of(cls, row: dict[str, Any]) -> RetentionRunOut:
        return cls(kind=row["kind"], removed=row["removed"], cutoff=row["cutoff"], at=row["at"])


# --- the key store (internal: services only, never routed by the gateway) -----------------------------------
class EnsureKeysIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    tenant_id: str
    #: lead:<id>, patient:<id>, phone:<E.164>, email:<address>.
    person_keys: list[str]


class UnwrapKeysIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    tenant_id: str
    key_ids: list[str]


class KeyOut(msgspec.Struct, frozen=True, kw_only=True):
    key_id: str
    #: The 256-bit data key, base64url.
    key: str


class EnsuredKeysOut(msgspec.Struct, frozen=True, kw_only=True):
    keys: dict[str, KeyOut]

    @classmethod
    def of(cls, keys: dict[str, tuple[str, bytes]]) -> EnsuredKeysOut:
        return cls(keys={person: KeyOut(key_id=kid, key=_b64(key)) for person, (kid, key) in keys.items()})


class UnwrappedKeysOut(msgspec.Struct, frozen=True, kw_only=True):
    #: None: shredded (the person was erased), or not this clinic's.
    keys: dict[str, str | None]

    @classmethod
    def of(cls, keys: dict[str, bytes | None]) -> UnwrappedKeysOut:
        return cls(keys={kid: (_b64(key) if key else None) for kid, key in keys.items()})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
