"""The leads read model (worker): phone -> (lead, name), for the call card."""

from __future__ import annotations

from contracts import EventMeta
from contracts.leads import LeadCreatedV1, LeadDeletedV1, LeadUpdatedV1
from telephony.services.work import TelephonyWork


async def remember_lead(work: TelephonyWork, event: LeadCreatedV1 | LeadUpdatedV1, meta: EventMeta) -> None:
    """lead.created / lead.updated -> phone -> (lead, name); an older event never overwrites a newer one."""
    if not event.phone:
        return
    at = event.created_at if isinstance(event, LeadCreatedV1) else event.updated_at
    await work.contacts.remember_contact(meta.tenant_id, event.phone, event.lead_id, event.name, at)


async def forget_lead(work: TelephonyWork, event: LeadDeletedV1, meta: EventMeta) -> None:
    await work.contacts.forget_lead(meta.tenant_id, event.lead_id)
