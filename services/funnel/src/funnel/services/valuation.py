"""Use cases of the valuation → quote process (docs/quotes.md): one unit of work each, events through the outbox.

Every step goes through `funnel.domain.valuation.step` (the state machine) and is written to the process's
history with who took it: a staff user id, "prospect" (a patient link) or "funnel" (a rule or a timer).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from contracts import Event, EventMeta
from contracts.identity import StaffCreatedV1, StaffDeactivatedV1, StaffUpdatedV1
from contracts.leads import LeadAssignedV1, LeadCreatedV1, LeadUpdatedV1, RequestCreatedV1
from contracts.notifications import MessageReceivedV1
from contracts.people import Person
from contracts.quotes import (
    DigestEntry,
    QuoteAcceptedV1,
    QuoteItem,
    QuoteQuestionV1,
    QuoteRejectedV1,
    QuoteRepliedV1,
    QuoteSentV1,
    QuoteUnansweredV1,
    ValuationAgentChangedV1,
    ValuationAssignedV1,
    ValuationDigestV1,
    ValuationOpenedV1,
    ValuationPhotoReceivedV1,
    ValuationPhotosCompletedV1,
    ValuationPhotosRequestedV1,
    ValuationRecordedV1,
)
from funnel.clock import Clock
from funnel.domain import Conflict, InvalidFunnel, NotFound
from funnel.domain import valuation as rules
from funnel.domain.valuation import Forbidden, LinkInvalid, Process
from funnel.repository.valuation import Row, ValuationRepository
from kit import context, links
from kit.auth import Principal
from kit.db import UnitOfWork, UnitOfWorkFactory
from kit.objects import ObjectStore

log = logging.getLogger(__name__)

#: Patient-link purposes of this process (kit.links).
PHOTOS_LINK = "valuation-photos"
QUOTE_LINK = "quote"
PUBLIC_PREFIX = "/public/funnel"
STAFF_EVENTS: tuple[type[Event], ...] = (StaffCreatedV1, StaffUpdatedV1, StaffDeactivatedV1)
#: leads' events the process follows: the lead's contact copy, and the requests that open a valuation.
LEAD_EVENTS: tuple[type[Event], ...] = (LeadCreatedV1, LeadUpdatedV1, LeadAssignedV1, RequestCreatedV1)


@dataclass(frozen=True)
class Links:
    secret: str
    public_url: str
    ttl_seconds: int

    def url(self, purpose: str, page: str, *, subject: str, tenant_id: str) -> str:
        token = links.mint(
            self.secret, purpose=purpose, subject=subject, tenant_id=tenant_id, ttl_seconds=self.ttl_seconds
        )
        return f"{self.public_url.rstrip('/')}{PUBLIC_PREFIX}/{page}?token={token}"

    def verify(self, token: str, purpose: str) -> links.PatientLink:
        try:
            return links.verify(self.secret, token, purpose=purpose)
        except links.LinkError as exc:
            raise LinkInvalid(str(exc).capitalize() + "; ask the clinic for a new one.") from exc
        except ValueError as exc:  # a secret too short is a configuration error, not the patient's
            raise RuntimeError(str(exc)) from exc


@dataclass(frozen=True)
class Env:
    uow: UnitOfWorkFactory
    clock: Clock
    links: Links
    store: ObjectStore


def _process(row: Row) -> Process:
    return Process(
        state=row.state, photos=frozenset(), doctor_id=row.doctor_id, quote_id=row.quote_id, answer=row.answer,
        reminders=row.reminders, reminder_due_at=row.reminder_due_at, waiting_for=row.waiting_for,
        waiting_since=row.waiting_since, answer_due_at=row.answer_due_at,
    )  # fmt: skip


def _columns(p: Process) -> dict[str, Any]:
    return {
        "state": p.state, "doctor_id": p.doctor_id, "quote_id": p.quote_id, "answer": p.answer,
        "reminders": p.reminders, "reminder_due_at": p.reminder_due_at, "waiting_for": p.waiting_for,
        "waiting_since": p.waiting_since, "answer_due_at": p.answer_due_at,
    }  # fmt: skip


def _person(row: Row) -> Person:
    return Person(lead_id=row.lead_id, name=row.name, phone=row.phone, email=row.email, locale=row.locale)


def _base(row: Row) -> dict[str, Any]:
    return {"valuation_id": row.id, "person": _person(row), "agent_id": row.agent_id}


async def _load(repo: ValuationRepository, tenant_id: str, valuation_id: str) -> tuple[Row, Process]:
    row = await repo.get(tenant_id, valuation_id, lock=True)
    if row is None:
        raise NotFound("No such valuation.", field="valuation_id")
    photos = await repo.photos(row.id)
    return row, replace(_process(row), photos=frozenset(p.slot for p in photos))


async def _active_staff(repo: ValuationRepository, tenant_id: str, user_id: str, field: str) -> Row:
    member = await repo.staff(tenant_id, user_id)
    if member is None or not member.active:
        raise InvalidFunnel("Not an active staff member of this clinic.", field=field)
    return member


def _may_read(principal: Principal) -> bool:
    return principal.has("funnel:read")


async def _reader(repo: ValuationRepository, principal: Principal, row: Row) -> None:
    """Funnel staff read every process; a diagnostic doctor reads the ones assigned to them."""
    if _may_read(principal) or row.doctor_id == principal.user_id:
        return
    raise NotFound("No such valuation.", field="valuation_id")


# --- opening and editing -----------------------------------------------------------------------
async def open_valuation(
    env: Env, principal: Principal, *, lead_id: str | None, name: str, phone: str | None, email: str | None,
    locale: str | None, agent_id: str | None,
) -> tuple[str, str]:  # fmt: skip
    name_ = rules.clean_text(name, field_name="name", max_length=200, required=True)
    phone = rules.clean_phone(phone)
    email = rules.clean_email(email)
    if not (phone or email):
        raise InvalidFunnel("A phone or an e-mail is needed to reach the prospect.", field="phone")
    now = env.clock()
    valuation_id = context.new_id()
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        agent = agent_id or principal.user_id
        if agent != principal.user_id:
            await _active_staff(repo, principal.tenant_id, agent, "agent_id")
        p = rules.opened(now)
        await repo.add(
            id=valuation_id, tenant_id=principal.tenant_id, lead_id=lead_id, name=name_, phone=phone, email=email,
            locale=locale, agent_id=agent, created_by=principal.user_id, created_at=now, updated_at=now,
            **_columns(p),
        )  # fmt: skip
        row = await repo.get(principal.tenant_id, valuation_id)
        url = _upload_url(env, row)
        await repo.ensure_digest(principal.tenant_id, agent, now + rules.DIGEST_EVERY)
        await repo.log(principal.tenant_id, valuation_id, now, "opened", principal.user_id, "process opened")
        work.publish(
            ValuationOpenedV1(
                **_base(row), lead_id=lead_id, photos_required=rules.PHOTOS_REQUIRED,
                upload_url=url, opened_by=principal.user_id, opened_at=now,
            ),
            tenant_id=principal.tenant_id,
        )  # fmt: skip
        await work.commit()
    return valuation_id, url


def _upload_url(env: Env, row: Row) -> str:
    return _photos_url(env.links, row)


def _photos_url(links_: Links, row: Row) -> str:
    return links_.url(PHOTOS_LINK, "photos", subject=row.id, tenant_id=row.tenant_id)


# --- opened by a lead's request ------------------------------------------------------------------
async def handle_lead(uow: UnitOfWork, event: Event, meta: EventMeta, *, clock: Clock, links: Links) -> None:
    """leads' events: keep the lead's contact copy; a request for a treatment the clinic says needs a valuation
    opens the process by itself (the photo link goes out as for one staff opened), once per request."""
    repo = ValuationRepository(uow.session)
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
    work: UnitOfWork, repo: ValuationRepository, links_: Links, tenant: str, event: RequestCreatedV1, now: datetime
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
        row = await ValuationRepository(work.session).settings(principal.tenant_id)
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
        repo = ValuationRepository(work.session)
        if agent_id is not None:
            await _active_staff(repo, principal.tenant_id, agent_id, "agent_id")
        await repo.put_settings(
            principal.tenant_id, treatments=list(chosen), agent_id=agent_id, updated_by=principal.user_id,
            updated_at=now,
        )  # fmt: skip
        await work.commit()
    return {"treatments": list(chosen), "agent_id": agent_id, "updated_at": now}


async def edit_details(env: Env, principal: Principal, valuation_id: str, changes: dict[str, Any]) -> None:
    clean: dict[str, Any] = {}
    for key in ("name", "locale"):
        if key in changes:
            clean[key] = rules.clean_text(changes[key], field_name=key, max_length=200, required=key == "name")
    if "phone" in changes:
        clean["phone"] = rules.clean_phone(changes["phone"])
    if "email" in changes:
        clean["email"] = rules.clean_email(changes["email"])
    now = env.clock()
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        row, _ = await _load(repo, principal.tenant_id, valuation_id)
        if row.state not in rules.OPEN_STATES:
            raise Conflict("The process has ended.", field="valuation_id")
        if not (clean.get("phone", row.phone) or clean.get("email", row.email)):
            raise InvalidFunnel("A phone or an e-mail is needed to reach the prospect.", field="phone")
        if clean:
            await repo.set(row.id, **clean, updated_at=now)
            await repo.log(row.tenant_id, row.id, now, "details", principal.user_id, f"edited {', '.join(clean)}")
        await work.commit()


async def reassign_agent(env: Env, principal: Principal, valuation_id: str, agent_id: str) -> None:
    now = env.clock()
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        row, _ = await _load(repo, principal.tenant_id, valuation_id)
        if row.state not in rules.OPEN_STATES:
            raise Conflict("The process has ended.", field="valuation_id")
        await _active_staff(repo, principal.tenant_id, agent_id, "agent_id")
        if row.agent_id != agent_id:
            await repo.set(row.id, agent_id=agent_id, updated_at=now)
            await repo.ensure_digest(row.tenant_id, agent_id, now + rules.DIGEST_EVERY)
            await repo.log(row.tenant_id, row.id, now, "agent", principal.user_id, f"agent {agent_id}")
            moved = await repo.get(row.tenant_id, row.id)
            work.publish(
                ValuationAgentChangedV1(
                    **_base(moved), previous_agent_id=row.agent_id, changed_by=principal.user_id, changed_at=now
                ),
                tenant_id=row.tenant_id,
            )
        await work.commit()


async def cancel(env: Env, principal: Principal, valuation_id: str, reason: str | None) -> None:
    now = env.clock()
    note = rules.clean_text(reason, field_name="reason", max_length=500)
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        row, p = await _load(repo, principal.tenant_id, valuation_id)
        p, said = rules.step(p, rules.Cancelled(now))
        if said:
            await repo.set(row.id, **_columns(p), updated_at=now)
            await repo.log(row.tenant_id, row.id, now, "cancelled", principal.user_id, note or "cancelled")
        await work.commit()


# --- photos ----------------------------------------------------------------------------------------
async def photo_page(env: Env, token: str) -> tuple[Row, list[Row]]:
    link = env.links.verify(token, PHOTOS_LINK)
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        row = await repo.get(link.tenant_id, link.subject)
        if row is None:
            raise LinkInvalid("This link is not valid; ask the clinic for a new one.")
        return row, await repo.photos(row.id)


async def upload_photo(env: Env, token: str, slot: str, data: bytes) -> tuple[Row, list[Row]]:
    """A photo through the patient link: stored in the object store first, then counted (docs/quotes.md)."""
    link = env.links.verify(token, PHOTOS_LINK)
    slot = rules.check_slot(slot)
    kind = rules.check_photo(data)
    async with env.uow() as work:  # refuse before storing anything when the process no longer takes photos
        row = await ValuationRepository(work.session).get(link.tenant_id, link.subject)
        if row is None:
            raise LinkInvalid("This link is not valid; ask the clinic for a new one.")
        if row.state != rules.COLLECTING:
            raise Conflict("Thank you, we already have all your photos.", field="slot")
    key = f"funnel/{link.tenant_id}/valuations/{link.subject}/{slot}-{context.new_id()}"
    stored = await env.store.put(key, data, content_type=kind)
    await add_photo(env.uow, env.clock, link.tenant_id, link.subject, slot=slot, stored=stored, source="upload")
    return await photo_page(env, token)


async def add_photo(
    uow: UnitOfWorkFactory, clock: Clock, tenant_id: str, valuation_id: str, *, slot: str, stored: Any,
    source: str, message_id: str | None = None,
) -> None:  # fmt: skip
    async with uow() as work:
        await _add_photo(work, clock(), tenant_id, valuation_id, slot, stored, source, message_id)
        await work.commit()


async def _add_photo(
    work: UnitOfWork, now: datetime, tenant_id: str, valuation_id: str, slot: str, stored: Any, source: str,
    message_id: str | None,
) -> None:  # fmt: skip
    repo = ValuationRepository(work.session)
    row, p = await _load(repo, tenant_id, valuation_id)
    p, said = rules.step(p, rules.PhotoAdded(slot, now))
    if not said:
        return
    await repo.put_photo(
        valuation_id=row.id, slot=slot, tenant_id=tenant_id, object_key=stored.key, content_type=stored.content_type,
        size=stored.size, sha256=stored.sha256 or "", source=source, message_id=message_id, received_at=now,
    )  # fmt: skip
    await repo.set(row.id, **_columns(p), updated_at=now)
    by = "prospect" if source == "upload" else f"prospect ({source})"
    await repo.log(tenant_id, row.id, now, "photo", by, f"{slot} photo ({len(p.photos)}/{rules.PHOTOS_REQUIRED})")
    work.publish(
        ValuationPhotoReceivedV1(
            **_base(row), slot=slot, source=source, photos_received=len(p.photos),
            photos_required=rules.PHOTOS_REQUIRED, received_at=now,
        ),
        tenant_id=tenant_id,
    )  # fmt: skip
    if rules.COMPLETED in said:
        await repo.log(tenant_id, row.id, now, "complete", "funnel", "all photos in; diagnostic doctors told")
        work.publish(
            ValuationPhotosCompletedV1(**_base(row), photos_received=len(p.photos), completed_at=now),
            tenant_id=tenant_id,
        )
        await _assign(work, repo, await repo.get(tenant_id, row.id, lock=True), p, now)


# --- the doctor ------------------------------------------------------------------------------------
async def _assign(work: UnitOfWork, repo: ValuationRepository, row: Row, p: Process, now: datetime) -> bool:
    """To the diagnostic doctor with the fewest open valuations now (ties: idle longest). False: no doctor yet."""
    loads = [
        rules.DoctorLoad(d.user_id, d.open_valuations, d.last_active_at) for d in await repo.doctors(row.tenant_id)
    ]
    chosen = rules.choose_doctor(loads)
    if chosen is None:
        await repo.log(row.tenant_id, row.id, now, "waiting", "funnel", "no diagnostic doctor in the clinic yet")
        return False
    await _give(work, repo, row, p, chosen.user_id, chosen.open_valuations, by=rules.SYSTEM, now=now)
    return True


async def _give(
    work: UnitOfWork, repo: ValuationRepository, row: Row, p: Process, doctor_id: str, open_count: int, *, by: str,
    now: datetime,
) -> None:  # fmt: skip
    p, said = rules.step(p, rules.DoctorAssigned(doctor_id))
    if not said:
        return
    await repo.set(row.id, **_columns(p), updated_at=now)
    await repo.touch_staff(row.tenant_id, doctor_id, now)
    text = f"valuation assigned to {doctor_id} ({open_count} open before)"
    await repo.log(row.tenant_id, row.id, now, "assigned", by, text)
    work.publish(
        ValuationAssignedV1(
            **_base(row), doctor_id=doctor_id, previous_doctor_id=row.doctor_id, open_valuations=open_count,
            assigned_by=by, assigned_at=now,
        ),
        tenant_id=row.tenant_id,
    )  # fmt: skip


async def assign_doctor(env: Env, principal: Principal, valuation_id: str, doctor_id: str) -> None:
    """A manager moves the valuation to another diagnostic doctor."""
    now = env.clock()
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        row, p = await _load(repo, principal.tenant_id, valuation_id)
        member = await repo.staff(principal.tenant_id, doctor_id)
        if member is None or not rules.is_diagnostic_doctor(member.roles, member.active):
            raise InvalidFunnel("Not an active diagnostic doctor of this clinic.", field="doctor_id")
        loads = {d.user_id: d.open_valuations for d in await repo.doctors(principal.tenant_id)}
        await _give(work, repo, row, p, doctor_id, loads.get(doctor_id, 0), by=principal.user_id, now=now)
        await work.commit()


async def record_valuation(
    env: Env, principal: Principal, valuation_id: str, *, summary: str, grafts: int | None, notes: str | None
) -> None:
    text = rules.clean_text(summary, field_name="summary", required=True)
    note = rules.clean_text(notes, field_name="notes", max_length=8000)
    if grafts is not None and not 0 < grafts <= 10000:
        raise InvalidFunnel("Grafts is a count between 1 and 10000.", field="grafts")
    now = env.clock()
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        row, p = await _load(repo, principal.tenant_id, valuation_id)
        member = await repo.staff(principal.tenant_id, principal.user_id)
        if member is None or not rules.is_diagnostic_doctor(member.roles, member.active):
            raise Forbidden("Only a diagnostic doctor records a valuation.", field="doctor_id")
        if row.doctor_id not in (None, principal.user_id) and not principal.has("funnel:admin"):
            raise Forbidden("This valuation is assigned to another doctor.", field="doctor_id")
        if p.doctor_id is None and p.state == rules.VALUING:
            await _give(work, repo, row, p, principal.user_id, 0, by=principal.user_id, now=now)
            row, p = await _load(repo, principal.tenant_id, valuation_id)
        p, _ = rules.step(p, rules.ValuationRecorded(principal.user_id))
        await repo.set(row.id, **_columns(p), summary=text, grafts=grafts, notes=note, recorded_at=now, updated_at=now)
        await repo.touch_staff(principal.tenant_id, principal.user_id, now)
        await repo.log(row.tenant_id, row.id, now, "valuation", principal.user_id, f"valuation recorded: {text}")
        work.publish(
            ValuationRecordedV1(
                **_base(row), doctor_id=principal.user_id, summary=text or "", grafts=grafts, recorded_at=now
            ),
            tenant_id=row.tenant_id,
        )
        await work.commit()


# --- WhatsApp images ---------------------------------------------------------------------------
#: notifications' copy of a medium, through the presigned URL in message.received.
_DOWNLOAD = httpx.Timeout(20.0, connect=5.0)


async def fetch_medium(url: str) -> bytes | None:
    """The bytes behind the event's URL; None when it is gone (expired link, removed object). A network error
    or a 5xx raises, so the consumer retries the event."""
    async with httpx.AsyncClient(timeout=_DOWNLOAD) as client, client.stream("GET", url) as got:
        if got.status_code in (400, 403, 404, 410):
            log.warning("a WhatsApp image is no longer there (%s)", got.status_code)
            return None
        got.raise_for_status()
        data = bytearray()
        async for chunk in got.aiter_bytes():
            data += chunk
            if len(data) > rules.MAX_PHOTO_BYTES:
                break  # check_photo says it is too big
        return bytes(data)


async def handle_message(
    uow: UnitOfWork, event: Event, meta: EventMeta, *, clock: Clock, store: ObjectStore,
    fetch: Any = fetch_medium,
) -> None:  # fmt: skip
    """A photo sent on WhatsApp by a prospect whose valuation waits for photos fills the first missing slot
    (docs/quotes.md); once per message, and nothing for a message with no image or a prospect with no such process."""
    assert isinstance(event, MessageReceivedV1)
    image = next((m for m in event.media if m.kind == "image" and m.url), None)
    if image is None or image.url is None:
        return
    repo = ValuationRepository(uow.session)
    phones = [event.sender] if event.channel in ("whatsapp", "sms") else []
    row = await repo.collecting_for(meta.tenant_id, lead_id=event.lead_id, phones=phones)
    if row is None or await repo.photo_of_message(meta.tenant_id, event.message_id) is not None:
        return
    slot = rules.next_slot(p.slot for p in await repo.photos(row.id))
    data = await fetch(image.url) if slot is not None else None
    if slot is None or data is None:
        return
    try:
        kind = rules.check_photo(data)
    except InvalidFunnel as exc:
        log.info("message %s: not a photo for the valuation (%s)", event.message_id, exc)
        return
    key = f"funnel/{meta.tenant_id}/valuations/{row.id}/{slot}-{context.new_id()}"
    stored = await store.put(key, data, content_type=kind)
    await _add_photo(uow, clock(), meta.tenant_id, row.id, slot, stored, "whatsapp", event.message_id)


# --- staff directory ---------------------------------------------------------------------------
async def handle_staff(uow: UnitOfWork, event: Event, meta: EventMeta, *, clock: Clock) -> None:
    """Keep who is a diagnostic doctor; a doctor who joins takes the valuations that waited for one."""
    assert isinstance(event, StaffCreatedV1 | StaffUpdatedV1 | StaffDeactivatedV1)
    repo = ValuationRepository(uow.session)
    active = event.active and not isinstance(event, StaffDeactivatedV1)
    await repo.put_staff(
        meta.tenant_id, event.user_id, full_name=event.full_name, roles=list(event.roles), active=active,
        changed_at=event.changed_at,
    )  # fmt: skip
    if not rules.is_diagnostic_doctor(event.roles, active):
        return
    now = clock()
    for row in await repo.waiting_for_doctor(meta.tenant_id):
        _, p = await _load(repo, meta.tenant_id, row.id)
        if not await _assign(uow, repo, row, p, now):
            return


# --- costs and discounts -----------------------------------------------------------------------
async def add_cost(env: Env, principal: Principal, *, name: str, price: Decimal, currency: str) -> str:
    from funnel.domain import clean_currency

    cost_id = context.new_id()
    async with env.uow() as work:
        await ValuationRepository(work.session).add_cost(
            id=cost_id, tenant_id=principal.tenant_id, name=rules.clean_text(name, field_name="name", max_length=200,
            required=True), price=rules.clean_price(price), currency=clean_currency(currency), created_at=env.clock(),
        )  # fmt: skip
        await work.commit()
    return cost_id


async def edit_cost(env: Env, principal: Principal, cost_id: str, changes: dict[str, Any]) -> None:
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = rules.clean_text(changes["name"], field_name="name", max_length=200, required=True)
    if "price" in changes:
        values["price"] = rules.clean_price(changes["price"])
    if "active" in changes:
        values["active"] = bool(changes["active"])
    async with env.uow() as work:
        found = await ValuationRepository(work.session).costs(principal.tenant_id, ids=[cost_id])
        if not found:
            raise NotFound("No such cost.", field="cost_id")
        if values:
            await ValuationRepository(work.session).set_cost(principal.tenant_id, cost_id, **values)
        await work.commit()


async def costs(env: Env, principal: Principal) -> list[Row]:
    async with env.uow() as work:
        return await ValuationRepository(work.session).costs(principal.tenant_id)


async def add_discount(env: Env, principal: Principal, *, name: str, percent: Decimal) -> str:
    discount_id = context.new_id()
    async with env.uow() as work:
        await ValuationRepository(work.session).add_discount(
            id=discount_id, tenant_id=principal.tenant_id,
            name=rules.clean_text(name, field_name="name", max_length=200, required=True),
            percent=rules.clean_discount(percent), created_at=env.clock(),
        )  # fmt: skip
        await work.commit()
    return discount_id


async def edit_discount(env: Env, principal: Principal, discount_id: str, changes: dict[str, Any]) -> None:
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = rules.clean_text(changes["name"], field_name="name", max_length=200, required=True)
    if "percent" in changes:
        values["percent"] = rules.clean_discount(changes["percent"])
    if "active" in changes:
        values["active"] = bool(changes["active"])
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        if not await repo.discounts(principal.tenant_id, ids=[discount_id]):
            raise NotFound("No such discount.", field="discount_id")
        if values:
            await repo.set_discount(principal.tenant_id, discount_id, **values)
        await work.commit()


async def discounts(env: Env, principal: Principal) -> list[Row]:
    async with env.uow() as work:
        return await ValuationRepository(work.session).discounts(principal.tenant_id)


# --- the quote -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemIn:
    cost_id: str
    quantity: int = 1
    discount_id: str | None = None


async def save_quote(
    env: Env, principal: Principal, valuation_id: str, items: list[ItemIn], *, discount_id: str | None,
    note: str | None, send: bool,
) -> str:  # fmt: skip
    if not items:
        raise InvalidFunnel("A quote needs at least one item.", field="items")
    text = rules.clean_text(note, field_name="note", max_length=4000)
    now = env.clock()
    quote_id = context.new_id()
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        row, p = await _load(repo, principal.tenant_id, valuation_id)
        await _quoter(repo, principal, row)
        if p.state not in (rules.QUOTING, rules.SENT, rules.QUESTION):
            raise Conflict("The quote comes after the valuation is recorded.", field="valuation_id")
        priced = await _price(repo, principal.tenant_id, items, discount_id)
        await repo.put_draft(
            {
                "id": quote_id, "tenant_id": principal.tenant_id, "valuation_id": row.id, "status": "draft",
                "currency": priced.currency, "subtotal": priced.subtotal, "total": priced.total,
                "items": [_item(line) for line in priced.lines], "note": text, "created_by": principal.user_id,
                "created_at": now,
            }
        )  # fmt: skip
        await repo.log(
            row.tenant_id, row.id, now, "quote", principal.user_id, f"quote saved ({priced.total} {priced.currency})"
        )
        if send:
            await _send(work, env, repo, principal, row, p, quote_id, now)
        await work.commit()
    return quote_id


async def _quoter(repo: ValuationRepository, principal: Principal, row: Row) -> None:
    """Quotes are written by the valuation's doctor (or a diagnostic doctor) and by funnel staff."""
    if principal.has("funnel:write") or row.doctor_id == principal.user_id:
        return
    member = await repo.staff(principal.tenant_id, principal.user_id)
    if member is None or not rules.is_diagnostic_doctor(member.roles, member.active):
        raise Forbidden("Quotes are written by the diagnostic doctor or the funnel's staff.", field="valuation_id")


def _item(line: rules.PricedLine) -> dict[str, Any]:
    return {
        "description": line.description, "cost_id": line.cost_id, "quantity": line.quantity,
        "unit_price": str(line.unit_price), "discount_percent": str(line.discount_percent), "total": str(line.total),
    }  # fmt: skip


async def _price(
    repo: ValuationRepository, tenant_id: str, items: list[ItemIn], discount_id: str | None
) -> rules.Priced:
    found = {c.id: c for c in await repo.costs(tenant_id, ids=sorted({i.cost_id for i in items}))}
    wanted = sorted({i.discount_id for i in items if i.discount_id} | ({discount_id} if discount_id else set()))
    offers = {d.id: d for d in await repo.discounts(tenant_id, ids=wanted)} if wanted else {}
    lines = []
    for n, item in enumerate(items):
        cost = found.get(item.cost_id)
        if cost is None or not cost.active:
            raise InvalidFunnel("No such cost in the clinic's price list.", field=f"items[{n}].cost_id")
        lines.append(
            rules.Line(
                rules.Cost(cost.id, cost.name, cost.price, cost.currency), item.quantity,
                _discount(offers, item.discount_id, f"items[{n}].discount_id"),
            )
        )  # fmt: skip
    return rules.price_quote(lines, _discount(offers, discount_id, "discount_id"))


def _discount(offers: dict[str, Row], discount_id: str | None, field: str) -> rules.Discount | None:
    if discount_id is None:
        return None
    found = offers.get(discount_id)
    if found is None or not found.active:
        raise InvalidFunnel("No such discount in the clinic's list.", field=field)
    return rules.Discount(found.id, found.name, found.percent)


async def send_quote(env: Env, principal: Principal, valuation_id: str) -> str:
    """Send the saved draft now."""
    now = env.clock()
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        row, p = await _load(repo, principal.tenant_id, valuation_id)
        await _quoter(repo, principal, row)
        draft = await repo.draft(row.id)
        if draft is None:
            raise Conflict("There is no saved quote to send; save one first.", field="valuation_id")
        await _send(work, env, repo, principal, row, p, draft.id, now)
        await work.commit()
    return str(draft.id)


async def _send(
    work: UnitOfWork, env: Env, repo: ValuationRepository, principal: Principal, row: Row, p: Process,
    quote_id: str, now: datetime,
) -> None:  # fmt: skip
    p, said = rules.step(p, rules.QuoteSent(quote_id, now))
    if not said:
        return
    await repo.mark_sent(quote_id, row.id, principal.user_id, now)
    await repo.set(row.id, **_columns(p), updated_at=now)
    quote: Row = await repo.quote(row.tenant_id, quote_id)  # saved in this transaction or locked as the draft
    await repo.log(
        row.tenant_id, row.id, now, "sent", principal.user_id, f"quote sent ({quote.total} {quote.currency})"
    )
    work.publish(
        QuoteSentV1(
            **_base(row), quote_id=quote_id, currency=quote.currency, subtotal=str(quote.subtotal),
            total=str(quote.total), items=[QuoteItem(**i) for i in quote.items],
            quote_url=env.links.url(QUOTE_LINK, "quotes", subject=quote_id, tenant_id=row.tenant_id),
            sent_by=principal.user_id, sent_at=now,
        ),
        tenant_id=row.tenant_id,
    )  # fmt: skip


async def quote_page(env: Env, token: str) -> tuple[Row, Row]:
    link = env.links.verify(token, QUOTE_LINK)
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        quote = await repo.quote(link.tenant_id, link.subject)
        if quote is None or quote.status == "draft":
            raise LinkInvalid("This link is not valid; ask the clinic for a new one.")
        row = await repo.get(link.tenant_id, quote.valuation_id)
        return row, quote


async def answer(env: Env, token: str, action: str, text: str | None) -> tuple[Row, Row]:
    """The prospect accepts, rejects or asks for the agent; each tells the prospect and the agent (rules)."""
    link = env.links.verify(token, QUOTE_LINK)
    note = rules.clean_text(text, field_name="message" if action == rules.ASK else "reason", max_length=2000)
    now = env.clock()
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        quote = await repo.quote(link.tenant_id, link.subject)
        if quote is None or quote.status == "draft":
            raise LinkInvalid("This link is not valid; ask the clinic for a new one.")
        row, p = await _load(repo, link.tenant_id, quote.valuation_id)
        p, said = rules.step(p, rules.Answered(quote.id, action, now))
        if said:
            await repo.set(row.id, **_columns(p), updated_at=now)
            await repo.log(
                row.tenant_id, row.id, now, action, "prospect", f"quote {action}" + (f": {note}" if note else "")
            )
            base = {**_base(row), "quote_id": quote.id}
            event: Event
            if action == rules.ACCEPT:
                event = QuoteAcceptedV1(**base, total=str(quote.total), currency=quote.currency, accepted_at=now)
            elif action == rules.REJECT:
                event = QuoteRejectedV1(**base, reason=note, rejected_at=now)
            else:
                event = QuoteQuestionV1(**base, message=note, asked_at=now)
            work.publish(event, tenant_id=row.tenant_id)
        await work.commit()
    return await quote_page(env, token)


async def reply(env: Env, principal: Principal, valuation_id: str, note: str | None) -> None:
    """The clinic answered the prospect (after an acceptance or a question): stops the clinic's 24 h wait."""
    text = rules.clean_text(note, field_name="note", max_length=2000)
    now = env.clock()
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        row, p = await _load(repo, principal.tenant_id, valuation_id)
        p, _ = rules.step(p, rules.ClinicReplied(now))
        await repo.set(row.id, **_columns(p), updated_at=now)
        await repo.log(row.tenant_id, row.id, now, "replied", principal.user_id, text or "clinic replied")
        work.publish(
            QuoteRepliedV1(
                **_base(row), quote_id=row.quote_id, note=text, replied_by=principal.user_id, replied_at=now
            ),
            tenant_id=row.tenant_id,
        )
        await work.commit()


# --- reading -------------------------------------------------------------------------------------
async def valuation(env: Env, principal: Principal, valuation_id: str) -> dict[str, Any]:
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        row = await repo.get(principal.tenant_id, valuation_id)
        if row is None:
            raise NotFound("No such valuation.", field="valuation_id")
        await _reader(repo, principal, row)
        photos = await repo.photos(row.id)
        history = await repo.history(row.id)
        found = await repo.quotes_of(row.id)
    urls = {p.slot: await env.store.presigned_get(p.object_key, expires_seconds=900) for p in photos}
    return {"row": row, "photos": photos, "urls": urls, "history": history, "quotes": found}


async def valuations(
    env: Env, principal: Principal, *, states: list[str] | None, agent_id: str | None, doctor_id: str | None,
    limit: int, offset: int,
) -> tuple[list[Row], int]:  # fmt: skip
    if not _may_read(principal):
        doctor_id = principal.user_id  # a doctor without funnel:read sees their own valuations
    async with env.uow() as work:
        return await ValuationRepository(work.session).listed(
            principal.tenant_id, states=states, agent_id=agent_id, doctor_id=doctor_id, limit=limit, offset=offset
        )


# --- timers ----------------------------------------------------------------------------------------
async def reminder_round(env: Env, *, limit: int = 100) -> int:
    """Photos still incomplete a day after opening (or after the last reminder): remind the prospect."""
    now = env.clock()
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        due = await repo.claim_reminders(now, limit=limit)
        for row in due:
            photos = await repo.photos(row.id)
            p = rules.after_reminder(_process(row), now)
            await repo.set(row.id, reminders=p.reminders, reminder_due_at=p.reminder_due_at, updated_at=now)
            await repo.log(row.tenant_id, row.id, now, "reminder", "funnel", f"photo reminder {p.reminders}")
            work.publish(
                ValuationPhotosRequestedV1(
                    **_base(row), reminder=p.reminders, photos_received=len(photos),
                    photos_missing=rules.PHOTOS_REQUIRED - len(photos), upload_url=_upload_url(env, row),
                    requested_at=now,
                ),
                tenant_id=row.tenant_id,
            )  # fmt: skip
        await work.commit()
    return len(due)


async def answer_round(env: Env, *, limit: int = 100) -> int:
    """24 h without an answer (the prospect's to a quote, the clinic's to an acceptance): tell the agent, once."""
    now = env.clock()
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        due = await repo.claim_answer_due(now, limit=limit)
        for row in due:
            waiting = rules.answer_overdue(_process(row), now)
            await repo.set(row.id, answer_due_at=None, updated_at=now)
            if waiting is None:
                continue
            await repo.log(row.tenant_id, row.id, now, "unanswered", "funnel", f"24 h without the {waiting}'s answer")
            work.publish(
                QuoteUnansweredV1(
                    **_base(row), quote_id=row.quote_id, waiting_for=waiting, since=row.waiting_since, noticed_at=now
                ),
                tenant_id=row.tenant_id,
            )
        await work.commit()
    return len(due)


async def digest_round(env: Env, *, limit: int = 100) -> int:
    """Once a day per sales agent: their prospects whose photos are incomplete."""
    now = env.clock()
    async with env.uow() as work:
        repo = ValuationRepository(work.session)
        claimed = await repo.claim_digests(now, now + rules.DIGEST_EVERY, limit=limit)
        for pair in claimed:
            rows = await repo.incomplete_of(pair.tenant_id, pair.agent_id)
            if not rows:
                continue
            entries = [
                DigestEntry(
                    valuation_id=r.id, name=r.name, phone=r.phone, photos_received=r.photo_count, opened_at=r.created_at
                )
                for r in rows
            ]
            summary = "; ".join(
                f"{e.name or e.phone} ({e.photos_received}/{rules.PHOTOS_REQUIRED} photos since "
                f"{e.opened_at.date().isoformat()})"
                for e in entries
            )
            work.publish(
                ValuationDigestV1(
                    agent_id=pair.agent_id, count=len(entries), profiles=entries, summary=summary, compiled_at=now
                ),
                tenant_id=pair.tenant_id,
            )
        await work.commit()
    return len(claimed)


def timers(env: Env) -> list[tuple[str, Any]]:
    """(name, round) of the process's durable timers, for the worker."""
    return [
        ("valuation-reminders", lambda: reminder_round(env)),
        ("valuation-answers", lambda: answer_round(env)),
        ("valuation-digests", lambda: digest_round(env)),
    ]
