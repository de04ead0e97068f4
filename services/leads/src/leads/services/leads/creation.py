"""Registering a lead: one way in for every channel (staff, forms, Tilda, calls, messages, online booking),
looking for the same person first; and a lead's requests (what they asked about)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import msgspec

from contracts.leads import LeadCreatedV1, RequestCreatedV1
from kit.auth import Principal
from kit.context import new_id
from leads import documents, phones
from leads.domain import leads as rules
from leads.domain import matching
from leads.domain.errors import DuplicateLead, InvalidLead
from leads.domain.leads import Lead, LeadRequest, StatusChange
from leads.services import staff
from leads.services.common import audit, clinic_day, dedupe_window_days, labels, now, sources
from leads.services.work import LeadsWork, LeadsWorkFactory


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
    #: Telegram / Instagram addresses ({"telegram": chat id}); with one, `phones` may be empty.
    contacts: dict[str, str] = {}
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


async def check_list_slug(uow: LeadsWork, tenant_id: str, kind: str, field: str, value: str | None) -> None:
    if value is None:
        return
    known = await labels(uow, tenant_id, kind, want=value)
    if value not in known:
        raise InvalidLead(f"Unknown {kind.replace('_', ' ')} {value!r}; use one of: {', '.join(known)}.", field=field)


async def new_request(
    uow: LeadsWork,
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
    slugs = {"treatment": treatment, "group": group, "channel": channel, "status": status}
    for field, kind in rules.REQUEST_LISTS.items():
        await check_list_slug(uow, tenant_id, kind, field, slugs[field])
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
    await uow.requests.add(request)
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
    uow: LeadsWork,
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
    rules.check_on_duplicate(on_duplicate)
    all_phones = [phones.to_e164(p, country) for p in data.phones]
    email = rules.clean_email(data.email)
    cpf = documents.clean_cpf(data.cpf)
    at = now()
    repo = uow.leads
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
        if same is None:
            same = await _same_handle(uow, tenant_id, rules.check_contacts(data.contacts))
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
        contacts=data.contacts,
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
            contacts=dict(lead.contacts),
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


async def _same_handle(uow: LeadsWork, tenant_id: str, contacts: dict[str, str]) -> matching.Match | None:
    """The open lead already reached at one of these Telegram / Instagram addresses (the same sender)."""
    for channel, address in contacts.items():
        found = await uow.leads.open_by_handle(tenant_id, channel, address)
        if found:
            return matching.Match(candidate=_candidate(found[0]), score=100, reasons=(f"same {channel}",))
    return None


async def create_lead(
    uow_factory: LeadsWorkFactory, principal: Principal, data: NewLead, *, on_duplicate: str = "reject"
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
