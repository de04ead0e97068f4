"""Webhook ingress: verify a provider's delivery, store it once, fold each call, announce what it justifies."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from contracts.telephony import CallAnsweredV1, CallEndedV1, CallMissedV1, CallStartedV1
from kit.context import new_id
from kit.db import retrying
from kit.webhooks import Delivery, SignatureInvalid, receipt_values
from telephony.domain import (
    REC_LINKED,
    REC_PENDING,
    CallEvent,
    CallRecord,
    KnownContact,
    NotFound,
    TrackingNumber,
    due_announcements,
    fold,
    phone_variants,
    source_of,
)
from telephony.provider_api import FETCHES
from telephony.providers import ADAPTERS, Inbound
from telephony.repository import CALL_KEY, StoredCall
from telephony.services.common import Publisher, live_channel, now
from telephony.services.directory import Directory
from telephony.services.work import TelephonyWork, TelephonyWorkFactory


@dataclass(frozen=True)
class Handled:
    outcome: str  # applied | duplicate | ignored
    call_ids: list[str]
    #: The provider's ids of the calls the delivery was about (Bitrix24's register answers its CALL_ID).
    provider_call_ids: list[str] = field(default_factory=list)


def is_call_race(exc: BaseException) -> bool:
    """Two first deliveries of one call at once both inserted it: the second, rerun, finds it."""
    orig = getattr(exc, "orig", None)
    return any(
        getattr(e, "constraint_name", None) == CALL_KEY
        for e in (exc, orig, getattr(orig, "__cause__", None))
        if e is not None
    )


async def receive(
    uow: TelephonyWorkFactory,
    live: Publisher | None,
    *,
    provider: str,
    tenant_id: str,
    request: Inbound,
    directory: Directory | None = None,
) -> Handled:
    """Verify with the clinic's secret (401, nothing stored), store the delivery once, fold each call. Run again
    when PostgreSQL rolls the unit of work back as a deadlock's victim (kit.db.retrying), or when a concurrent
    first delivery of the same call inserted it first, so concurrent deliveries of one call never answer 500;
    the live cards go out once, after the commit that stored them."""
    adapter = ADAPTERS.get(provider)
    if adapter is None:
        raise NotFound(f"Unknown provider {provider!r}; one of: {', '.join(ADAPTERS)}.", field="provider")
    directory = directory or Directory(ttl=0)
    account = await directory.account(uow, tenant_id, provider)
    if account is None:
        raise SignatureInvalid(f"This clinic has not connected {provider}.", field="clinic")
    adapter.verify(account, request)
    events = adapter.parse(account, request)

    async def once() -> tuple[Handled, list[dict[str, Any]]]:
        for attempt in range(1, 4):
            try:
                return await _receive_once(uow, directory, provider, tenant_id, request, events)
            except IntegrityError as exc:
                if attempt == 3 or not is_call_race(exc):
                    raise
        raise AssertionError("unreachable")

    handled, started = await retrying(once)
    if live is not None:
        for card in started:
            await live.publish(live_channel(tenant_id), json.dumps(card))
    return handled


async def _receive_once(
    uow: TelephonyWorkFactory,
    directory: Directory,
    provider: str,
    tenant_id: str,
    request: Inbound,
    events: list[CallEvent],
) -> tuple[Handled, list[dict[str, Any]]]:
    """BEGIN, one statement (the call locked, the receipt, the contact), the call saved, the outbox, COMMIT."""
    event_id = ",".join(e.event_id for e in events) or hashlib.sha256(request.body).hexdigest()
    delivery = Delivery(body=request.body, headers=dict(request.headers), received_at=request.received_at)
    provider_ids = list(dict.fromkeys(e.provider_call_id for e in events))
    receipt = receipt_values(delivery, provider=provider, scope=tenant_id, event_id=event_id)
    async with uow() as work:
        if not events:
            if not await work.calls.store_receipt(receipt):
                return Handled("duplicate", [], provider_ids), []
            await work.commit()
            return Handled("ignored", []), []
        by_call: dict[str, list[CallEvent]] = defaultdict(list)
        for e in events:
            by_call[e.provider_call_id].append(e)
        started: list[dict[str, Any]] = []
        ids = []
        numbers: list[TrackingNumber] | None = None
        for n, (provider_call_id, new) in enumerate(by_call.items()):
            caller = next((e.caller for e in new if e.caller), None)
            phones = phone_variants(caller) if caller else []
            if n == 0:  # the receipt goes with the first call's lock (a delivery is almost always one call)
                fresh, stored, contact = await work.calls.claim(tenant_id, provider, provider_call_id, receipt, phones)
                if not fresh:
                    return Handled("duplicate", [], provider_ids), []
            else:
                stored = await work.calls.lock_call(tenant_id, provider, provider_call_id)
                contact = await work.contacts.contact(tenant_id, phones) if phones else None
            if numbers is None:
                numbers = await directory.numbers(work.accounts, tenant_id)
            call_id, card = await apply_events(
                work, tenant_id, provider, provider_call_id, new, numbers, stored=stored, contact=contact,
                looked_up=tuple(phones),
            )  # fmt: skip
            ids.append(call_id)
            if card is not None:
                started.append(card)
        await work.commit()
    return Handled("applied", ids, provider_ids), started


async def apply_events(
    work: TelephonyWork,
    tenant_id: str,
    provider: str,
    provider_call_id: str,
    new: list[CallEvent],
    numbers: list[TrackingNumber],
    *,
    stored: StoredCall | None,
    contact: KnownContact | None = None,
    looked_up: tuple[str, ...] = (),
) -> tuple[str, dict[str, Any] | None]:
    """Fold the call's stored and new events, publish what it now justifies, save it. `contact`: the contact
    the caller already looked up for the phones `looked_up` (none: looked up here when needed)."""
    if stored is None:
        call_id, events, announced, lead_id = new_id(), list(new), [], None
    else:
        call_id, events, announced, lead_id = stored.id, [*stored.events, *new], stored.announced, stored.lead_id
    record = fold(events)
    source = source_of(record.tracking_number, numbers) if record.direction == "inbound" else None
    due = due_announcements(record, announced)
    wants_card = "started" in due and record.direction == "inbound"
    if (lead_id is None or wants_card) and record.caller and record.caller not in looked_up:
        contact = await work.contacts.contact(tenant_id, phone_variants(record.caller))
    if lead_id is None and contact is not None:
        lead_id = contact.lead_id
    for name in due:
        work.publish(call_event(name, call_id, record, source, lead_id), tenant_id=tenant_id)
    await work.calls.save_call(
        call_id,
        tenant_id,
        record,
        events=events,
        announced=[*announced, *due],
        source=source,
        lead_id=lead_id,
        at=now(),
    )
    if record.recording_ref:
        # Fetched by the worker (recordings_round) from the provider into the object store.
        state = REC_PENDING if provider in FETCHES else REC_LINKED
        await work.recordings.ensure(new_id(), tenant_id, call_id, provider, record.recording_ref, state, now())
    if not wants_card:
        return call_id, None
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


def common_fields(call_id: str, r: CallRecord, source: str | None, lead_id: str | None) -> dict[str, Any]:
    return {
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


def call_event(
    name: str, call_id: str, r: CallRecord, source: str | None, lead_id: str | None
) -> CallStartedV1 | CallAnsweredV1 | CallEndedV1 | CallMissedV1:
    common = common_fields(call_id, r, source, lead_id)
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
