"""HTTP bodies for leads, requests, status changes, audit and metrics."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import msgspec

from kit.inputs import Uuid
from leads.domain.leads import AuditEntry, Lead, LeadRequest, StatusChange
from leads.domain.queries import Metrics

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, examples=["Maria Souza"])]
Phone = Annotated[str, msgspec.Meta(min_length=3, max_length=40, examples=["(11) 98765-4321"])]
Text2000 = Annotated[str, msgspec.Meta(max_length=2000)]
Slug = Annotated[str, msgspec.Meta(max_length=63)]
UNSET = msgspec.UNSET
UnsetType = msgspec.UnsetType


class LeadIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Name
    #: One phone (`phone`) or several (`phones`, the first is the main one).
    phone: Phone | None = None
    phones: list[Phone] | None = None
    source: Annotated[str, msgspec.Meta(examples=["instagram"])]
    email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    cpf: Annotated[str, msgspec.Meta(max_length=20, examples=["111.444.777-35"])] | None = None
    birth_date: date | None = None
    city: Annotated[str, msgspec.Meta(max_length=120)] | None = None
    locale: Annotated[str, msgspec.Meta(examples=["pt-BR"])] | None = None
    urgency: Annotated[str, msgspec.Meta(examples=["normal"])] = "normal"
    #: Where the front desk already is with the person; default PENDING_CONTACT (the history starts with it).
    status: Annotated[str, msgspec.Meta(max_length=40, examples=["CONTACTED_CALL_LATER"])] | None = None
    owner_id: Uuid | None = None
    next_follow_up: date | None = None
    notes: Annotated[str, msgspec.Meta(max_length=10_000)] | None = None
    consents: dict[str, bool] = {}
    #: The first request: what they asked about.
    treatment: Slug | None = None
    group: Slug | None = None
    channel: Slug | None = None
    reason: Text2000 | None = None

    def all_phones(self) -> list[str]:
        return [*([self.phone] if self.phone else []), *(self.phones or [])]


class LeadPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Only the fields sent change; send null to clear an optional one."""

    name: Name | UnsetType = UNSET
    phones: list[Phone] | UnsetType = UNSET
    email: str | UnsetType | None = UNSET
    cpf: str | UnsetType | None = UNSET
    birth_date: date | UnsetType | None = UNSET
    city: str | UnsetType | None = UNSET
    locale: str | UnsetType | None = UNSET
    source: str | UnsetType = UNSET
    urgency: str | UnsetType = UNSET
    next_follow_up: date | UnsetType | None = UNSET
    notes: str | UnsetType | None = UNSET
    consents: dict[str, bool] | UnsetType = UNSET

    def changes(self) -> dict[str, Any]:
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET}


class StatusIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    status: Annotated[str, msgspec.Meta(examples=["CONTACTED_CALL_LATER"])]
    comment: Text2000 | None = None


class AssignIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    #: The staff member (user id) who now owns the lead; null takes it away.
    owner_id: Uuid | None


class LeadOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    phone: str
    phones: list[str]
    email: str | None
    cpf: str | None
    birth_date: date | None
    city: str | None
    source: str
    locale: str | None
    status: str
    urgency: str
    owner_id: str | None
    next_follow_up: date | None
    notes: str | None
    consents: dict[str, bool]
    attribution: dict[str, str]
    channel: str
    patient_id: str | None
    merged_into: str | None
    created_by: str
    created_at: datetime
    updated_by: str | None
    updated_at: datetime
    #: The next appointment booked in scheduling (kept from its events); null: none.
    next_appointment_id: str | None = None
    next_appointment_at: datetime | None = None
    next_appointment_procedure: str | None = None
    next_appointment_branch: str | None = None
    #: Where the person is reached without a phone: {"telegram": chat id, "instagram": user id} (from the
    #: messages the lead was made from); empty for most leads.
    contacts: dict[str, str] = {}

    @classmethod
    def of(cls, lead: Lead) -> LeadOut:
        return cls(
            id=lead.id,
            name=lead.name,
            phone=lead.phone,
            phones=list(lead.phones),
            email=lead.email,
            cpf=lead.cpf,
            birth_date=lead.birth_date,
            city=lead.city,
            source=lead.source,
            locale=lead.locale,
            status=lead.status,
            urgency=lead.urgency,
            owner_id=lead.owner_id,
            next_follow_up=lead.next_follow_up,
            notes=lead.notes,
            consents=dict(lead.consents),
            attribution=dict(lead.attribution),
            channel=lead.channel,
            patient_id=lead.patient_id,
            merged_into=lead.merged_into,
            created_by=lead.created_by,
            created_at=lead.created_at,
            updated_by=lead.updated_by,
            updated_at=lead.updated_at,
            next_appointment_id=lead.next_appointment_id,
            next_appointment_at=lead.next_appointment_at,
            next_appointment_procedure=lead.next_appointment_procedure,
            next_appointment_branch=lead.next_appointment_branch,
            contacts=dict(lead.contacts),
        )


class LeadPage(msgspec.Struct, frozen=True, kw_only=True):
    items: list[LeadOut]
    #: Exact up to 1,000; `total_capped` says there are more.
    total: int
    total_capped: bool
    limit: int
    offset: int


class StatusChangeOut(msgspec.Struct, frozen=True, kw_only=True):
    from_status: str | None
    to_status: str
    comment: str | None
    changed_by: str
    changed_at: datetime

    @classmethod
    def of(cls, c: StatusChange) -> StatusChangeOut:
        return cls(
            from_status=c.from_status,
            to_status=c.to_status,
            comment=c.comment,
            changed_by=c.changed_by,
            changed_at=c.changed_at,
        )


class AuditOut(msgspec.Struct, frozen=True, kw_only=True):
    entity: str
    entity_id: str
    action: str
    actor_id: str | None
    at: datetime
    changes: dict[str, Any]

    @classmethod
    def of(cls, e: AuditEntry) -> AuditOut:
        return cls(
            entity=e.entity, entity_id=e.entity_id, action=e.action, actor_id=e.actor_id, at=e.at, changes=e.changes
        )


class MetricsOut(msgspec.Struct, frozen=True, kw_only=True):
    period_from: date
    period_to: date
    total: int
    high_urgency: int
    follow_ups_today: int
    follow_ups_overdue: int
    by_status: dict[str, int]
    by_source: dict[str, int]

    @classmethod
    def of(cls, m: Metrics) -> MetricsOut:
        return cls(
            period_from=m.period_from,
            period_to=m.period_to,
            total=m.total,
            high_urgency=m.high_urgency,
            follow_ups_today=m.follow_ups_today,
            follow_ups_overdue=m.follow_ups_overdue,
            by_status=m.by_status,
            by_source=m.by_source,
        )


class RequestIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    treatment: Slug | None = None
    group: Slug | None = None
    channel: Slug | None = None
    reason: Text2000 | None = None
    status: Slug | None = None


class RequestPatch(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    treatment: Slug | UnsetType | None = UNSET
    group: Slug | UnsetType | None = UNSET
    channel: Slug | UnsetType | None = UNSET
    reason: Text2000 | UnsetType | None = UNSET
    handled: bool | UnsetType = UNSET
    status: Slug | UnsetType | None = UNSET

    def changes(self) -> dict[str, Any]:
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET}


class RequestOut(msgspec.Struct, frozen=True, kw_only=True):
    id: str
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

    @classmethod
    def of(cls, r: LeadRequest) -> RequestOut:
        return cls(
            id=r.id,
            lead_id=r.lead_id,
            treatment=r.treatment,
            group=r.group,
            channel=r.channel,
            reason=r.reason,
            handled=r.handled,
            status=r.status,
            intake=r.intake,
            created_by=r.created_by,
            created_at=r.created_at,
            updated_at=r.updated_at,
        )


class SettingsIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    dedupe_window_days: int


class SettingsOut(msgspec.Struct, frozen=True, kw_only=True):
    dedupe_window_days: int
