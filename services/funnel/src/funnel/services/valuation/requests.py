"""A valuation opened by a lead's request (docs/quotes.md, "Opened by a request"), and the clinic's setting for it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from contracts import Event, EventMeta
from contracts.leads import LeadAssignedV1, LeadCreatedV1, LeadUpdatedV1, RequestCreatedV1
from contracts.quotes import ValuationOpenedV1
from funnel.clock import Clock
from funnel.domain import InvalidFunnel
from funnel.domain import valuation as rules
from funnel.repository.valuation import ValuationRepository
from funnel.services.valuation.common import Env, Links, _active_staff, _base, _columns, _photos_url
from funnel.services.work import FunnelWork
from kit import context
from kit.auth import Principal

log = logging.getLogger(__name__)


# --- opened by a lead's request ------------------------------------------------------------------
async def handle_lead(uow: FunnelWork, event: Event, meta: EventMeta, *, clock: Clock, links: Links) -> None:
    """leads' events: keep the lead's contact copy; a request for a treatment the clinic says needs a valuation
    opens the process by itself (the photo link goes out as for one staff opened), once per request."""
    repo = uow.valuation
    tenant, now = meta.tenant_id, clock()
    if isinstance(event, LeadCreatedV1 | LeadUpdatedV1):
        known: dict[str, Any] = {
            "name": event.name, "phone": _phone_of(event.phone),
            "email": event.email, "locale": event.locale, "updated_at": now,
        }  # fmt: skip
        if isinstance(event, LeadCreatedV1):
            known["owner_id"] = event.owner_id
        await repo.put_lead(tenant, event.lead_id, **known)
        return
    if isinstance(event, LeadAssignedV1):
        await repo.set_lead_owner(tenant, event.lead_id, event.owner_id, now)
        return
    assert isinstance(event, RequestCreatedV1)
    await _open_for_request(uow, repo, links, tenant, event, now)


def _phone_of(raw: str) -> str | None:
    """leads' E.164 phone ("" for a lead known only on Telegram or Instagram)."""
    try:
        return rules.clean_phone(raw)
    except InvalidFunnel:
        return None


async def _open_for_request(
    work: FunnelWork, repo: ValuationRepository, links_: Links, tenant: str, event: RequestCreatedV1, now: datetime
) -> None:
    config = await repo.settings(tenant)
    rule = None if config is None else rules.RequestRule(frozenset(config.treatments), config.agent_id)
    lead = await repo.lead(tenant, event.lead_id)
    prospect = None if lead is None else rules.Prospect(lead.name, lead.phone, lead.email, lead.locale, lead.owner_id)
    has_open = await repo.open_of_lead(tenant, event.lead_id) is not None
    verdict = rules.on_request(rule, event.treatment, prospect, has_open=has_open)
    if verdict != rules.OPEN:
        if verdict != rules.NOT_NEEDED:
            log.info("request %s (%s) opens no valuation: %s", event.request_id, event.treatment, verdict)
        return
    assert rule is not None
    assert prospect is not None
    agent = prospect.owner_id or rule.agent_id
    valuation_id = context.new_id()
    p = rules.opened(now)
    added = await repo.add_for_request(
        id=valuation_id, tenant_id=tenant, lead_id=event.lead_id, name=prospect.name, phone=prospect.phone,
        email=prospect.email, locale=prospect.locale, agent_id=agent, created_by=rules.SYSTEM, created_at=now,
        updated_at=now, request_id=event.request_id, **_columns(p),
    )  # fmt: skip
    if not added:
        return  # this request opened one before (a duplicate event)
    row = await repo.get(tenant, valuation_id)
    url = _photos_url(links_, row)
    if agent is not None:
        await repo.ensure_digest(tenant, agent, now + rules.DIGEST_EVERY)
    why = f"opened by the lead's request ({event.treatment})"
    await repo.log(tenant, valuation_id, now, "opened", rules.SYSTEM, why)
    work.publish(
        ValuationOpenedV1(
            **_base(row), lead_id=event.lead_id, photos_required=rules.PHOTOS_REQUIRED, upload_url=url,
            opened_by=rules.SYSTEM, opened_at=now,
        ),
        tenant_id=tenant,
    )  # fmt: skip


async def request_settings(env: Env, principal: Principal) -> dict[str, Any]:
    async with env.uow() as work:
        row = await work.valuation.settings(principal.tenant_id)
    if row is None:
        return {"treatments": [], "agent_id": None, "updated_at": None}
    return {"treatments": list(row.treatments), "agent_id": row.agent_id, "updated_at": row.updated_at}


async def put_request_settings(
    env: Env, principal: Principal, *, treatments: list[str], agent_id: str | None
) -> dict[str, Any]:
    """Which of the leads' treatments open a valuation by themselves, and the agent of a lead with no owner."""
    chosen = rules.clean_treatments(treatments)
    now = env.clock()
    async with env.uow() as work:
        repo = work.valuation
        if agent_id is not None:
            await _active_staff(repo, principal.tenant_id, agent_id, "agent_id")
        await repo.put_settings(
            principal.tenant_id, treatments=list(chosen), agent_id=agent_id, updated_by=principal.user_id,
            updated_at=now,
        )  # fmt: skip
        await work.commit()
    return {"treatments": list(chosen), "agent_id": agent_id, "updated_at": now}
