"""Use cases on a lead's requests."""

from __future__ import annotations

from typing import Any

from kit.auth import Principal
from leads.domain import leads as rules
from leads.domain.errors import NotFound
from leads.domain.leads import LeadRequest
from leads.services.common import audit, load_lead, now
from leads.services.leads import check_list_slug, new_request
from leads.services.work import LeadsWorkFactory


async def add(
    uow_factory: LeadsWorkFactory,
    principal: Principal,
    lead_id: str,
    *,
    treatment: str | None,
    group: str | None,
    channel: str | None,
    reason: str | None,
    status: str | None,
) -> LeadRequest:
    async with uow_factory() as uow:
        await load_lead(uow, principal.tenant_id, lead_id, for_update=True)
        request = await new_request(
            uow,
            principal.tenant_id,
            lead_id,
            actor=principal.user_id,
            treatment=treatment,
            group=group,
            channel=channel,
            reason=reason,
            intake="manual",
            status=status,
        )
        await uow.commit()
    return request


async def for_lead(uow_factory: LeadsWorkFactory, principal: Principal, lead_id: str) -> list[LeadRequest]:
    async with uow_factory() as uow:
        await load_lead(uow, principal.tenant_id, lead_id)
        return await uow.requests.for_lead(principal.tenant_id, lead_id)


async def recent(
    uow_factory: LeadsWorkFactory,
    principal: Principal,
    *,
    latest_only: bool,
    handled: bool | None,
    limit: int,
    offset: int,
) -> list[LeadRequest]:
    async with uow_factory() as uow:
        return await uow.requests.recent(
            principal.tenant_id, latest_only=latest_only, handled=handled, limit=limit, offset=offset
        )


async def update(
    uow_factory: LeadsWorkFactory, principal: Principal, lead_id: str, request_id: str, changes: dict[str, Any]
) -> LeadRequest:
    """Staff correct what the person asked about (treatment, group, channel, the reason's text, handled, the
    request status). Audited on the lead; no event: the other services read a request when it is made
    (`request.created` opens the funnel's deal, the valuation) and none follows its later corrections."""
    async with uow_factory() as uow:
        # The lead first (locked, as adding a request locks it): a deleted lead's requests are gone with it.
        await load_lead(uow, principal.tenant_id, lead_id, for_update=True)
        before = await uow.requests.get(principal.tenant_id, request_id)
        if before is None or before.lead_id != lead_id:
            raise NotFound(f"No request {request_id} on lead {lead_id}.")
        for field, kind in rules.REQUEST_LISTS.items():
            if field in changes:
                await check_list_slug(uow, principal.tenant_id, kind, field, changes[field])
        after, diff = rules.edit_request(before, changes, now=now())
        if diff:
            await uow.requests.save(after)
            await audit(
                uow,
                principal.tenant_id,
                entity="request",
                entity_id=request_id,
                lead_id=lead_id,
                action="updated",
                actor_id=principal.user_id,
                changes=diff,
                at=after.updated_at,
            )
            await uow.commit()
    return after
