"""The assistant on a real, migrated PostgreSQL: the story through the consumers' handler, redeliveries,
the durable timer, staff taking over and handing back, the set-up's checks, the tenant boundary."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from contracts import Event, EventMeta
from contracts.assistant import BookingLinkIssuedV1
from contracts.leads import LeadCreatedV1
from contracts.notifications import MessageReceivedV1
from contracts.payments import PaymentConfirmedV1, PaymentLinkCreatedV1
from contracts.people import Person
from contracts.scheduling import AppointmentBookedV1
from funnel import services as core
from funnel.domain import Conflict, InvalidFunnel, NotFound
from funnel.domain import assistant as a
from funnel.services import assistant as cases
from funnel.services.work import FunnelWorkFactory
from kit.auth import Principal
from kit.context import new_id

T0 = datetime(2026, 12, 1, 12, tzinfo=UTC)
PHONE = "+5511987654321"
BOTOX, MOEMA = new_id(), new_id()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def staff(tenant_id: str) -> Principal:
    perms = frozenset(("funnel:read", "funnel:write", "funnel:admin"))
    return Principal(user_id=new_id(), tenant_id=tenant_id, email="agent@clinic.test", permissions=perms)


async def deliver(
    uow: FunnelWorkFactory, tenant: str, event: Event, clock: Clock, *, event_id: str | None = None
) -> None:
    meta = EventMeta(
        id=event_id or new_id(), source="test", type=event.TYPE, time=clock(), subject=event.aggregate_id(),
        tenant_id=tenant, correlation_id=new_id(),
    )  # fmt: skip
    async with uow() as work:
        if isinstance(event, LeadCreatedV1):
            await core.handle_event(work, event, meta, clock=clock)  # the deal rules see the lead too
        await cases.handle_event(work, event, meta, clock=clock)
        await work.commit()


async def configure(uow: FunnelWorkFactory, admin: Principal, **overrides: Any) -> None:
    values: dict[str, Any] = {
        "enabled": True,
        "procedures": [a.Option(BOTOX, "Botox", "150.00"), a.Option(new_id(), "Peeling")],
        "regions": [a.Option(MOEMA, "Moema"), a.Option(new_id(), "Av. Paulista")],
        "messages": {"pt-BR": {"ask_name": "Como você se chama?"}},
        "default_locale": "pt-BR", "currency": "BRL", "reply_minutes": 30, "handoff_minutes": 60, "now": T0,
    } | overrides  # fmt: skip
    await cases.put_settings(uow, admin, **values)


async def outbox(uow: FunnelWorkFactory, event_type: str) -> list[dict[str, Any]]:
    async with uow() as work:
        rows = await work.session.execute(
            text("select payload from outbox where event_type = :t order by id"), {"t": event_type}
        )
        return [json.loads(r) for r in rows.scalars().all()]


async def said(uow: FunnelWorkFactory) -> list[str]:
    return [
        k for m in await outbox(uow, "clinicflow.funnel.assistant.message_requested.v1") for k in m["key"].split("+")
    ]


def reply(lead: str | None, text_: str | None = None, choice: str | None = None, *, at: datetime) -> MessageReceivedV1:
    return MessageReceivedV1(
        conversation_id="c1", message_id=new_id(), lead_id=lead, channel="whatsapp", sender=PHONE, text=text_,
        button_id=choice, provider="whatsapp", provider_message_id=f"wamid.{new_id()}", received_at=at,
    )  # fmt: skip


def lead_created(lead: str) -> LeadCreatedV1:
    return LeadCreatedV1(
        lead_id=lead, name="+5511987654321", phone=PHONE, source="whatsapp", created_at=T0, channel="message",
        locale="pt-BR",
    )  # fmt: skip


async def the_process(uow: FunnelWorkFactory, admin: Principal) -> Any:
    rows, _ = await cases.processes(uow, admin, status=None, limit=10, offset=0)
    assert len(rows) == 1
    return rows[0]


async def test_the_whole_story_through_the_handlers(uow: FunnelWorkFactory) -> None:
    tenant, clock = new_id(), Clock()
    admin = staff(tenant)
    await configure(uow, admin)
    lead = new_id()
    first = new_id()
    await deliver(uow, tenant, lead_created(lead), clock, event_id=first)
    await deliver(uow, tenant, lead_created(lead), clock, event_id=first)  # a redelivery starts nothing twice
    assert await said(uow) == ["greeting", "ask_name"]
    (ask,) = await outbox(uow, "clinicflow.funnel.assistant.message_requested.v1")  # one turn, one message
    assert ask["key"] == "greeting+ask_name"
    assert ask["text"].endswith("\n\nComo você se chama?")  # the clinic's own text
    assert (ask["to"], ask["channel"]) == (PHONE, "whatsapp")

    name = reply(None, "maria souza", at=T0 + timedelta(minutes=1))
    await deliver(uow, tenant, name, clock)
    await deliver(uow, tenant, name, clock)  # the same WhatsApp message twice
    await deliver(uow, tenant, reply(lead, "111.111.111-11", at=T0 + timedelta(minutes=2)), clock)
    await deliver(uow, tenant, reply(lead, "529.982.247-25", at=T0 + timedelta(minutes=3)), clock)
    await deliver(uow, tenant, reply(lead, choice=f"asst:procedure:{BOTOX}", at=T0 + timedelta(minutes=4)), clock)
    await deliver(uow, tenant, reply(lead, choice=f"asst:procedure:{BOTOX}", at=T0 + timedelta(minutes=4)), clock)
    await deliver(uow, tenant, reply(lead, choice=f"asst:region:{MOEMA}", at=T0 + timedelta(minutes=5)), clock)
    assert await said(uow) == ["greeting", "ask_name", "ask_cpf", "bad_cpf", "ask_procedure", "ask_region"]
    listed = (await outbox(uow, "clinicflow.funnel.assistant.message_requested.v1"))[3]
    assert listed["style"] == "buttons"
    assert [o["title"] for o in listed["options"]] == ["Botox", "Peeling"]

    answers = await outbox(uow, "clinicflow.funnel.assistant.answer_recorded.v1")
    assert [(x["name"], x["cpf"], x["procedure_id"], x["branch_id"]) for x in answers] == [
        ("Maria Souza", None, None, None), (None, "52998224725", None, None), (None, None, BOTOX, None),
        (None, None, None, MOEMA),
    ]  # fmt: skip
    assert all(x["deal_id"] for x in answers)  # the lead's deal is updated with every answer
    card = await core.card(uow, admin, answers[0]["deal_id"])
    assert card["deal"].name == "Maria Souza"
    assert any("cpf 52998224725" in f.text for f in card["feed"])
    (asked,) = await outbox(uow, "clinicflow.funnel.assistant.payment_link_requested.v1")
    assert (asked["procedure_id"], asked["amount"], asked["person"]["lead_id"]) == (BOTOX, "150.00", lead)

    person = Person(lead_id=lead, name="Maria Souza", phone=PHONE)
    payment = new_id()
    link = PaymentLinkCreatedV1(
        payment_id=payment, person=person, procedure_id=BOTOX, amount="150.00", amount_before_discount="150.00",
        currency="BRL", description="Botox", methods=["pix"], provider="sandbox", url="https://pay.test/1",
        expires_at=T0 + timedelta(days=1), created_by="assistant", created_at=T0,
    )  # fmt: skip
    await deliver(uow, tenant, link, clock)
    paid = PaymentConfirmedV1(
        payment_id=payment, person=person, procedure_id=BOTOX, amount="150.00", currency="BRL", method="pix",
        provider="sandbox", provider_payment_id="p1", paid_at=T0,
    )  # fmt: skip
    await deliver(uow, tenant, paid, clock)
    await deliver(uow, tenant, paid, clock)
    (booking,) = await outbox(uow, "clinicflow.funnel.assistant.booking_link_requested.v1")
    assert (booking["branch_id"], booking["procedure_id"]) == (MOEMA, BOTOX)
    issued = BookingLinkIssuedV1(
        request_id=booking["request_id"], process_id=booking["process_id"], person=person, branch_id=MOEMA,
        procedure_id=BOTOX, url="https://book.test/1", expires_at=T0 + timedelta(days=7), issued_at=T0,
    )  # fmt: skip
    await deliver(uow, tenant, issued, clock)
    appt = new_id()
    booked = AppointmentBookedV1(
        appointment_id=appt, person=person, branch_id=MOEMA, branch_name="Moema", professional_id="p",
        professional_name="Dra. Ana", procedure_id=BOTOX, procedure_name="Botox",
        starts_at=datetime(2026, 12, 5, 13, tzinfo=UTC), ends_at=datetime(2026, 12, 5, 14, tzinfo=UTC),
        timezone="America/Sao_Paulo", source="online_booking", booked_by="patient", booked_at=T0,
    )  # fmt: skip
    await deliver(uow, tenant, booked, clock)
    assert (await said(uow))[-3:] == ["payment_link", "booking_link", "completed"]
    messages = await outbox(uow, "clinicflow.funnel.assistant.message_requested.v1")
    assert "https://pay.test/1" in messages[-3]["text"]
    assert "https://book.test/1" in messages[-2]["text"]
    assert "05/12/2026 às 10:00" in messages[-1]["text"]  # local time of the branch
    (done,) = await outbox(uow, "clinicflow.funnel.assistant.completed.v1")
    assert (done["appointment_id"], done["payment_id"]) == (appt, payment)

    row = await the_process(uow, admin)
    assert (row.status, row.step, row.cpf) == (a.COMPLETED, a.DONE, "52998224725")
    _, history = await cases.process(uow, admin, row.id)
    actors = {h.actor for h in history}
    assert {"assistant", "patient", "payments", "scheduling"} <= actors
    assert any(h.action == "answered wrongly" for h in history)
    _, by_deal = await cases.of_deal(uow, admin, answers[0]["deal_id"])
    assert len(by_deal) == len(history)


async def test_no_answer_a_reminder_then_a_task_for_a_sales_agent(uow: FunnelWorkFactory) -> None:
    tenant, clock = new_id(), Clock()
    admin = staff(tenant)
    await configure(uow, admin)
    lead = new_id()
    await deliver(uow, tenant, lead_created(lead), clock)
    assert await cases.timer_round(uow, clock) == 0
    clock.now = T0 + timedelta(minutes=30)
    assert await cases.timer_round(uow, clock) == 1
    assert await cases.timer_round(uow, clock) == 0  # fired once
    assert (await said(uow))[-2:] == ["reminder", "ask_name"]
    clock.now = T0 + timedelta(minutes=90)
    assert await cases.timer_round(uow, clock) == 1
    assert (await said(uow))[-1] == "handoff"
    (handed,) = await outbox(uow, "clinicflow.funnel.assistant.handed_over.v1")
    assert handed["by"] == "timer"
    assert handed["task_id"] is not None
    tasks = await core.tasks_of(uow, admin, handed["deal_id"])
    assert [t.title for t in tasks] == [cases.HANDOFF_TASK]
    row = await the_process(uow, admin)
    assert row.status == a.AGENT
    # The agent hands it back: the assistant asks the same question again, and the timer is armed again.
    await cases.hand_back(uow, admin, row.id, clock.now)
    assert (await said(uow))[-2:] == ["handback", "ask_name"]
    assert (await the_process(uow, admin)).due_at == clock.now + timedelta(minutes=30)


async def test_take_over_stops_the_assistant_at_once(uow: FunnelWorkFactory) -> None:
    tenant, clock = new_id(), Clock()
    admin = staff(tenant)
    await configure(uow, admin)
    lead = new_id()
    await deliver(uow, tenant, lead_created(lead), clock)
    row = await the_process(uow, admin)
    await cases.take_over(uow, admin, row.id, T0)
    before = await said(uow)
    await deliver(uow, tenant, reply(lead, "Maria Souza", at=T0 + timedelta(minutes=1)), clock)
    clock.now = T0 + timedelta(days=1)
    assert await cases.timer_round(uow, clock) == 0
    assert await said(uow) == before  # nothing more from the assistant
    (handed,) = await outbox(uow, "clinicflow.funnel.assistant.handed_over.v1")
    assert handed["by"] == f"agent:{admin.user_id}"
    await cases.hand_back(uow, admin, row.id, clock.now)
    with pytest.raises(Conflict):
        await cases.hand_back(uow, admin, row.id, clock.now)
    with pytest.raises(NotFound):
        await cases.take_over(uow, staff(new_id()), row.id, clock.now)  # another clinic's process


async def test_the_set_up_is_checked(uow: FunnelWorkFactory) -> None:
    admin = staff(new_id())
    bad: list[tuple[dict[str, Any], str]] = [
        ({"procedures": []}, "enabled"),
        ({"messages": {"en": {"ask_cpf": "CPF {url}?"}}}, "messages.en.ask_cpf"),
        ({"messages": {"de": {"ask_cpf": "CPF?"}}}, "messages"),
        ({"procedures": [a.Option("x", "Botox", "-1")]}, "procedures.0.amount"),
        ({"regions": [a.Option("x", "A very long region name here")]}, "regions.0.title"),
        ({"default_locale": "fr"}, "default_locale"),
        ({"reply_minutes": 0}, "reply_minutes"),
    ]
    for overrides, where in bad:
        with pytest.raises(InvalidFunnel) as err:
            await configure(uow, admin, **overrides)
        assert err.value.field == where
    with pytest.raises(Conflict):  # switched off: staff cannot start it
        await cases.start(uow, admin, lead_id=new_id(), channel="telegram", address="12345", name=None, locale=None,
                          now=T0)  # fmt: skip
    await configure(uow, admin)
    with pytest.raises(InvalidFunnel) as err:
        await cases.start(uow, admin, lead_id=new_id(), channel="fax", address="1", name=None, locale=None, now=T0)
    assert err.value.field == "channel"
    lead = new_id()
    await cases.start(uow, admin, lead_id=lead, channel="telegram", address="12345", name="Ana", locale="es", now=T0)
    with pytest.raises(Conflict):
        await cases.start(uow, admin, lead_id=lead, channel="telegram", address="12345", name=None, locale=None,
                          now=T0)  # fmt: skip
    messages = await outbox(uow, "clinicflow.funnel.assistant.message_requested.v1")
    assert [(m["channel"], m["locale"], m["to"]) for m in messages] == [("telegram", "es", "12345")]


async def test_a_lead_from_elsewhere_or_a_clinic_without_the_assistant_gets_nothing(uow: FunnelWorkFactory) -> None:
    tenant, clock = new_id(), Clock()
    await deliver(uow, tenant, lead_created(new_id()), clock)  # not configured
    admin = staff(tenant)
    await configure(uow, admin)
    call = LeadCreatedV1(lead_id=new_id(), name="Ana", phone=PHONE, source="call", created_at=T0, channel="call")
    await deliver(uow, tenant, call, clock)
    assert await said(uow) == []


@pytest.mark.parametrize("channel", ["telegram", "instagram"])
async def test_a_telegram_or_instagram_lead_is_greeted_and_asked_on_its_channel(
    uow: FunnelWorkFactory, channel: str
) -> None:
    """A lead that wrote on Telegram or Instagram (no phone, its chat / user id in `contacts`) gets the same
    questions on that channel: the choices as buttons (Telegram's inline keyboard) or numbered lines
    (notifications renders them per channel), answered by tap, number or title."""
    tenant, clock = new_id(), Clock()
    admin = staff(tenant)
    await configure(uow, admin)
    lead, chat = new_id(), "812345678"
    created = LeadCreatedV1(
        lead_id=lead, name=f"{channel.title()} {chat}", phone="", source=channel, created_at=T0, channel="message",
        contacts={channel: chat},
    )  # fmt: skip
    await deliver(uow, tenant, created, clock)
    (ask,) = await outbox(uow, "clinicflow.funnel.assistant.message_requested.v1")
    assert (ask["channel"], ask["to"], ask["key"]) == (channel, chat, "greeting+ask_name")

    def said_on(text_: str | None = None, choice: str | None = None, *, minutes: int) -> MessageReceivedV1:
        return MessageReceivedV1(
            conversation_id="c2", message_id=new_id(), lead_id=None, channel=channel, sender=chat, text=text_,
            button_id=choice, provider=channel, provider_message_id=new_id(),
            received_at=T0 + timedelta(minutes=minutes),
        )  # fmt: skip

    await deliver(uow, tenant, said_on("lucas prado", minutes=1), clock)
    await deliver(uow, tenant, said_on("529.982.247-25", minutes=2), clock)
    # Telegram taps come back as the button's id; on Instagram the person answers with the number.
    pick = said_on(choice=f"asst:procedure:{BOTOX}", minutes=3) if channel == "telegram" else said_on("1", minutes=3)
    await deliver(uow, tenant, pick, clock)
    await deliver(uow, tenant, said_on("Moema", minutes=4), clock)
    assert await said(uow) == ["greeting", "ask_name", "ask_cpf", "ask_procedure", "ask_region"]
    messages = await outbox(uow, "clinicflow.funnel.assistant.message_requested.v1")
    assert {(m["channel"], m["to"]) for m in messages} == {(channel, chat)}
    assert [o["title"] for o in messages[2]["options"]] == ["Botox", "Peeling"]
    (asked,) = await outbox(uow, "clinicflow.funnel.assistant.payment_link_requested.v1")
    assert (asked["person"]["lead_id"], asked["person"]["phone"], asked["cpf"]) == (lead, None, "52998224725")
    row = await the_process(uow, admin)
    assert (row.channel, row.address, row.step, row.name) == (channel, chat, a.PAYMENT_LINK, "Lucas Prado")
    answers = await outbox(uow, "clinicflow.funnel.assistant.answer_recorded.v1")
    assert answers[0]["deal_id"]  # the lead's deal (no phone on it) carries the answers too
    card = await core.card(uow, admin, answers[0]["deal_id"])
    assert card["deal"].name == "Lucas Prado"
    # Another lead from a form (no channel address): no assistant.
    await deliver(uow, tenant, LeadCreatedV1(lead_id=new_id(), name="Ana", phone="", source=channel, created_at=T0,
                                             channel="web_form"), clock)  # fmt: skip
    assert len((await cases.processes(uow, admin, status=None, limit=10, offset=0))[0]) == 1
