"""Events -> rules -> the batched dispatcher -> the sandbox, webhooks -> conversations, in-app, against real
PostgreSQL and Valkey."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from contracts import Event, EventMeta
from contracts.payments import PaymentConfirmedV1, PaymentLinkCreatedV1
from contracts.people import Person
from contracts.scheduling import AppointmentConfirmedV1, ReminderAction, ReminderDueV1
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine, uow_factory
from kit.outbox import outbox_table
from notifications import services
from notifications.channels import TwilioSms, WhatsAppCloud
from notifications.domain import WHATSAPP
from notifications.inbound import Inbound, Receipt
from notifications.models import messages
from notifications.repository.templates import TemplateRepository
from notifications.services.work import NotificationsUnitOfWork, NotificationsWorkFactory
from sandbox.app import create_app

TOKEN = "sandbox-token"
PHONE = "+5511987654321"
NOW = datetime.now(UTC)


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def sandbox(monkeypatch: pytest.MonkeyPatch, _restore_logging: None) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("SANDBOX_WHATSAPP_TOKEN", TOKEN)
    monkeypatch.setenv("SANDBOX_TWILIO_AUTH_TOKEN", TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://sandbox") as c:
        yield c


@pytest.fixture
async def uow(infra: Infra) -> AsyncIterator[NotificationsWorkFactory]:
    url = await asyncio.to_thread(fresh_database, infra, "notifications")  # alembic runs its own loop
    engine = make_engine(url, pool_size=4)
    yield uow_factory(engine, "notifications", NotificationsUnitOfWork)
    await engine.dispose()


def _meta(event: Event, tenant: str) -> EventMeta:
    return EventMeta(
        id=new_id(),
        source="clinicflow/test",
        type=event.TYPE,
        time=NOW,
        subject=event.aggregate_id(),
        tenant_id=tenant,
        correlation_id=new_id(),
    )


async def _handle(uow: NotificationsWorkFactory, event: Event, meta: EventMeta) -> list[Any]:
    async with uow() as u:
        made = await services.handle_event(u, event, meta)
        await u.commit()
    return made


async def _outbox(uow: NotificationsWorkFactory) -> list[tuple[str, dict[str, Any]]]:
    async with uow() as u:
        rows = (await u.session.execute(select(outbox_table.c.event_type, outbox_table.c.payload))).all()
    return [(t.split(".")[-3] + "." + t.split(".")[-2], msgspec.json.decode(p)) for t, p in rows]


async def _statuses(uow: NotificationsWorkFactory) -> dict[str, tuple[str, str]]:
    async with uow() as u:
        rows = (await u.session.execute(select(messages.c.rule_key, messages.c.status, messages.c.channel))).all()
    return {r[0]: (r[1], r[2]) for r in rows}


async def _next(pubsub: Any, want: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The next message on the pub/sub channel that `want`s (within 5 s)."""
    async with asyncio.timeout(5):
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is not None and want(data := json.loads(message["data"])):
                return data  # type: ignore[no-any-return]


def _person() -> Person:
    return Person(lead_id=new_id(), name="Maria Souza", phone=PHONE, email="maria@example.com", locale="pt-BR")


def _wa(sandbox: httpx.AsyncClient) -> WhatsAppCloud:
    return WhatsAppCloud(
        base_url="http://sandbox", api_version="v21.0", phone_number_id="1", token=TOKEN, client=sandbox
    )


async def test_reminder_tap_confirmation_and_staff_notification(
    uow: NotificationsWorkFactory, sandbox: httpx.AsyncClient, infra: Infra
) -> None:
    tenant, appointment = new_id(), new_id()
    person = _person()
    reminder = ReminderDueV1(
        appointment_id=appointment,
        person=person,
        reminder_id=new_id(),
        offset_minutes=1440,
        starts_at=NOW + timedelta(days=1),
        timezone="America/Sao_Paulo",
        branch_name="Moema",
        professional_name="Dra. Ana Lima",
        procedure_name="Limpeza de pele",
        due_at=NOW,
        actions=[
            ReminderAction(id=f"appt:{appointment}:confirm", kind="confirm", url="https://c.example/c"),
            ReminderAction(id=f"appt:{appointment}:reschedule", kind="reschedule", url="https://c.example/r"),
        ],
    )
    meta = _meta(reminder, tenant)
    made = await _handle(uow, reminder, meta)
    assert {m.rule_key for m in made} == {"reminder", "reminder-sms", "reminder-call-task"}
    assert await _handle(uow, reminder, meta) == []  # the same event again makes nothing more

    redis = Redis.from_url(infra.redis_url)
    pubsub = redis.pubsub()
    await pubsub.subscribe(services.inapp_channel(tenant))
    dispatcher = services.Dispatcher(uow, {WHATSAPP: _wa(sandbox)}, publisher=redis)
    try:
        assert await dispatcher.dispatch_due() == 1  # the escalation steps wait for their delay
        (sent,) = (await sandbox.get("/sandbox/whatsapp/messages")).json()["items"]
        assert sent["type"] == "template"  # Maria never wrote: outside the 24-hour window
        assert sent["template"]["name"] == "appointment_reminder"
        assert [b["id"] for b in sent["buttons"]] == [f"appt:{appointment}:confirm", f"appt:{appointment}:reschedule"]

        delivered = Receipt("whatsapp_cloud", sent["id"], "delivered", NOW)
        read = Receipt("whatsapp_cloud", sent["id"], "read", NOW + timedelta(seconds=5))
        assert await services.receive(uow, [], [delivered, read, delivered]) == 2  # the late copy changes nothing
        assert (await _statuses(uow))["reminder"] == ("read", "whatsapp")
        kinds = [t for t, _ in await _outbox(uow)]
        assert kinds.count("message.delivered") == kinds.count("message.read") == 1

        tap = Inbound(
            WHATSAPP,
            "whatsapp_cloud",
            "1",
            PHONE,
            "Maria",
            "wamid.tap1",
            "Confirmar",
            f"appt:{appointment}:confirm",
            sent["id"],
            NOW,
        )
        assert await services.receive(uow, [tap], announce=redis) == 1
        assert await services.receive(uow, [tap], announce=redis) == 0  # a redelivered webhook is dropped
        received = [p for t, p in await _outbox(uow) if t == "message.received"]
        assert len(received) == 1
        # The in-app stream's doorbell for open conversation screens: the reminder sent in the conversation,
        # then the person's tap (once: the redelivery rang nothing).
        sent_in = await _next(pubsub, lambda d: d.get("kind") == "conversation")
        assert sent_in["direction"] == "outbound"
        assert sent_in["conversation_id"] == received[0]["conversation_id"]
        assert await _next(pubsub, lambda d: d.get("kind") == "conversation") == {
            "kind": "conversation",
            "conversation_id": received[0]["conversation_id"],
            "channel": WHATSAPP,
            "direction": "inbound",
        }
        # A staff reply in that conversation: once the dispatcher has sent it, the doorbell rings again.
        agent = Principal(
            user_id=new_id(), tenant_id=tenant, email="a@x", permissions=frozenset(), roles=("sales_agent",)
        )
        await services.reply(uow, agent, received[0]["conversation_id"], "Até amanhã!", None)
        assert await dispatcher.dispatch_due() == 1
        replied = await _next(pubsub, lambda d: d.get("kind") == "conversation")
        assert (replied["conversation_id"], replied["direction"]) == (received[0]["conversation_id"], "outbound")
        reminder_id = next(m.id for m in made if m.rule_key == "reminder")
        assert received[0]["button_id"] == f"appt:{appointment}:confirm"
        assert received[0]["reply_to_message_id"] == reminder_id
        assert received[0]["lead_id"] == person.lead_id

        confirmed = AppointmentConfirmedV1(
            appointment_id=appointment, person=person, starts_at=reminder.starts_at, via="whatsapp", confirmed_at=NOW
        )
        await _handle(uow, confirmed, _meta(confirmed, tenant))
        statuses = await _statuses(uow)
        assert statuses["reminder-sms"][0] == statuses["reminder-call-task"][0] == "cancelled"
        assert await dispatcher.dispatch_due() == 1
        assert (await _statuses(uow))["staff-patient-confirmed"] == ("sent", "inapp")
        note = await _next(pubsub, lambda d: "audience" in d)
        assert note["audience"] == "role:reception"
        assert "Maria Souza" in note["body"]
    finally:
        await pubsub.aclose()
        await redis.aclose()

    receptionist = Principal(
        user_id=new_id(), tenant_id=tenant, email="r@x", permissions=frozenset(), roles=("reception",)
    )
    doctor = Principal(
        user_id=new_id(), tenant_id=tenant, email="d@x", permissions=frozenset(), roles=("professional",)
    )
    items, unread = await services.inapp_list(uow, receptionist, unread_only=False, limit=10)
    assert (len(items), unread) == (1, 1)
    assert (await services.inapp_list(uow, doctor, unread_only=False, limit=10))[0] == []
    assert await services.inapp_mark_read(uow, receptionist, None) == 1
    assert await services.inapp_unread(uow, receptionist) == 0
    stats = await services.confirmation_stats(uow, receptionist)
    assert stats["steps"] == [{"rule": "reminder", "channel": "whatsapp", "reminded": 1, "confirmed": 1}]


async def test_opt_out_falls_back_and_the_answer_cancels_the_nudge(
    uow: NotificationsWorkFactory, sandbox: httpx.AsyncClient
) -> None:
    tenant, agent = new_id(), new_id()
    admin = Principal(user_id=agent, tenant_id=tenant, email="a@x", permissions=frozenset(), roles=("admin",))
    await services.opt_out(uow, admin, "whatsapp", "+55 11 98765-4321")
    from notifications.schemas import OptOutOut

    listed = [msgspec.convert(r, OptOutOut, from_attributes=True) for r in await services.list_opt_outs(uow, admin)]
    assert [(o.channel, o.address) for o in listed] == [("whatsapp", PHONE)]
    person = _person()
    link = PaymentLinkCreatedV1(
        payment_id=new_id(),
        person=person,
        amount="350.00",
        amount_before_discount="350.00",
        currency="BRL",
        description="Avaliação",
        methods=["pix"],
        provider="sandbox",
        url="https://pay.example/l/1",
        expires_at=NOW + timedelta(days=2),
        created_by=agent,
        created_at=NOW,
    )
    made = await _handle(uow, link, _meta(link, tenant))
    assert {m.rule_key: m.recipient for m in made} == {"payment-link": "person", "payment-nudge": f"user:{agent}"}
    sms = TwilioSms(base_url="http://sandbox", account_sid="AC1", auth_token=TOKEN, from_number="+1", client=sandbox)
    dispatcher = services.Dispatcher(uow, {WHATSAPP: _wa(sandbox), "sms": sms})
    assert await dispatcher.dispatch_due() == 1  # WhatsApp refused before sending: opted out
    assert await dispatcher.dispatch_due() == 1  # the fallback: SMS
    assert (await sandbox.get("/sandbox/whatsapp/messages")).json()["items"] == []
    (text,) = (await sandbox.get("/sandbox/sms/messages")).json()["items"]
    assert "https://pay.example/l/1" in text["body"]
    async with uow() as u:
        row = (await u.session.execute(select(messages).where(messages.c.rule_key == "payment-link"))).one()
    assert (row.status, row.channel, row.step) == ("sent", "sms", 1)
    assert "opted out" in row.last_error if row.last_error else True

    # Twilio reports the SMS undelivered: the rule's next channel (e-mail) takes over, on the same row.
    assert await services.receive(uow, [], [Receipt("twilio", text["id"], "failed", NOW, "30003")]) == 1
    async with uow() as u:
        row = (await u.session.execute(select(messages).where(messages.c.rule_key == "payment-link"))).one()
    assert (row.status, row.channel, row.step, row.to) == ("queued", "email", 2, "maria@example.com")
    assert "30003" in row.last_error

    paid = PaymentConfirmedV1(
        payment_id=link.payment_id,
        person=person,
        amount="350.00",
        currency="BRL",
        method="pix",
        provider="sandbox",
        provider_payment_id="p1",
        paid_at=NOW,
    )
    await _handle(uow, paid, _meta(paid, tenant))
    assert (await _statuses(uow))["payment-nudge"][0] == "cancelled"


async def test_quiet_hours_defer_and_a_broken_template_fails_its_message(uow: NotificationsWorkFactory) -> None:
    tenant = new_id()
    admin = Principal(user_id=new_id(), tenant_id=tenant, email="a@x", permissions=frozenset(), roles=("admin",))
    local = NOW.astimezone(services.zone("America/Sao_Paulo")) if hasattr(services, "zone") else None
    from notifications.domain import zone

    local = NOW.astimezone(zone("America/Sao_Paulo"))
    start, end = (local - timedelta(hours=1)).strftime("%H:%M"), (local + timedelta(hours=1)).strftime("%H:%M")
    await services.put_settings(
        uow, admin, timezone="America/Sao_Paulo", locale="pt-BR", quiet_start=start, quiet_end=end
    )
    async with uow() as u:  # a text that saving would refuse, as if written before a variable was renamed
        await TemplateRepository(u.session).upsert(
            tenant_id=tenant,
            name="payment_receipt",
            locale="pt-BR",
            channel="email",
            body="Olá {{ nope }}",
            user_id=admin.user_id,
            now=NOW,
        )
        await u.commit()
    person = _person()
    link = PaymentLinkCreatedV1(
        payment_id=new_id(),
        person=person,
        amount="1.00",
        amount_before_discount="1.00",
        currency="BRL",
        description="x",
        methods=["pix"],
        provider="sandbox",
        url="https://pay.example/l/2",
        expires_at=NOW + timedelta(days=1),
        created_by=admin.user_id,
        created_at=NOW,
    )
    (payment_link, _nudge) = sorted(await _handle(uow, link, _meta(link, tenant)), key=lambda m: m.rule_key)
    assert payment_link.next_attempt_at >= NOW + timedelta(minutes=55)  # deferred to the end of the quiet hours
    paid = PaymentConfirmedV1(
        payment_id=link.payment_id,
        person=person,
        amount="1.00",
        currency="BRL",
        method="pix",
        provider="sandbox",
        provider_payment_id="p2",
        paid_at=NOW,
    )
    (receipt,) = await _handle(uow, paid, _meta(paid, tenant))
    assert receipt.status == "failed"
    assert "nope" in (receipt.last_error or "")
    failed = [p for t, p in await _outbox(uow) if t == "message.failed"]
    assert [f["message_id"] for f in failed] == [receipt.id]
