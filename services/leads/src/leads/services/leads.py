"""Use cases on leads: create, read, list, edit, status, assignment, deletion, audit, metrics."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import msgspec

from contracts.leads import (
    LeadAssignedV1,
    LeadCreatedV1,
    LeadDeletedV1,
    LeadStatusChangedV1,
    LeadUpdatedV1,
    RequestCreatedV1,
)
from kit.auth import Principal
from kit.context import new_id
from kit.db import UnitOfWork, UnitOfWorkFactory
from leads import documents, phones
from leads.domain import leads as rules
from leads.domain import matching
from leads.domain.errors import DuplicateLead, InvalidLead, LeadNotFound
from leads.domain.leads import AuditEntry, Lead, LeadRequest, StatusChange
from leads.domain.queries import LeadQuery, Metrics, check_query, classify_text
from leads.repository import AuditRepository, LeadRepository, ListRepository, RequestRepository
from leads.services import staff
from leads.services.common import (
    audit,
    clinic_day,
    clinic_day_start,
    clinic_today,
    dedupe_window_days,
    forget_clinic,
    labels,
    now,
    sources,
)

ON_DUPLICATE = ("reject", "add_request", "create")


class NewLead(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    phones: list[str]
    source: str
    email: str | None = None
    cpf: str | None = None
    birth_date: date | None = None
    city: str | None = None
    locale: str | None = None
    urgency: str = "normal"
    #: The initial status; None: PENDING_CONTACT.
    status: str | None = None
    owner_id: str | None = None
    next_follow_up: date | None = None
    notes: str | None = None
    consents: dict[str, bool] = {}
    attribution: dict[str, str] = {}
    #: What they asked about, recorded as the lead's first request.
    treatment: str | None = None
    group: str | None = None
    request_channel: str | None = None
    reason: str | None = None


class Created(msgspec.Struct, frozen=True, kw_only=True):
    lead: Lead
    request: LeadRequest | None
    #: True when the person already had an open lead and the intake became a request on it.
    existing: bool


def _candidate(lead: Lead) -> matching.Candidate:
    return matching.Candidate(
        kind="lead",
        id=lead.id,
        name=lead.name,
        phones=lead.phones,
        email=lead.email,
        cpf=lead.cpf,
        status=lead.status,
        is_open=lead.is_open,
    )


def match_view(match: matching.Match) -> dict[str, object]:
    c = match.candidate
    return {
        "kind": c.kind,
        "id": c.id,
        "name": c.name,
        "status": c.status,
        "score": match.score,
        "reasons": list(match.reasons),
    }


async def check_list_slug(uow: UnitOfWork, tenant_id: str, kind: str, field: str, value: str | None) -> None:
    if value is None:
        return
    known = await labels(uow, tenant_id, kind, want=value)
    if value not in known:
        raise InvalidLead(f"Unknown {kind.replace('_', ' ')} {value!r}; use one of: {', '.join(known)}.", field=field)


async def new_request(
    uow: UnitOfWork,
    tenant_id: str,
    lead_id: str,
    *,
    actor: str | None,
    treatment: str | None,
    group: str | None,
    channel: str | None,
    reason: str | None,
    intake: str,
    status: str | None = None,
) -> LeadRequest:
    """Validate against the clinic's lists, store, audit and publish `request.created`."""
    await check_list_slug(uow, tenant_id, "treatment", "treatment", treatment)
    await check_list_slug(uow, tenant_id, "group", "group", group)
    await check_list_slug(uow, tenant_id, "channel", "channel", channel)
    await check_list_slug(uow, tenant_id, "request_status", "status", status)
    at = now()
    request = LeadRequest(
        id=new_id(),
        tenant_id=tenant_id,
        lead_id=lead_id,
        treatment=treatment,
        group=group,
        channel=channel,
        reason=rules.check_reason(reason),
        handled=False,
        status=status or "new",
        intake=intake,
        created_by=actor,
        created_at=at,
        updated_at=at,
    )
    await RequestRepository(uow.session).add(request)
    await audit(
        uow,
        tenant_id,
        entity="request",
        entity_id=request.id,
        lead_id=lead_id,
        action="created",
        actor_id=actor,
        changes={
            "treatment": treatment,
            "group": group,
            "channel": channel,
            "reason": request.reason,
            "intake": intake,
        },
        at=at,
    )
    uow.publish(
        RequestCreatedV1(
            lead_id=lead_id,
            request_id=request.id,
            treatment=treatment,
            group=group,
            channel=channel,
            reason=request.reason,
            created_at=at,
        ),
        tenant_id=tenant_id,
    )
    return request


async def intake(
    uow: UnitOfWork,
    *,
    tenant_id: str,
    actor: str,
    country: str,
    timezone: str,
    data: NewLead,
    channel: str,
    on_duplicate: str,
) -> Created:
    """One way in for every channel: normalise, look for the same person, then create or add a request."""
    if on_duplicate not in ON_DUPLICATE:
        raise InvalidLead(f"on_duplicate is one of: {', '.join(ON_DUPLICATE)}.", field="on_duplicate")
    all_phones = [phones.to_e164(p, country) for p in data.phones]
    email = rules.clean_email(data.email)
    cpf = documents.clean_cpf(data.cpf)
    at = now()
    repo = LeadRepository(uow.session)
    has_request = any((data.treatment, data.group, data.request_channel, data.reason))
    if on_duplicate != "create":
        window = await dedupe_window_days(uow, tenant_id)
        variants = sorted({v for p in all_phones for v in matching.phone_variants(p)})
        open_leads = await repo.open_by_contact(
            tenant_id, phones=variants, email=email, since=at - timedelta(days=window)
        )
        same = matching.duplicate_of(
            matching.Contact(data.name, tuple(all_phones), email, cpf), [_candidate(x) for x in open_leads]
        )
        if same is not None:
            if on_duplicate == "reject":
                raise DuplicateLead(
                    f"{same.candidate.name} already has an open lead ({', '.join(same.reasons)}). Send "
                    "on_duplicate=add_request to add this as a request to it, or on_duplicate=create for "
                    "a different person.",
                    [match_view(same)],
                )
            existing = await repo.get(tenant_id, same.candidate.id, for_update=True)
            assert existing is not None
            added = await new_request(
                uow,
                tenant_id,
                existing.id,
                actor=actor,
                treatment=data.treatment,
                group=data.group,
                channel=data.request_channel,
                reason=data.reason or f"New contact via {channel}",
                intake=channel,
            )
            return Created(lead=existing, request=added, existing=True)
    lead = rules.new_lead(
        lead_id=new_id(),
        tenant_id=tenant_id,
        name=data.name,
        phones=all_phones,
        email=email,
        source=data.source,
        known_sources=await sources(uow, tenant_id, want=data.source),
        locale=data.locale,
        created_by=actor,
        now=at,
        cpf=cpf,
        birth_date=data.birth_date,
        city=data.city,
        urgency=data.urgency,
        owner_id=data.owner_id,
        next_follow_up=data.next_follow_up,
        notes=data.notes,
        consents=data.consents,
        attribution=data.attribution,
        channel=channel,
        status=data.status,
    )
    await repo.add(lead, stats_day=clinic_day(at, timezone))
    await repo.add_status_change(tenant_id, StatusChange(lead.id, None, lead.status, None, actor, at))
    await audit(
        uow,
        tenant_id,
        entity="lead",
        entity_id=lead.id,
        lead_id=lead.id,
        action="created",
        actor_id=actor,
        changes={k: [None, v] for k, v in rules.auditable(lead).items() if v not in (None, [], {})},
        at=at,
    )
    uow.publish(
        LeadCreatedV1(
            lead_id=lead.id,
            name=lead.name,
            phone=lead.phone,
            email=lead.email,
            source=lead.source,
            locale=lead.locale,
            created_at=lead.created_at,
            urgency=lead.urgency,
            owner_id=lead.owner_id,
            channel=channel,
            attribution=dict(lead.attribution or {}),
        ),
        tenant_id=tenant_id,
    )
    request: LeadRequest | None = None
    if has_request:
        request = await new_request(
            uow,
            tenant_id,
            lead.id,
            actor=actor,
            treatment=data.treatment,
            group=data.group,
            channel=data.request_channel,
            reason=data.reason,
            intake=channel,
        )
    return Created(lead=lead, request=request, existing=False)


async def _audit_lead(
    uow: UnitOfWork, principal: Principal, lead_id: str, action: str, changes: dict[str, Any], *, at: datetime
) -> None:
    """A staff member's change to a lead, in its trail."""
    await audit(
        uow,
        principal.tenant_id,
        entity="lead",
        entity_id=lead_id,
        lead_id=lead_id,
        action=action,
        actor_id=principal.user_id,
        changes=changes,
        at=at,
    )


async def create_lead(
    uow_factory: UnitOfWorkFactory, principal: Principal, data: NewLead, *, on_duplicate: str = "reject"
) -> Created:
    locale = data.locale or principal.locale
    async with uow_factory() as uow:
        await staff.check_staff(uow, principal, {"owner_id": data.owner_id})
        created = await intake(
            uow,
            tenant_id=principal.tenant_id,
            actor=principal.user_id,
            country=principal.country,
            timezone=principal.timezone,
            data=replace_struct(data, locale=locale),
            channel="manual",
            on_duplicate=on_duplicate,
        )
        await uow.commit()
    return created


def replace_struct(data: NewLead, **changes: Any) -> NewLead:
    return msgspec.structs.replace(data, **changes)


async def get_lead(uow_factory: UnitOfWorkFactory, principal: Principal, lead_id: str) -> Lead:
    async with uow_factory() as uow:
        lead = await LeadRepository(uow.session).get(principal.tenant_id, lead_id)
    if lead is None:
        raise LeadNotFound(f"No lead {lead_id} in this clinic.")
    return lead


async def _load(uow: UnitOfWork, principal: Principal, lead_id: str) -> Lead:
    lead = await LeadRepository(uow.session).get(principal.tenant_id, lead_id, for_update=True)
    if lead is None:
        raise LeadNotFound(f"No lead {lead_id} in this clinic.")
    if lead.merged_into is not None:
        raise InvalidLead(f"This lead was merged into {lead.merged_into}; change that one.", field="lead_id")
    return lead


FOLLOW_UPS = ("today", "overdue")


def clinic_query(
    principal: Principal, query: LeadQuery, *, created_from: date | None, created_to: date | None, follow_up: str | None
) -> LeadQuery:
    """Clinic days to instants (both ends inclusive) and `follow_up=today|overdue` to dates, in the clinic's zone."""
    if follow_up is not None and follow_up not in FOLLOW_UPS:
        raise InvalidLead(f"follow_up is one of: {', '.join(FOLLOW_UPS)}.", field="follow_up")
    changes: dict[str, Any] = {
        "created_from": clinic_day_start(created_from, principal.timezone) if created_from else None,
        "created_to": clinic_day_start(created_to + timedelta(days=1), principal.timezone) if created_to else None,
    }
    if follow_up == "today":
        changes["follow_up_from"] = changes["follow_up_to"] = clinic_today(principal)
    elif follow_up == "overdue":
        changes["follow_up_to"] = clinic_today(principal) - timedelta(days=1)
    return replace(query, **changes)


async def list_leads(
    uow_factory: UnitOfWorkFactory, principal: Principal, query: LeadQuery, text: str | None = None
) -> tuple[list[Lead], int]:
    if text:
        found = classify_text(text)
        phone = None
        if found.phone_digits:
            try:
                phone = phones.to_e164(text, principal.country)
            except InvalidLead:
                phone = "+" + found.phone_digits
        query = replace(
            query,
            phone=phone,
            cpf=found.cpf or (found.phone_digits if found.phone_digits and len(found.phone_digits) == 11 else None),
            email=found.email,
            name=found.name,
        )
    check_query(query)
    async with uow_factory() as uow:
        return await LeadRepository(uow.session).page(principal.tenant_id, query)


async def edit_lead(
    uow_factory: UnitOfWorkFactory, principal: Principal, lead_id: str, changes: dict[str, Any]
) -> Lead:
    normalised = dict(changes)
    if "phones" in normalised:
        normalised["phones"] = [phones.to_e164(p, principal.country) for p in normalised["phones"] or []]
    if "cpf" in normalised:
        normalised["cpf"] = documents.clean_cpf(normalised["cpf"])
    if normalised.get("owner_id") is not None:
        raise InvalidLead("Change the owner with POST /api/v1/leads/{id}/assign.", field="owner_id")
    if "status" in normalised:
        raise InvalidLead("Change the status with POST /api/v1/leads/{id}/status.", field="status")
    async with uow_factory() as uow:
        before = await _load(uow, principal, lead_id)
        after, diff = rules.edit(
            before,
            normalised,
            known_sources=await sources(uow, principal.tenant_id, want=normalised.get("source")),
            actor=principal.user_id,
            now=now(),
        )
        if not diff:
            return before
        await LeadRepository(uow.session).save(before, after)
        await _audit_lead(uow, principal, lead_id, "updated", rules.audit_diff(diff), at=after.updated_at)
        uow.publish(
            LeadUpdatedV1(
                lead_id=lead_id,
                fields=sorted(diff),
                name=after.name,
                phone=after.phone,
                email=after.email,
                locale=after.locale,
                urgency=after.urgency,
                updated_by=principal.user_id,
                updated_at=after.updated_at,
            ),
            tenant_id=principal.tenant_id,
        )
        await uow.commit()
    return after


async def change_status(
    uow_factory: UnitOfWorkFactory, principal: Principal, lead_id: str, to_status: str, comment: str | None
) -> tuple[Lead, StatusChange]:
    async with uow_factory() as uow:
        before = await _load(uow, principal, lead_id)
        after, change = rules.change_status(before, to_status, comment=comment, actor=principal.user_id, now=now())
        repo = LeadRepository(uow.session)
        await repo.save(before, after)
        await repo.add_status_change(principal.tenant_id, change)
        await _audit_lead(
            uow,
            principal,
            lead_id,
            "status_changed",
            {"status": [change.from_status, change.to_status], "comment": change.comment},
            at=change.changed_at,
        )
        uow.publish(
            LeadStatusChangedV1(
                lead_id=lead_id,
                from_status=before.status,
                to_status=change.to_status,
                comment=change.comment,
                changed_by=principal.user_id,
                changed_at=change.changed_at,
            ),
            tenant_id=principal.tenant_id,
        )
        await uow.commit()
    return after, change


async def status_history(uow_factory: UnitOfWorkFactory, principal: Principal, lead_id: str) -> list[StatusChange]:
    async with uow_factory() as uow:
        if await LeadRepository(uow.session).get(principal.tenant_id, lead_id) is None:
            raise LeadNotFound(f"No lead {lead_id} in this clinic.")
        return await LeadRepository(uow.session).status_history(principal.tenant_id, lead_id)


async def assign(uow_factory: UnitOfWorkFactory, principal: Principal, lead_id: str, owner_id: str | None) -> Lead:
    async with uow_factory() as uow:
        before = await _load(uow, principal, lead_id)
        await staff.check_staff(uow, principal, {"owner_id": owner_id})
        after = rules.assign(before, owner_id, actor=principal.user_id, now=now())
        await LeadRepository(uow.session).save(before, after)
        await _audit_lead(
            uow, principal, lead_id, "assigned", {"owner_id": [before.owner_id, owner_id]}, at=after.updated_at
        )
        uow.publish(
            LeadAssignedV1(
                lead_id=lead_id,
                owner_id=owner_id,
                previous_owner_id=before.owner_id,
                assigned_by=principal.user_id,
                assigned_at=after.updated_at,
            ),
            tenant_id=principal.tenant_id,
        )
        await uow.commit()
    return after


async def delete_lead(uow_factory: UnitOfWorkFactory, principal: Principal, lead_id: str, *, confirm: bool) -> None:
    if not confirm:
        raise InvalidLead("Deleting a lead cannot be undone from the app: send confirm=true.", field="confirm")
    async with uow_factory() as uow:
        lead = await LeadRepository(uow.session).get(principal.tenant_id, lead_id, for_update=True)
        if lead is None:
            raise LeadNotFound(f"No lead {lead_id} in this clinic.")
        at = now()
        await LeadRepository(uow.session).hide(lead, deleted_at=at)
        await _audit_lead(uow, principal, lead_id, "deleted", {"before": rules.auditable(lead)}, at=at)
        uow.publish(
            LeadDeletedV1(lead_id=lead_id, deleted_by=principal.user_id, deleted_at=at), tenant_id=principal.tenant_id
        )
        await uow.commit()


async def audit_trail(
    uow_factory: UnitOfWorkFactory, principal: Principal, lead_id: str, *, limit: int, offset: int
) -> list[AuditEntry]:
    async with uow_factory() as uow:
        lead = await LeadRepository(uow.session).get(principal.tenant_id, lead_id, include_deleted=True)
        if lead is None:
            raise LeadNotFound(f"No lead {lead_id} in this clinic.")
        return await AuditRepository(uow.session).trail(principal.tenant_id, lead_id, limit=limit, offset=offset)


async def metrics(
    uow_factory: UnitOfWorkFactory, principal: Principal, day_from: date | None, day_to: date | None
) -> Metrics:
    today = clinic_today(principal)
    day_to = day_to or today
    day_from = day_from or day_to - timedelta(days=29)
    if day_from > day_to:
        raise InvalidLead("from is after to.", field="from")
    if (day_to - day_from).days > 3660:
        raise InvalidLead("A period spans at most 10 years.", field="from")
    async with uow_factory() as uow:
        return await LeadRepository(uow.session).metrics(principal.tenant_id, day_from, day_to, today)


async def set_dedupe_window(uow_factory: UnitOfWorkFactory, principal: Principal, days: int) -> int:
    if not 0 <= days <= 365:
        raise InvalidLead("The window is 0 to 365 days (0 turns matching on intake off).", field="dedupe_window_days")
    async with uow_factory() as uow:
        await ListRepository(uow.session).set_dedupe_window_days(principal.tenant_id, days)
        await audit(
            uow,
            principal.tenant_id,
            entity="settings",
            entity_id=principal.tenant_id,
            lead_id=None,
            action="updated",
            actor_id=principal.user_id,
            changes={"dedupe_window_days": [None, days]},
        )
        await uow.commit()
    forget_clinic(principal.tenant_id)
    return days


async def dedupe_window(uow_factory: UnitOfWorkFactory, principal: Principal) -> int:
    async with uow_factory() as uow:
        return await ListRepository(uow.session).dedupe_window_days(principal.tenant_id)
