"""Use cases of telephony: one unit of work each; events leave through the outbox (`uow.publish`)."""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError

from contracts import EventMeta
from contracts.claims import DEFAULT_COUNTRY, DEFAULT_TIMEZONE
from contracts.leads import LeadCreatedV1, LeadDeletedV1, LeadUpdatedV1
from contracts.telephony import CallAnsweredV1, CallEndedV1, CallMissedV1, CallRecordedV1, CallStartedV1
from kit import links
from kit.auth import Principal
from kit.context import new_id
from kit.db import UnitOfWork, UnitOfWorkFactory, retrying
from kit.objects import ObjectNotFound, ObjectStore, ObjectStoreError
from kit.webhooks import Delivery, SignatureInvalid, receipt_values, record_receipt
from telephony.domain import (
    MAX_FETCH_ATTEMPTS,
    OUTBOUND,
    REC_DELETED,
    REC_FAILED,
    REC_LINKED,
    REC_PENDING,
    REC_STORED,
    RECORDING_LINK,
    STARTED,
    CallEvent,
    CallRecord,
    Conflict,
    Gone,
    InvalidTelephony,
    KnownContact,
    LinkInvalid,
    NotFound,
    Recording,
    RecordingAccess,
    TrackingNumber,
    clean_label,
    clean_retention_days,
    clean_source,
    due_announcements,
    fold,
    phone_variants,
    retry_delay_seconds,
    source_of,
)
from telephony.provider_api import DIALS, FETCHES, NotConfigured, ProviderApi, ProviderApiError
from telephony.providers import ADAPTERS, Account, Inbound, e164
from telephony.repository import CALL_KEY, Card, RecordingRepository, StoredCall, TelephonyRepository


def now() -> datetime:
    return datetime.now(UTC)


def live_channel(tenant_id: str) -> str:
    """Redis pub/sub channel of a clinic's incoming calls (the console's live stream)."""
    return f"telephony:calls:{tenant_id}"


class Publisher(Protocol):
    def publish(self, channel: str, message: str) -> Awaitable[Any]: ...


# --- provider accounts and tracking numbers (clinic admins) ------------------------------------------
async def connect(
    uow: UnitOfWorkFactory,
    principal: Principal,
    provider: str,
    *,
    secret: str,
    api_key: str,
    timezone: str | None,
    api_url: str = "",
    directory: Directory | None = None,
) -> Account:
    if provider not in ADAPTERS:
        raise NotFound(f"Unknown provider {provider!r}; one of: {', '.join(ADAPTERS)}.", field="provider")
    if not secret.strip():
        raise InvalidTelephony("The secret must not be empty.", field="secret")
    if provider == "mango" and not api_key.strip():
        raise InvalidTelephony("Mango Office needs the vpbx_api_key.", field="api_key")
    api_url = api_url.strip()
    if api_url and not (api_url.startswith("https://") or api_url.startswith("http://")):
        raise InvalidTelephony("The api_url is an http(s) address.", field="api_url")
    account = Account(
        tenant_id=principal.tenant_id,
        provider=provider,
        secret=secret.strip(),
        api_key=api_key.strip(),
        country=principal.country or DEFAULT_COUNTRY,
        timezone=timezone or principal.timezone or DEFAULT_TIMEZONE,
        api_url=api_url,
    )
    async with uow() as work:
        await TelephonyRepository(work.session).save_account(account, now())
        await work.commit()
    if directory is not None:
        directory.forget(principal.tenant_id)
    return account


async def connections(uow: UnitOfWorkFactory, principal: Principal) -> list[tuple[str, Account | None]]:
    """Every provider the service knows, with the clinic's account for it when connected."""
    async with uow() as work:
        found = {a.provider: a for a in await TelephonyRepository(work.session).accounts(principal.tenant_id)}
    return [(provider, found.get(provider)) for provider in ADAPTERS]


async def add_number(
    uow: UnitOfWorkFactory,
    principal: Principal,
    *,
    number: str,
    source: str,
    label: str | None,
    directory: Directory | None = None,
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
    if directory is not None:
        directory.forget(principal.tenant_id)
    return tracking


async def list_numbers(uow: UnitOfWorkFactory, principal: Principal) -> list[TrackingNumber]:
    async with uow() as work:
        return await TelephonyRepository(work.session).numbers(principal.tenant_id)


async def remove_number(
    uow: UnitOfWorkFactory, principal: Principal, number_id: str, directory: Directory | None = None
) -> None:
    async with uow() as work:
        if not await TelephonyRepository(work.session).remove_number(principal.tenant_id, number_id):
            raise NotFound(f"No tracking number {number_id} in this clinic.")
        await work.commit()
    if directory is not None:
        directory.forget(principal.tenant_id)


# --- webhook ingress ------------------------------------------------------------------------
@dataclass(frozen=True)
class Handled:
    outcome: str  # applied | duplicate | ignored
    call_ids: list[str]
    #: The provider's ids of the calls the delivery was about (Bitrix24's register answers its CALL_ID).
    provider_call_ids: list[str] = field(default_factory=list)


class Directory:
    """Per api process: each clinic's provider accounts and tracking numbers, kept `ttl` seconds (the ingress
    reads them for every delivery, and they change only when an admin edits them). An edit through this process
    forgets the clinic at once; another replica sees it within `ttl` seconds."""

    def __init__(self, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._accounts: dict[tuple[str, str], tuple[float, Account | None]] = {}
        self._numbers: dict[str, tuple[float, list[TrackingNumber]]] = {}

    def forget(self, tenant_id: str) -> None:
        self._numbers.pop(tenant_id, None)
        for key in [k for k in self._accounts if k[0] == tenant_id]:
            self._accounts.pop(key, None)

    async def account(self, uow: UnitOfWorkFactory, tenant_id: str, provider: str) -> Account | None:
        hit = self._accounts.get((tenant_id, provider))
        if hit is not None and self.clock() - hit[0] < self.ttl:
            return hit[1]
        async with uow() as work:
            account = await TelephonyRepository(work.session).account(tenant_id, provider)
        if len(self._accounts) > 10_000:
            self._accounts.clear()
        self._accounts[(tenant_id, provider)] = (self.clock(), account)
        return account

    async def numbers(self, repo: TelephonyRepository, tenant_id: str) -> list[TrackingNumber]:
        hit = self._numbers.get(tenant_id)
        if hit is not None and self.clock() - hit[0] < self.ttl:
            return hit[1]
        numbers = await repo.numbers(tenant_id)
        if len(self._numbers) > 10_000:
            self._numbers.clear()
        self._numbers[tenant_id] = (self.clock(), numbers)
        return numbers


def is_call_race(exc: BaseException) -> bool:
    """Two first deliveries of one call at once both inserted it: the second, rerun, finds it."""
    orig = getattr(exc, "orig", None)
    return any(
        getattr(e, "constraint_name", None) == CALL_KEY
        for e in (exc, orig, getattr(orig, "__cause__", None))
        if e is not None
    )


async def receive(
    uow: UnitOfWorkFactory,
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
    uow: UnitOfWorkFactory,
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
        repo = TelephonyRepository(work.session)
        if not events:
            if not await record_receipt(work.session, delivery, provider=provider, scope=tenant_id, event_id=event_id):
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
                fresh, stored, contact = await repo.claim(tenant_id, provider, provider_call_id, receipt, phones)
                if not fresh:
                    return Handled("duplicate", [], provider_ids), []
            else:
                stored = await repo.lock_call(tenant_id, provider, provider_call_id)
                contact = await repo.contact(tenant_id, phones) if phones else None
            if numbers is None:
                numbers = await directory.numbers(repo, tenant_id)
            call_id, card = await _apply(
                work, repo, tenant_id, provider, provider_call_id, new, numbers, stored=stored, contact=contact,
                looked_up=tuple(phones),
            )  # fmt: skip
            ids.append(call_id)
            if card is not None:
                started.append(card)
        await work.commit()
    return Handled("applied", ids, provider_ids), started


async def _apply(
    work: UnitOfWork,
    repo: TelephonyRepository,
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
        contact = await repo.contact(tenant_id, phone_variants(record.caller))
    if lead_id is None and contact is not None:
        lead_id = contact.lead_id
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
    if record.recording_ref:
        # Fetched by the worker (recordings_round) from the provider into the object store.
        state = REC_PENDING if provider in FETCHES else REC_LINKED
        await RecordingRepository(work.session).ensure(
            new_id(), tenant_id, call_id, provider, record.recording_ref, state, now()
        )
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


def _common(call_id: str, r: CallRecord, source: str | None, lead_id: str | None) -> dict[str, Any]:
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


def _event(
    name: str, call_id: str, r: CallRecord, source: str | None, lead_id: str | None
) -> CallStartedV1 | CallAnsweredV1 | CallEndedV1 | CallMissedV1:
    common = _common(call_id, r, source, lead_id)
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
        recording = await RecordingRepository(work.session).of_call(principal.tenant_id, call_id)
        return Card(found, contact, recording)


# --- click-to-call -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Dialled:
    call_id: str
    provider: str
    provider_call_id: str


async def dial(
    uow: UnitOfWorkFactory,
    api: ProviderApi,
    principal: Principal,
    *,
    public_url: str,
    provider: str,
    extension: str,
    to: str | None,
    line: str | None,
    call_id: str | None,
) -> Dialled:
    """Ask the provider to ring the staff member's extension and connect it to the person (`to`, or the caller
    of the call card `call_id`: calling back). The call's record exists at once (ringing, outbound); the
    provider's events then fold into it."""
    if provider not in ADAPTERS:
        raise NotFound(f"Unknown provider {provider!r}; one of: {', '.join(ADAPTERS)}.", field="provider")
    if provider not in DIALS:
        raise InvalidTelephony(
            f"{provider} has no call API ClinicFlow can use; click-to-call works with: {', '.join(DIALS)}.",
            field="provider",
        )
    country = principal.country or DEFAULT_COUNTRY
    async with uow() as work:
        repo = TelephonyRepository(work.session)
        account = await repo.account(principal.tenant_id, provider)
        if account is None:
            raise InvalidTelephony(f"This clinic has not connected {provider}.", field="provider")
        card_call = await repo.call(principal.tenant_id, call_id) if call_id else None
        if call_id and card_call is None:
            raise NotFound(f"No call {call_id} in this clinic.", field="call_id")
        numbers = await repo.numbers(principal.tenant_id)
    person = e164(to, country) if to else (card_call.record.caller if card_call else None)
    if not person or not person.startswith("+"):
        raise InvalidTelephony("The number to call is not a phone number.", field="to")
    clinic_line = e164(line, country) if line else (card_call.record.tracking_number if card_call else None)
    if not clinic_line and numbers:
        clinic_line = numbers[0].number
    if not clinic_line or not clinic_line.startswith("+"):
        raise InvalidTelephony("Which of the clinic's numbers calls out? Give line.", field="line")
    callback = f"{public_url.rstrip('/')}/webhooks/telephony/{provider}?clinic={principal.tenant_id}"
    try:
        provider_call_id = await api.dial(
            account, to=person, line=clinic_line, extension=extension, callback_url=callback
        )
    except NotConfigured as exc:
        raise InvalidTelephony(str(exc), field=exc.field) from exc
    dialled = CallEvent(
        provider=provider,
        provider_call_id=provider_call_id,
        event_id=f"{provider_call_id}:dialled",
        seq=0,
        stage=STARTED,
        at=now(),
        direction=OUTBOUND,
        caller=person,
        tracking_number=clinic_line,
    )
    async with uow() as work:
        repo = TelephonyRepository(work.session)
        numbers = await repo.numbers(principal.tenant_id)
        stored = await repo.lock_call(principal.tenant_id, provider, provider_call_id)
        new_call_id, _ = await _apply(
            work, repo, principal.tenant_id, provider, provider_call_id, [dialled], numbers, stored=stored
        )
        await work.commit()
    return Dialled(new_call_id, provider, provider_call_id)


# --- recordings ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlaybackLinks:
    secret: str
    public_url: str
    ttl_seconds: int

    def mint(self, recording: Recording) -> tuple[str, datetime]:
        token = links.mint(
            self.secret,
            purpose=RECORDING_LINK,
            subject=recording.id,
            tenant_id=recording.tenant_id,
            ttl_seconds=self.ttl_seconds,
        )
        url = f"{self.public_url.rstrip('/')}/public/telephony/recordings/{recording.id}?token={token}"
        return url, now() + timedelta(seconds=self.ttl_seconds)

    def verify(self, token: str) -> links.PatientLink:
        try:
            return links.verify(self.secret, token, purpose=RECORDING_LINK)
        except links.LinkError as exc:
            raise LinkInvalid(str(exc).capitalize() + "; open the recording from the call card again.") from exc
        except ValueError as exc:  # a missing or short LINK_SECRET is the operator's error
            raise RuntimeError(str(exc)) from exc


def object_key(recording: Recording, content_type: str) -> str:
    ext = {"audio/wav": "wav", "audio/x-wav": "wav", "audio/mpeg": "mp3", "audio/ogg": "ogg"}.get(content_type, "bin")
    return f"telephony/{recording.tenant_id}/{recording.call_id}/{recording.id}.{ext}"


async def recordings_round(uow: UnitOfWorkFactory, api: ProviderApi, store: ObjectStore, *, limit: int = 10) -> int:
    """Worker timer: fetch due pending recordings from their providers into the object store, publish
    call.recorded. The provider call happens outside any transaction; a failure backs off and retries."""
    async with uow() as work:
        due = [r.id for r in await RecordingRepository(work.session).claim_due(now(), limit)]
    done = 0
    for rec_id in due:
        done += await _fetch_one(uow, api, store, rec_id)
    return done


async def _fetch_one(uow: UnitOfWorkFactory, api: ProviderApi, store: ObjectStore, rec_id: str) -> int:
    async with uow() as work:
        rec = await RecordingRepository(work.session).lock(rec_id)
        if rec is None or rec.state != REC_PENDING:
            return 0
        account = await TelephonyRepository(work.session).account(rec.tenant_id, rec.provider)
    error: str | None = None
    retry = True
    stored = None
    if account is None:
        error, retry = "the clinic disconnected the provider", False
    else:
        try:
            fetched = await api.recording(account, rec.provider_ref)
            key = object_key(rec, fetched.content_type)
            stored = await store.put(key, fetched.data, content_type=fetched.content_type)
        except ProviderApiError as exc:
            error, retry = str(exc), exc.retry
        except NotConfigured as exc:
            error, retry = str(exc), False
        except ObjectStoreError as exc:
            error = str(exc)
    async with uow() as work:
        recs = RecordingRepository(work.session)
        current = await recs.lock(rec_id)
        if current is None or current.state != REC_PENDING:
            return 0
        if stored is None:
            attempts = current.attempts + 1
            give_up = not retry or attempts >= MAX_FETCH_ATTEMPTS
            await recs.update(
                rec_id,
                attempts=attempts,
                last_error=(error or "")[:500],
                state=REC_FAILED if give_up else REC_PENDING,
                next_attempt_at=now() + timedelta(seconds=retry_delay_seconds(attempts)),
            )
            await work.commit()
            return 0
        at = now()
        await recs.update(
            rec_id,
            state=REC_STORED,
            object_key=stored.key,
            content_type=stored.content_type,
            size=stored.size,
            sha256=stored.sha256,
            stored_at=at,
            attempts=current.attempts + 1,
            last_error=None,
        )
        call = await TelephonyRepository(work.session).call(current.tenant_id, current.call_id)
        if call is not None:
            work.publish(
                CallRecordedV1(
                    **_common(call.id, call.record, call.source, call.lead_id),
                    recording_id=rec_id,
                    recording_ref=current.provider_ref,
                    content_type=stored.content_type,
                    size_bytes=stored.size,
                    sha256=stored.sha256,
                    recorded_at=at,
                ),
                tenant_id=current.tenant_id,
            )
        await work.commit()
    return 1


async def retention_round(uow: UnitOfWorkFactory, store: ObjectStore, *, default_days: int, limit: int = 100) -> int:
    """Worker timer: delete the objects of recordings older than their clinic's retention."""
    async with uow() as work:
        recs = RecordingRepository(work.session)
        expired = await recs.expired(default_days, now(), limit)
        for rec in expired:
            if rec.object_key:
                await store.delete(rec.object_key)  # S3 deletes are idempotent; a failure rolls back and retries
            await recs.update(rec.id, state=REC_DELETED, deleted_at=now(), object_key=None)
        await work.commit()
    return len(expired)


async def recording_link(
    uow: UnitOfWorkFactory, playback: PlaybackLinks, principal: Principal, recording_id: str, *, client: str | None
) -> tuple[str, datetime]:
    """A signed, expiring playback URL for staff; minting it is audited."""
    async with uow() as work:
        recs = RecordingRepository(work.session)
        rec = await recs.get(principal.tenant_id, recording_id)
        if rec is None:
            raise NotFound(f"No recording {recording_id} in this clinic.", field="recording_id")
        _playable(rec)
        url, expires = playback.mint(rec)
        link_id = playback.verify(url.rsplit("token=", 1)[1]).link_id
        await recs.audit(
            principal.tenant_id,
            RecordingAccess(new_id(), rec.id, rec.call_id, "link", principal.user_id, link_id, client, now()),
        )
        await work.commit()
    return url, expires


def _playable(rec: Recording) -> None:
    if rec.state == REC_DELETED:
        raise Gone("The recording was deleted (the clinic's retention).", field="recording_id")
    if rec.state != REC_STORED:
        raise Conflict(f"The recording is {rec.state}, not stored yet.", field="recording_id")


async def play(
    uow: UnitOfWorkFactory,
    playback: PlaybackLinks,
    store: ObjectStore,
    recording_id: str,
    token: str,
    *,
    client: str | None,
) -> tuple[bytes, str]:
    """The recording's bytes for a valid link of exactly this recording (of the link's clinic); audited."""
    link = playback.verify(token)
    if link.subject != recording_id:
        raise LinkInvalid("This link is for another recording.")
    async with uow() as work:
        recs = RecordingRepository(work.session)
        rec = await recs.get(link.tenant_id, recording_id)
        if rec is None:
            raise NotFound("No such recording.", field="recording_id")
        _playable(rec)
        assert rec.object_key is not None
        try:
            data, meta = await store.get(rec.object_key)
        except ObjectNotFound as exc:
            raise Gone("The recording is no longer stored.", field="recording_id") from exc
        await recs.audit(
            link.tenant_id,
            RecordingAccess(new_id(), rec.id, rec.call_id, "play", None, link.link_id, client, now()),
        )
        await work.commit()
    return data, meta.content_type or rec.content_type or "application/octet-stream"


async def recording_accesses(
    uow: UnitOfWorkFactory, principal: Principal, *, recording_id: str | None, limit: int, offset: int
) -> tuple[list[RecordingAccess], int]:
    async with uow() as work:
        return await RecordingRepository(work.session).accesses(
            principal.tenant_id, recording_id=recording_id, limit=limit, offset=offset
        )


async def retention(uow: UnitOfWorkFactory, principal: Principal, default_days: int) -> tuple[int, bool]:
    """(days, whether it is the clinic's own setting)."""
    async with uow() as work:
        days = await RecordingRepository(work.session).retention(principal.tenant_id)
    return (days, True) if days is not None else (default_days, False)


async def set_retention(uow: UnitOfWorkFactory, principal: Principal, days: int) -> int:
    days = clean_retention_days(days)
    async with uow() as work:
        await RecordingRepository(work.session).set_retention(principal.tenant_id, days, principal.user_id, now())
        await work.commit()
    return days


# --- the leads read model (worker) -------------------------------------------------------------
async def remember_lead(uow: UnitOfWork, event: LeadCreatedV1 | LeadUpdatedV1, meta: EventMeta) -> None:
    """lead.created / lead.updated -> phone -> (lead, name); an older event never overwrites a newer one."""
    if not event.phone:
        return
    at = event.created_at if isinstance(event, LeadCreatedV1) else event.updated_at
    await TelephonyRepository(uow.session).remember_contact(meta.tenant_id, event.phone, event.lead_id, event.name, at)


async def forget_lead(uow: UnitOfWork, event: LeadDeletedV1, meta: EventMeta) -> None:
    await TelephonyRepository(uow.session).forget_lead(meta.tenant_id, event.lead_id)
