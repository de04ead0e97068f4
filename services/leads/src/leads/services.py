"""Use cases: one unit of work each; state and events commit together."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from contracts.leads import LeadCreatedV1
from kit.auth import Principal
from kit.context import new_id
from kit.db import UnitOfWorkFactory
from leads import phones
from leads.domain import Lead, LeadNotFound, new_lead
from leads.repository import LeadRepository


class NewLead(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    phone: str
    source: str
    email: str | None = None
    locale: str | None = None


async def create_lead(uow_factory: UnitOfWorkFactory, principal: Principal, command: NewLead) -> Lead:
    lead = new_lead(
        lead_id=new_id(),
        tenant_id=principal.tenant_id,
        name=command.name,
        phone_e164=phones.to_e164(command.phone, principal.country),
        email=command.email,
        source=command.source,
        locale=command.locale or principal.locale,
        created_by=principal.user_id,
        now=datetime.now(UTC),
    )
    async with uow_factory() as uow:
        await LeadRepository(uow.session).add(lead)
        uow.publish(
            LeadCreatedV1(
                lead_id=lead.id,
                name=lead.name,
                phone=lead.phone,
                email=lead.email,
                source=lead.source,
                locale=lead.locale,
                created_at=lead.created_at,
            ),
            tenant_id=lead.tenant_id,
        )
        await uow.commit()
    return lead


async def get_lead(uow_factory: UnitOfWorkFactory, principal: Principal, lead_id: str) -> Lead:
    async with uow_factory() as uow:
        lead = await LeadRepository(uow.session).get(principal.tenant_id, lead_id)
    if lead is None:
        raise LeadNotFound(f"No lead {lead_id} in this clinic.")
    return lead


async def list_leads(
    uow_factory: UnitOfWorkFactory, principal: Principal, *, limit: int, offset: int
) -> tuple[list[Lead], int]:
    async with uow_factory() as uow:
        return await LeadRepository(uow.session).page(principal.tenant_id, limit=limit, offset=offset)
