"""Use cases of the pre-qualification assistant: signals in, `funnel.domain.assistant.decide`, effects out.

Every signal (an event, the timer, a staff action) is handled in one transaction: the process row is locked,
the domain decides, and its effects become outbox events (messages for notifications, requests for payments
and scheduling, answers for leads), deal updates, a task, and history rows, committed together. The domain
remembers the signals it handled, so a redelivered event changes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from contracts import Event, EventMeta
from contracts.assistant import (
    AssistantAnswerRecordedV1,
    AssistantBookingLinkRequestedV1,
    AssistantCompletedV1,
    AssistantHandedOverV1,
    AssistantMessageRequestedV1,
    AssistantPaymentLinkRequestedV1,
    BookingLinkIssuedV1,
    Choice,
)
from contracts.leads import LeadCreatedV1
from contracts.notifications import MessageReceivedV1
from contracts.payments import PaymentConfirmedV1, PaymentLinkCreatedV1
from contracts.people import Person
from contracts.scheduling import AppointmentBookedV1
from funnel import services as core
from funnel.clock import Clock
from funnel.cpf import cpf_valid
from funnel.domain import REQUESTS, Conflict, InvalidFunnel, NotFound
from funnel.domain import assistant as a
from funnel.repository.assistant import AssistantRepository, Row, to_process
from funnel.services.work import FunnelWork, FunnelWorkFactory
from kit import context
from kit.auth import Principal

CONSUMED: tuple[type[Event], ...] = (
    LeadCreatedV1,
    MessageReceivedV1,
    PaymentLinkCreatedV1,
    PaymentConfirmedV1,
    BookingLinkIssuedV1,
    AppointmentBookedV1,
)
HANDOFF_TASK = "Continue the assistant's conversation"
_NS = uuid.UUID("6f1c9a55-5d1e-4c9b-9f43-3a1b2c0d7e11")


def _address(channel: str, raw: str) -> str:
    """WhatsApp senders and lead phones compared as E.164 ("+" and digits), whoever wrote them."""
    raw = raw.strip()
    return "+" + "".join(c for c in raw if c.isdigit()) if channel == "whatsapp" else raw


def _derived(process_id: str, what: str) -> str:
    """A stable id per process and request: a redelivered request never asks twice (payments' idempotency)."""
    return str(uuid.uuid5(_NS, f"{process_id}:{what}"))


# --- set-up ----------------------------------------------------------------------------------------
def setup_of(row: Row | None) -> a.Setup:
    if row is None:
        return a.Setup(procedures=(), regions=(), cpf_valid=cpf_valid)
    return a.Setup(
        procedures=tuple(a.Option(o["id"], o["title"], o.get("amount")) for o in row.procedures),
        regions=tuple(a.Option(o["id"], o["title"]) for o in row.regions),
        messages=row.messages, default_locale=row.default_locale, currency=row.currency,
        reply_timeout=timedelta(minutes=row.reply_minutes), handoff_timeout=timedelta(minutes=row.handoff_minutes),
        cpf_valid=cpf_valid,
    )  # fmt: skip


async def settings(uow: FunnelWorkFactory, principal: Principal) -> Row | None:
    async with uow() as work:
        return await work.assistant.settings(principal.tenant_id)


async def put_settings(
    uow: FunnelWorkFactory, principal: Principal, *, enabled: bool, procedures: list[a.Option],
    regions: list[a.Option], messages: dict[str, dict[str, str]], default_locale: str, currency: str,
    reply_minutes: int, handoff_minutes: int, now: datetime,
) -> None:  # fmt: skip
    procs = a.clean_options(procedures, field_name="procedures")
    regs = a.clean_options(regions, field_name="regions")
    procs = tuple(
        o
        if o.amount is None
        else a.Option(o.id, o.title, a.clean_amount(o.amount, field_name=f"procedures.{i}.amount"))
        for i, o in enumerate(procs)
    )
    if enabled and (not procs or not regs):
        raise InvalidFunnel("The assistant needs the clinic's procedures and regions to ask for.", field="enabled")
    if default_locale not in a.LOCALES:
        raise InvalidFunnel(f"One of {', '.join(a.LOCALES)}.", field="default_locale")
    if len(currency) != 3 or not currency.isalpha():
        raise InvalidFunnel("A three-letter ISO 4217 code.", field="currency")
    values = {
        "enabled": enabled,
        "procedures": [{"id": o.id, "title": o.title, "amount": o.amount} for o in procs],
        "regions": [{"id": o.id, "title": o.title} for o in regs],
        "messages": a.clean_messages(messages),
        "default_locale": default_locale,
        "currency": currency.upper(),
        "reply_minutes": int(a.clean_timeout(reply_minutes, field_name="reply_minutes").total_seconds() // 60),
        "handoff_minutes": int(a.clean_timeout(handoff_minutes, field_name="handoff_minutes").total_seconds() // 60),
        "updated_by": principal.user_id,
        "updated_at": now,
    }
    async with uow() as work:
        await work.assistant.put_settings(principal.tenant_id, **values)
        await work.commit()


# --- applying a signal -----------------------------------------------------------------------------
async def _apply(
    work: FunnelWork, repo: AssistantRepository, tenant: str, row: Row, signal: a.Signal, setup: a.Setup,
    now: datetime,
) -> a.Process:  # fmt: skip
    before = to_process(row)
    after, effects = a.decide(before, signal, setup)
    if after == before:
        return after
    await repo.save(after, now)
    deals = work.funnel
    deal = next(iter(await deals.request_deals(tenant, after.lead_id)), None)
    steps: list[a.Step] = []
    for e in effects:
        if isinstance(e, a.Step):
            steps.append(e)
        elif isinstance(e, a.Say):
            work.publish(
                AssistantMessageRequestedV1(
                    process_id=after.id, lead_id=after.lead_id, message_id=context.new_id(), channel=after.channel,
                    to=after.address, locale=after.locale, key=e.key, text=e.text, style=e.style,
                    options=[Choice(id=i, title=t) for i, t in e.options], button=e.button, requested_at=now,
                ),
                tenant_id=tenant,
            )  # fmt: skip
            steps.append(a.Step("assistant", "said", e.key))
        elif isinstance(e, a.UpdateLead):
            work.publish(
                AssistantAnswerRecordedV1(
                    process_id=after.id, lead_id=after.lead_id, deal_id=deal.id if deal else None, answered_at=now,
                    **dict(e.fields),
                ),
                tenant_id=tenant,
            )  # fmt: skip
            if deal is not None:
                if "name" in e.fields:
                    await deals.set_deal(deal.id, name=e.fields["name"], updated_at=now)
                shown = ", ".join(f"{k} {v}" for k, v in e.fields.items() if k not in ("procedure_id", "branch_id"))
                await deals.log(tenant, deal.id, now, "assistant", f"assistant: {shown}")
        elif isinstance(e, a.AskPaymentLink):
            work.publish(
                AssistantPaymentLinkRequestedV1(
                    process_id=after.id, lead_id=after.lead_id, request_id=_derived(after.id, "payment"),
                    person=_person(after), procedure_id=e.procedure_id, description=e.procedure, amount=e.amount,
                    currency=e.currency, requested_at=now, cpf=after.cpf,
                ),
                tenant_id=tenant,
            )  # fmt: skip
        elif isinstance(e, a.AskBookingLink):
            work.publish(
                AssistantBookingLinkRequestedV1(
                    process_id=after.id, lead_id=after.lead_id, request_id=_derived(after.id, "booking"),
                    person=_person(after), procedure_id=e.procedure_id, branch_id=e.branch_id, requested_at=now,
                ),
                tenant_id=tenant,
            )  # fmt: skip
        elif isinstance(e, a.HandToAgent):
            task_id = None
            if deal is not None:
                task_id = await core._add_task(
                    work, deals, deal, kind="call", title=HANDOFF_TASK, responsible_id=deal.curator_id,
                    due_at=now + timedelta(hours=1), now=now, by="assistant", automatic=True,
                )  # fmt: skip
            work.publish(
                AssistantHandedOverV1(
                    process_id=after.id, lead_id=after.lead_id, deal_id=deal.id if deal else None, step=after.step,
                    by="timer", task_id=task_id, reason=e.reason, handed_at=now,
                ),
                tenant_id=tenant,
            )  # fmt: skip
        elif isinstance(e, a.Completed):
            work.publish(
                AssistantCompletedV1(
                    process_id=after.id, lead_id=after.lead_id, deal_id=deal.id if deal else None,
                    appointment_id=e.appointment_id, payment_id=after.payment_id, completed_at=now,
                ),
                tenant_id=tenant,
            )  # fmt: skip
            if deal is not None:
                await deals.log(tenant, deal.id, now, "assistant", "assistant: completed (booked)")
    if isinstance(signal, a.TakeOver) and before.status == a.ACTIVE:
        work.publish(
            AssistantHandedOverV1(
                process_id=after.id, lead_id=after.lead_id, deal_id=deal.id if deal else None, step=after.step,
                by=f"agent:{signal.by}", reason="taken over by a sales agent", handed_at=now,
            ),
            tenant_id=tenant,
        )  # fmt: skip
    await repo.log(tenant, after.id, now, after.step, steps)
    return after


def _person(p: a.Process) -> Person:
    return Person(lead_id=p.lead_id, name=p.name, phone=p.address if p.channel == "whatsapp" else None, locale=p.locale)


async def _start(
    work: FunnelWork, repo: AssistantRepository, tenant: str, *, lead_id: str, channel: str, address: str,
    locale: str | None, name: str | None, setup: a.Setup, now: datetime, signal_id: str,
) -> Row | None:  # fmt: skip
    process_id = context.new_id()
    added = await repo.add(
        id=process_id, tenant_id=tenant, lead_id=lead_id, channel=channel, address=_address(channel, address),
        locale=locale if locale in a.LOCALES else setup.default_locale, step=a.NAME, status=a.ACTIVE,
        created_at=now, updated_at=now,
    )  # fmt: skip
    if not added:
        return None
    row = await repo.get(tenant, process_id, lock=True)
    assert row is not None
    await repo.log(tenant, process_id, now, a.NAME, [a.Step("assistant", "opened", f"{channel} lead {name or ''}")])
    await _apply(work, repo, tenant, row, a.Start(signal_id, now), setup, now)
    return row


# --- events ----------------------------------------------------------------------------------------
async def handle_event(uow: FunnelWork, event: Event, meta: EventMeta, *, clock: Clock) -> None:
    repo = uow.assistant
    tenant = meta.tenant_id
    now = clock()
    config = await repo.settings(tenant)
    setup = setup_of(config)
    if isinstance(event, LeadCreatedV1):
        # A new lead that wrote on WhatsApp, Telegram or Instagram: the assistant makes the first contact there.
        where = first_contact(event)
        if config is None or not config.enabled or where is None:
            return
        await _start(
            uow, repo, tenant, lead_id=event.lead_id, channel=where[0], address=where[1], locale=event.locale,
            name=event.name, setup=setup, now=now, signal_id=meta.id,
        )  # fmt: skip
        return
    if isinstance(event, MessageReceivedV1):
        if event.channel not in a.CHANNELS:
            return
        row = await repo.of_sender(tenant, event.channel, _address(event.channel, event.sender), event.lead_id)
        signal: a.Signal = a.Reply(event.provider_message_id, event.received_at, text=event.text,
                                   choice=event.button_id)  # fmt: skip
    elif isinstance(event, PaymentLinkCreatedV1 | PaymentConfirmedV1):
        row = await _of_person(repo, tenant, event.person)
        if row is None or (event.procedure_id is not None and event.procedure_id != row.procedure_id):
            return  # another charge for the person (staff's), not the assistant's
        if isinstance(event, PaymentLinkCreatedV1):
            # The clinic's Pay page (PIX code and QR, then the checkout) when payments made one; else the checkout.
            url = event.pay_url or event.url
            signal = a.LinkCreated(event.payment_id, now, url=url, amount=event.amount, currency=event.currency)
        else:
            signal = a.Paid(event.payment_id, now)
    elif isinstance(event, BookingLinkIssuedV1):
        row = None if event.process_id is None else await repo.get(tenant, event.process_id, lock=True)
        signal = a.BookingLinkIssued(event.request_id, now, url=event.url)
    else:
        assert isinstance(event, AppointmentBookedV1)
        row = await _of_person(repo, tenant, event.person)
        local = event.starts_at.astimezone(ZoneInfo(event.timezone))
        signal = a.Booked(event.appointment_id, now, date=_date(local, row.locale if row else "pt-BR"),
                          time=local.strftime("%H:%M"))  # fmt: skip
    if row is not None:
        await _apply(uow, repo, tenant, row, signal, setup, now)


def first_contact(event: LeadCreatedV1) -> tuple[str, str] | None:
    """Where the assistant greets a new lead: the channel it wrote from (its source) at its phone on WhatsApp,
    at its chat / user id on Telegram and Instagram (lead.created's `contacts`); None for other leads."""
    if event.source == "whatsapp":
        return ("whatsapp", event.phone) if event.phone else None
    if event.source in ("telegram", "instagram") and event.contacts.get(event.source, "").strip():
        return event.source, event.contacts[event.source].strip()
    if event.channel == "message" and not event.phone:
        # A sender whose channel's source the clinic switched off (leads recorded another source).
        return next(((c, at.strip()) for c, at in event.contacts.items() if c in a.CHANNELS and at.strip()), None)
    return None


async def _of_person(repo: AssistantRepository, tenant: str, person: Person) -> Row | None:
    return None if person.lead_id is None else await repo.of_lead(tenant, person.lead_id, lock=True)


def _date(local: datetime, locale: str) -> str:
    return local.strftime("%Y-%m-%d" if locale == "en" else "%d/%m/%Y" if locale != "ru" else "%d.%m.%Y")


# --- the timer -------------------------------------------------------------------------------------
async def timer_round(uow: FunnelWorkFactory, clock: Clock, *, limit: int = 100) -> int:
    """Durable reminders and hand-overs: due processes are ticked once each (the tick's id is its due time)."""
    now = clock()
    async with uow() as work:
        repo = work.assistant
        found = await repo.due(now, limit=limit)
        setups: dict[str, a.Setup] = {}
        for row in found:
            if row.tenant_id not in setups:
                setups[row.tenant_id] = setup_of(await repo.settings(row.tenant_id))
            tick = a.Tick(f"{row.due_at.isoformat()}", now)
            await _apply(work, repo, row.tenant_id, row, tick, setups[row.tenant_id], now)
        await work.commit()
    return len(found)


# --- staff -----------------------------------------------------------------------------------------
async def start(
    uow: FunnelWorkFactory, principal: Principal, *, lead_id: str, channel: str, address: str, name: str | None,
    locale: str | None, now: datetime,
) -> str:  # fmt: skip
    """Staff start the assistant for a lead (e.g. one who wrote on Telegram or Instagram)."""
    if channel not in a.CHANNELS:
        raise InvalidFunnel(f"One of {', '.join(a.CHANNELS)}.", field="channel")
    if not address.strip():
        raise InvalidFunnel("The patient's address on the channel.", field="address")
    if locale is not None and locale not in a.LOCALES:
        raise InvalidFunnel(f"One of {', '.join(a.LOCALES)}.", field="locale")
    async with uow() as work:
        repo = work.assistant
        config = await repo.settings(principal.tenant_id)
        if config is None or not config.enabled:
            raise Conflict("The clinic's assistant is switched off (PUT /assistant/settings).", field="lead_id")
        row = await _start(
            work, repo, principal.tenant_id, lead_id=lead_id, channel=channel, address=address.strip(),
            locale=locale, name=name, setup=setup_of(config), now=now, signal_id=context.new_id(),
        )  # fmt: skip
        if row is None:
            raise Conflict("The lead already has an assistant process.", field="lead_id")
        await work.commit()
    return str(row.id)


async def take_over(uow: FunnelWorkFactory, principal: Principal, process_id: str, now: datetime) -> None:
    await _staff(uow, principal, process_id, a.TakeOver(context.new_id(), now, by=principal.user_id), now)


async def hand_back(uow: FunnelWorkFactory, principal: Principal, process_id: str, now: datetime) -> None:
    await _staff(uow, principal, process_id, a.HandBack(context.new_id(), now, by=principal.user_id), now)


async def _staff(
    uow: FunnelWorkFactory, principal: Principal, process_id: str, signal: a.Signal, now: datetime
) -> None:
    async with uow() as work:
        repo = work.assistant
        row = await repo.get(principal.tenant_id, process_id, lock=True)
        if row is None:
            raise NotFound("No such assistant process.", field="process_id")
        try:
            await _apply(
                work, repo, principal.tenant_id, row, signal, setup_of(await repo.settings(row.tenant_id)), now
            )
        except a.Rejected as exc:
            raise Conflict(str(exc), field="process_id") from None
        await work.commit()


# --- read side -------------------------------------------------------------------------------------
async def process(uow: FunnelWorkFactory, principal: Principal, process_id: str) -> tuple[Row, list[Row]]:
    async with uow() as work:
        repo = work.assistant
        row = await repo.get(principal.tenant_id, process_id)
        if row is None:
            raise NotFound("No such assistant process.", field="process_id")
        return row, await repo.history(row.id)


async def of_deal(uow: FunnelWorkFactory, principal: Principal, deal_id: str) -> tuple[Row, list[Row]]:
    """The deal view: the assistant's process of the deal's lead, with its history."""
    async with uow() as work:
        deal = await core._deal(work.funnel, principal, deal_id)
        repo = work.assistant
        row = (
            None if deal.lead_id is None or deal.kind != REQUESTS else await repo.of_lead(deal.tenant_id, deal.lead_id)
        )
        if row is None:
            raise NotFound("The deal's lead has no assistant process.", field="deal_id")
        return row, await repo.history(row.id)


async def processes(
    uow: FunnelWorkFactory, principal: Principal, *, status: list[str] | None, limit: int, offset: int
) -> tuple[list[Row], int]:
    async with uow() as work:
        return await work.assistant.listing(principal.tenant_id, status=status, limit=limit, offset=offset)


def describe(row: Row) -> dict[str, Any]:
    return {k: getattr(row, k) for k in row._fields if k not in ("seen", "tenant_id")}
