"""Use cases of telephony: one unit of work each; events leave through the outbox (`uow.publish`)."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from contracts import EventMeta
from contracts.claims import DEFAULT_COUNTRY, DEFAULT_TIMEZONE
from contracts.leads import LeadCreatedV1, LeadDeletedV1, LeadUpdatedV1
from contracts.telephony import CallAnsweredV1, CallEndedV1, CallMissedV1, CallStartedV1
from kit.auth import Principal
from kit.context import new_id
from kit.db import UnitOfWork, UnitOfWorkFactory
from kit.webhooks import Delivery, SignatureInvalid, record_receipt
from telephony.domain import (
    CallEvent,
    CallRecord,
    Conflict,
    InvalidTelephony,
    NotFound,
    TrackingNumber,
    clean_label,
    clean_source,
    due_announcements,
    fold,
    phone_variants,
    source_of,
)
from telephony.providers import ADAPTERS, Account, Inbound, e164
from telephony.repository import Card, StoredCall, TelephonyRepository


def now() -> datetime:
    return datetime.now(UTC)


def live_channel(tenant_id: str) -> str:
    """Redis pub/sub channel of a clinic's incoming calls (the console's live stream)."""
    return f"telephony:calls:{tenant_id}"


class Publisher(Protocol):
    def publish(self, channel: str, message: str) -> Awaitable[Any]: ...


# --- provider accounts and tracking numbers (clinic admins) ------------------------------------------
async def connect(
    uow: UnitOfWorkFactory, principal: Principal, provider: str, *, secret: str, api_key: str, timezone: str | None
) -> Account:
    if provider not in ADAPTERS:
        raise NotFound(f"Unknown provider {provider!r}; one of: {', '.join(ADAPTERS)}.", field="provider")
    if not secret.strip():
        raise InvalidTelephony("The secret must not be empty.", field="secret")
    if provider == "mango" and not api_key.strip():
        raise InvalidTelephony("Mango Office needs the vpbx_api_key.", field="api_key")
    account = Account(
        tenant_id=principal.tenant_id,
        provider=provider,
        secret=secret.strip(),
        api_key=api_key.strip(),
        country=principal.country or DEFAULT_COUNTRY,
        timezone=timezone or principal.timezone or DEFAULT_TIMEZONE,
    )
    async with uow() as work:
        await TelephonyRepository(work.session).save_account(account, now())
        await work.commit()
    return account


async def connections(uow: UnitOfWorkFactory, principal: Principal) -> list[tuple[str, Account | None]]:
    """Every provider the service knows, with the clinic's account for it when connected."""
    async with uow() as work:
        found = {a.provider: a for a in await TelephonyRepository(work.session).accounts(principal.tenant_id)}
    return [(provider, found.get(provider)) for provider in ADAPTERS]


async def add_number(
    uow: UnitOfWorkFactory, principal: Principal, *, number: str, source: str, label: str | None
) -> TrackingNumber:
    phone = e164(number, principal.country or DEFAULT_COUNTRY)
    if not phone or not phone.startswith("+"):
        raise InvalidTelephony("The number is not a phone number.", field="number")
    tracking = TrackingNumber(
        id=new_id(),
        tenant_id=principal.tenant_id,
        number=phone,
        source=clean_source(source),
        label=clean_label(label),
        created_at=now(),
    )
    async with uow() as work:
        if not await TelephonyRepository(work.session).add_number(tracking):
            raise Conflict(f"{phone} is a tracking number of this clinic already.", field="number")
        await work.commit()
    return tracking


async def list_numbers(uow: UnitOfWorkFactory, principal: Principal) -> list[TrackingNumber]:
    async with uow() as work:
        return await TelephonyRepository(work.session).numbers(principal.tenant_id)


async def remove_number(uow: UnitOfWorkFactory, principal: Principal, number_id: str) -> None:
    async with uow() as work:
        if not await TelephonyRepository(work.session).remove_number(principal.tenant_id, number_id):
            raise NotFound(f"No tracking number {number_id} in this clinic.")
        await work.commit()


# --- webhook ingress ------------------------------------------------------------------------
@dataclass(frozen=True)
class Handled:
    outcome: str  # applied | duplicate | ignored
    call_ids: list[str]


async def receive(
    uow: UnitOfWorkFactory,
    live: Publisher | None,
    *,
    provider: str,
    tenant_id: str,
    request: Inbound,
) -> Handled:
    """Verify with the clinic's secret (401, nothing stored), store the delivery once, fold each call."""
    adapter = ADAPTERS.get(provider)
    if adapter is None:
        raise NotFound(f"Unknown provider {provider!r}; one of: {', '.join(ADAPTERS)}.", field="provider")
    async with uow() as work:
        repo = TelephonyRepository(work.session)
        account = await repo.account(tenant_id, provider)
        if account is None:
            raise SignatureInvalid(f"This clinic has not connected {provider}.", field="clinic")
        adapter.verify(account, request)
        events = adapter.parse(account, request)
        event_id = ",".join(e.event_id for e in events) or hashlib.sha256(request.body).hexdigest()
        delivery = Delivery(body=request.body, headers=dict(request.headers), received_at=request.received_at)
        if not await record_receipt(work.session, delivery, provider=provider, scope=tenant_id, event_id=event_id):
            return Handled("duplicate", [])
        if not events:
            await work.commit()
            return Handled("ignored", [])
        by_call: dict[str, list[CallEvent]] = defaultdict(list)
        for e in events:
            by_call[e.provider_call_id].append(e)
        numbers = await repo.numbers(tenant_id)
        started: list[dict[str, Any]] = []
        ids = []
        for provider_call_id, new in by_call.items():
            call_id, card = await _apply(work, repo, tenant_id, provider, provider_call_id, new, numbers)
            ids.append(call_id)
            if card is not None:
                started.append(card)
        await work.commit()
    if live is not None:
        for card in started:
            await live.publish(live_channel(tenant_id), json.dumps(card))
    return Handled("applied", ids)


async def _apply(
    work: UnitOfWork,
    repo: TelephonyRepository,
    tenant_id: str,
    provider: str,
    provider_call_id: str,
    new: list[CallEvent],
    numbers: list[TrackingNumber],
) -> tuple[str, dict[str, Any] | None]:
    stored = await repo.lock_call(tenant_id, provider, provider_call_id)
    if stored is None:
        call_id, events, announced, lead_id = new_id(), list(new), [], None
    else:
        call_id, events, announced, lead_id = stored.id, [*stored.events, *new], stored.announced, stored.lead_id
    record = fold(events)
    source = source_of(record.tracking_number, numbers) if record.direction == "inbound" else None
    if lead_id is None and record.caller:
        contact = await repo.contact(tenant_id, phone_variants(record.caller))
        lead_id = contact.lead_id if contact else None
    due = due_announcements(record, announced)
    for name in due:
        work.publish(_event(name, call_id, record, source, lead_id), tenant_id=tenant_id)
    await repo.save_call(
        call_id,
        tenant_id,
        record,
        events=events,
        announced=[*announced, *due],
        source=source,
        lead_id=lead_id,
        at=now(),
    )
    if "started" not in due or record.direction != "inbound":
        return call_id, None
    contact = await repo.contact(tenant_id, phone_variants(record.caller)) if record.caller else None
    return call_id, {
        "id": call_id,
        "caller": record.caller,
        "tracking_number": record.tracking_number,
        "source": source,
        "state": record.state,
        "started_at": record.started_at.isoformat(),
        "contact": {"lead_id": contact.lead_id, "name": contact.name} if contact else None,
        "new_caller": contact is None,
    }


def _event(
    name: str, call_id: str, r: CallRecord, source: str | None, lead_id: str | None
) -> CallStartedV1 | CallAnsweredV1 | CallEndedV1 | CallMissedV1:
    common: dict[str, Any] = {
        "call_id": call_id,
        "provider": r.provider,
        "provider_call_id": r.provider_call_id,
        "direction": r.direction,
        "caller": r.caller,
        "tracking_number": r.tracking_number,
        "source": source,
        "lead_id": lead_id,
        "started_at": r.started_at,
    }
    if name == "started":
        return CallStartedV1(**common)
    if name == "answered":
        assert r.answered_at is not None
        return CallAnsweredV1(**common, answered_at=r.answered_at)
    assert r.ended_at is not None
    assert r.disposition is not None
    if name == "ended":
        return CallEndedV1(
            **common,
            disposition=r.disposition,
            answered_at=r.answered_at,
            ended_at=r.ended_at,
            talk_seconds=r.talk_seconds,
            duration_seconds=r.duration_seconds,
            recording_ref=r.recording_ref,
        )
    return CallMissedV1(**common, disposition=r.disposition, ended_at=r.ended_at, duration_seconds=r.duration_seconds)


# --- call cards -----------------------------------------------------------------------------


async def list_calls(
    uow: UnitOfWorkFactory,
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
        return await TelephonyRepository(work.session).page(
            principal.tenant_id, disposition=disposition, state=state, caller=phone, limit=limit, offset=offset
        )


async def card(uow: UnitOfWorkFactory, principal: Principal, call_id: str) -> Card:
    async with uow() as work:
        repo = TelephonyRepository(work.session)
        found = await repo.call(principal.tenant_id, call_id)
        if found is None:
            raise NotFound(f"No call {call_id} in this clinic.")
        caller = found.record.caller
        contact = await repo.contact(principal.tenant_id, phone_variants(caller)) if caller else None
        return Card(found, contact)


# --- the leads read model (worker) -------------------------------------------------------------
async def remember_lead(uow: UnitOfWork, event: LeadCreatedV1 | LeadUpdatedV1, meta: EventMeta) -> None:
    """lead.created / lead.updated -> phone -> (lead, name); an older event never overwrites a newer one."""
    if not event.phone:
        return
    at = event.created_at if isinstance(event, LeadCreatedV1) else event.updated_at
    await TelephonyRepository(uow.session).remember_contact(meta.tenant_id, event.phone, event.lead_id, event.name, at)


async def forget_lead(uow: UnitOfWork, event: LeadDeletedV1, meta: EventMeta) -> None:
    await TelephonyRepository(uow.session).forget_lead(meta.tenant_id, event.lead_id)
