"""Call cards: the clinic's calls, one call with its matched contact and recording."""

from __future__ import annotations

from contracts.claims import DEFAULT_COUNTRY
from kit.auth import Principal
from telephony.domain import NotFound, phone_variants
from telephony.providers import e164
from telephony.repository import Card, StoredCall
from telephony.services.work import TelephonyWorkFactory


async def list_calls(
    uow: TelephonyWorkFactory,
    principal: Principal,
    *,
    disposition: str | None,
    state: str | None,
    caller: str | None,
    limit: int,
    offset: int,
) -> tuple[list[StoredCall], int]:
    phone = e164(caller, principal.country or DEFAULT_COUNTRY) if caller else None
    async with uow() as work:
        return await work.calls.page(
            principal.tenant_id, disposition=disposition, state=state, caller=phone, limit=limit, offset=offset
        )


async def card(uow: TelephonyWorkFactory, principal: Principal, call_id: str) -> Card:
    async with uow() as work:
        found = await work.calls.call(principal.tenant_id, call_id)
        if found is None:
            raise NotFound(f"No call {call_id} in this clinic.")
        caller = found.record.caller
        contact = await work.contacts.contact(principal.tenant_id, phone_variants(caller)) if caller else None
        recording = await work.recordings.of_call(principal.tenant_id, call_id)
        return Card(found, contact, recording)
