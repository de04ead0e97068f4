"""Reading leads: one lead, the list (filters in the clinic's days, free text), status history, the audit
trail, metrics."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from kit.auth import Principal
from leads import phones
from leads.domain import queries
from leads.domain.errors import InvalidLead
from leads.domain.leads import AuditEntry, Lead, StatusChange
from leads.domain.queries import LeadQuery, Metrics
from leads.services.common import clinic_day_start, clinic_today, load_lead
from leads.services.work import LeadsWorkFactory


@dataclass(frozen=True)
class LeadList:
    items: list[Lead]
    #: Counted up to queries.TOTAL_CAP; `capped` says the real number is higher.
    total: int
    capped: bool


async def get_lead(uow_factory: LeadsWorkFactory, principal: Principal, lead_id: str) -> Lead:
    async with uow_factory() as uow:
        return await load_lead(uow, principal.tenant_id, lead_id)


def clinic_query(
    principal: Principal, query: LeadQuery, *, created_from: date | None, created_to: date | None, follow_up: str | None
) -> LeadQuery:
    """Clinic days to instants (both ends inclusive) and `follow_up=today|overdue` to dates, in the clinic's zone."""
    changes: dict[str, Any] = {
        "created_from": clinic_day_start(created_from, principal.timezone) if created_from else None,
        "created_to": clinic_day_start(created_to + timedelta(days=1), principal.timezone) if created_to else None,
        **queries.follow_up_days(follow_up, clinic_today(principal)),
    }
    return replace(query, **changes)


async def list_leads(
    uow_factory: LeadsWorkFactory, principal: Principal, query: LeadQuery, text: str | None = None
) -> LeadList:
    if text:
        found = queries.classify_text(text)
        phone = None
        if found.phone_digits:
            try:
                phone = phones.to_e164(text, principal.country)
            except InvalidLead:
                phone = "+" + found.phone_digits
        query = queries.with_text(query, found, phone=phone)
    queries.check_query(query)
    async with uow_factory() as uow:
        items, total = await uow.leads.page(principal.tenant_id, query)
    shown, capped = queries.capped(total)
    return LeadList(items, shown, capped)


async def status_history(uow_factory: LeadsWorkFactory, principal: Principal, lead_id: str) -> list[StatusChange]:
    async with uow_factory() as uow:
        await load_lead(uow, principal.tenant_id, lead_id)
        return await uow.leads.status_history(principal.tenant_id, lead_id)


async def audit_trail(
    uow_factory: LeadsWorkFactory, principal: Principal, lead_id: str, *, limit: int, offset: int
) -> list[AuditEntry]:
    async with uow_factory() as uow:
        await load_lead(uow, principal.tenant_id, lead_id, include_deleted=True)
        return await uow.audit.trail(principal.tenant_id, lead_id, limit=limit, offset=offset)


async def metrics(
    uow_factory: LeadsWorkFactory, principal: Principal, day_from: date | None, day_to: date | None
) -> Metrics:
    today = clinic_today(principal)
    day_from, day_to = queries.metrics_period(day_from, day_to, today)
    async with uow_factory() as uow:
        return await uow.leads.metrics(principal.tenant_id, day_from, day_to, today)
