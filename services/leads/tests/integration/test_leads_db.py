"""Leads' use cases and agenda handlers on a real, migrated PostgreSQL with the real unit of work
(LeadsUnitOfWork): what the in-memory tier (tests/unit/test_use_cases.py) assumes of the repositories holds
here too, and the consumers' writes (status, history, call-back activity, outbox rows) are stored as one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import select

from contracts import EventMeta
from contracts.claims import CRM_ADMIN, CRM_READ, CRM_WRITE
from contracts.leads import LeadCreatedV1
from contracts.notifications import MessageReceivedV1
from contracts.people import Person
from contracts.scheduling import AppointmentBookedV1, AppointmentNoShowV1, ReturnBookedV1
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine, uow_factory
from kit.outbox import outbox_table
from leads.domain.activities import ActivityQuery
from leads.domain.errors import DuplicateLead, InvalidTransition, LeadNotFound
from leads.schemas.leads import LeadOut
from leads.services import activities as activity_cases
from leads.services import leads as cases
from leads.services import requests as request_cases
from leads.services import sync
from leads.services.work import LeadsUnitOfWork, LeadsWorkFactory

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def engine(infra: Infra) -> AsyncIterator[Any]:
    url = await asyncio.to_thread(fresh_database, infra, "leads")
    engine = make_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def uow(engine: Any) -> LeadsWorkFactory:
    return uow_factory(engine, "leads", LeadsUnitOfWork)  # type: ignore[return-value]


def principal(tenant_id: str | None = None) -> Principal:
    return Principal(
        user_id=new_id(),
        tenant_id=tenant_id or new_id(),
        email="front@clinic.test",
        permissions=frozenset({CRM_READ, CRM_WRITE, CRM_ADMIN}),
    )


def meta(tenant_id: str) -> EventMeta:
    now = datetime.now(UTC)
    return EventMeta(
        id=new_id(), source="clinicflow/scheduling", type="t", time=now, subject="s", tenant_id=tenant_id,
        correlation_id=new_id(),
    )  # fmt: skip


async def consume(uow: LeadsWorkFactory, handler: Any, event: Any, tenant_id: str) -> None:
    async with uow() as work:
        await handler(work, event, meta(tenant_id))
        await work.commit()


async def outbox_types(engine: Any, lead_id: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            select(outbox_table.c.event_type).where(outbox_table.c.key == lead_id).order_by(outbox_table.c.id)
        )
        return [r[0].split(".")[-2] for r in rows]


async def test_intake_dedupe_edit_and_refusals_on_postgres(uow: LeadsWorkFactory, engine: Any) -> None:
    me = principal()
    new = cases.NewLead(name="Maria Souza", phones=["11 98765-4321"], source="instagram")
    lead = (await cases.create_lead(uow, me, new)).lead
    with pytest.raises(DuplicateLead):
        await cases.create_lead(uow, me, new)
    again = await cases.create_lead(uow, me, new, on_duplicate="add_request")
    assert again.existing
    assert again.lead.id == lead.id
    with pytest.raises(InvalidTransition):
        await cases.change_status(uow, me, lead.id, "VISIT_COMPLETED", None)
    await cases.edit_lead(uow, me, lead.id, {"city": "Campinas"})
    assert (await cases.get_lead(uow, me, lead.id)).city == "Campinas"
    with pytest.raises(LeadNotFound):
        await cases.get_lead(uow, principal(), lead.id)  # another clinic
    assert await outbox_types(engine, lead.id) == ["created", "created", "updated"]  # lead, request, edit


async def test_a_no_show_and_a_return_visit_on_the_sales_card(uow: LeadsWorkFactory, engine: Any) -> None:
    me = principal()
    lead = (
        await cases.create_lead(uow, me, cases.NewLead(name="Rita", phones=["11 91234-5678"], source="walk_in"))
    ).lead
    visit = new_id()
    at = datetime.now(UTC) + timedelta(days=2)

    def booked(appointment_id: str, **extra: Any) -> AppointmentBookedV1:
        values: dict[str, Any] = {
            "appointment_id": appointment_id, "person": Person(lead_id=lead.id), "branch_id": new_id(),
            "branch_name": "Paulista", "professional_id": new_id(), "professional_name": "Dra. Lia",
            "procedure_id": new_id(), "procedure_name": "Evaluation", "starts_at": at,
            "ends_at": at + timedelta(minutes=30), "timezone": "America/Sao_Paulo", "source": "staff",
            "booked_by": me.user_id, "booked_at": datetime.now(UTC),
        }  # fmt: skip
        return AppointmentBookedV1(**{**values, **extra})

    await consume(uow, sync.booked, booked(visit), me.tenant_id)
    marked = AppointmentNoShowV1(
        appointment_id=visit, person=Person(lead_id=lead.id), starts_at=at, marked_by=me.user_id,
        marked_at=datetime.now(UTC),
    )  # fmt: skip
    await consume(uow, sync.no_show, marked, me.tenant_id)
    await consume(uow, sync.no_show, marked, me.tenant_id)  # marked twice: one call-back
    card = await cases.get_lead(uow, me, lead.id)
    assert card.status == "REQUIRES_FOLLOW_UP"
    assert card.next_appointment_id is None
    calls, total = await activity_cases.find(uow, me, ActivityQuery(lead_id=lead.id))
    assert total == 1
    assert calls[0].title == "Call Rita to rebook (missed appointment)"
    assert calls[0].responsible_id == me.user_id

    back = new_id()
    await consume(uow, sync.booked, booked(back, source="return", return_of=visit), me.tenant_id)
    returned = ReturnBookedV1(
        appointment_id=back, person=Person(lead_id=lead.id), previous_appointment_id=visit, branch_id=new_id(),
        professional_id=new_id(), procedure_id=new_id(), starts_at=at, timezone="America/Sao_Paulo",
        booked_by=me.user_id, booked_at=datetime.now(UTC),
    )  # fmt: skip
    await consume(uow, sync.return_booked, returned, me.tenant_id)
    card = await cases.get_lead(uow, me, lead.id)
    assert (card.status, card.next_appointment_id, card.next_appointment_procedure) == (
        "APPOINTMENT_SCHEDULED",
        back,
        "Evaluation",
    )
    history = await cases.status_history(uow, me, lead.id)
    assert [h.comment for h in history[1:]] == [
        "booked via scheduling",
        "did not come to the appointment (no-show)",
        "return visit booked via scheduling",
    ]
    trail = await cases.audit_trail(uow, me, lead.id, limit=50, offset=0)
    assert trail[-1].action == "return_booked"
    assert trail[-1].changes["return_of"] == visit
    # booked, no-show (with its call-back's activity.scheduled), the return; nothing for the second marking
    assert await outbox_types(engine, lead.id) == [
        "created",
        "status_changed",
        "status_changed",
        "scheduled",
        "status_changed",
    ]


async def test_a_telegram_sender_becomes_one_lead_reached_at_the_chat(uow: LeadsWorkFactory, engine: Any) -> None:
    """Telegram / Instagram senders are no phone: the lead is reached at their address (contacts), no phone yet;
    the same sender writing again before notifications knows the lead makes no second lead."""
    me = principal()
    chat = str(900_000_000 + int(new_id()[:6], 16))

    def message(text: str, channel: str = "telegram", sender: str = chat) -> MessageReceivedV1:
        return MessageReceivedV1(
            conversation_id=new_id(), message_id=new_id(), channel=channel, sender=sender, sender_name="Lucas Prado",
            text=text, provider="sandbox", provider_message_id=new_id(), received_at=datetime.now(UTC),
        )  # fmt: skip

    await consume(uow, sync.message_received, message("Oi, quero agendar"), me.tenant_id)
    await consume(uow, sync.message_received, message("Alô?"), me.tenant_id)
    async with uow() as work:
        found = await work.leads.open_by_handle(me.tenant_id, "telegram", chat)
    assert len(found) == 1
    lead = found[0]
    assert (lead.name, lead.phone, lead.phones, lead.contacts) == ("Lucas Prado", "", (), {"telegram": chat})
    assert (lead.source, lead.channel) == ("telegram", "message")
    assert await outbox_types(engine, lead.id) == ["created", "created"]  # the lead and its one request
    async with engine.connect() as conn:
        payload = (
            await conn.execute(
                select(outbox_table.c.payload).where(
                    outbox_table.c.key == lead.id, outbox_table.c.event_type == LeadCreatedV1.TYPE
                )
            )
        ).scalar_one()
    created = msgspec.json.decode(payload, type=LeadCreatedV1)
    assert (created.phone, created.contacts, created.source) == ("", {"telegram": chat}, "telegram")
    # Staff add the phone later (e.g. for a payment); the address stays.
    await cases.edit_lead(uow, me, lead.id, {"phones": ["11 98765-4321"]})
    edited = await cases.get_lead(uow, me, lead.id)
    assert (edited.phone, edited.contacts) == ("+5511987654321", {"telegram": chat})
    # The API's lead says where else the person is reached (the console starts the assistant there).
    assert LeadOut.of(edited).contacts == {"telegram": chat}
    # Instagram the same way; a blank sender makes no lead.
    await consume(uow, sync.message_received, message("Olá", "instagram", "17841400" + chat), me.tenant_id)
    async with uow() as work:
        assert len(await work.leads.open_by_handle(me.tenant_id, "instagram", "17841400" + chat)) == 1
        await sync.message_received(work, message("x", "telegram", "  "), meta(me.tenant_id))


async def test_activities_and_the_bell_name_their_prospects_in_one_query(uow: LeadsWorkFactory) -> None:
    """The list's and the bell's activities carry their lead's name from the join the query makes anyway (no
    query per lead); a deleted lead's activities are gone with it, another clinic sees none."""
    me = principal()
    soon = datetime.now(UTC) + timedelta(hours=1)
    names = ["Ana Beatriz Prado", "Caio Ramos"]
    leads = [
        (await cases.create_lead(uow, me, cases.NewLead(name=n, phones=[p], source="walk_in"))).lead
        for n, p in zip(names, ["11 97000-0001", "11 97000-0002"], strict=True)
    ]
    for i, lead in enumerate(leads):
        planned = activity_cases.NewActivity(type="call", scheduled_at=soon + timedelta(minutes=i))
        await activity_cases.schedule(uow, me, lead.id, planned)
    found, total = await activity_cases.find(uow, me, ActivityQuery())
    assert (total, [a.lead_name for a in found]) == (2, names)
    assert [a.lead_name for a in (await activity_cases.bell(uow, me)).next] == names
    one = await activity_cases.get(uow, me, found[1].id)
    assert one.lead_name == "Caio Ramos"
    await cases.edit_lead(uow, me, leads[1].id, {"name": "Caio Ramos Filho"})
    found, _ = await activity_cases.find(uow, me, ActivityQuery(lead_id=leads[1].id))
    assert [a.lead_name for a in found] == ["Caio Ramos Filho"]
    await cases.delete_lead(uow, me, leads[0].id, confirm=True)
    found, total = await activity_cases.find(uow, me, ActivityQuery())
    assert (total, [a.lead_name for a in found]) == (1, ["Caio Ramos Filho"])
    assert await activity_cases.find(uow, principal(), ActivityQuery()) == ([], 0)


async def test_a_request_is_corrected_in_its_own_clinic_only(uow: LeadsWorkFactory, engine: Any) -> None:
    me = principal()
    made = await cases.create_lead(
        uow, me, cases.NewLead(name="Lia Campos", phones=["11 97000-0003"], source="walk_in", treatment="evaluation")
    )
    assert made.request is not None
    lead_id, request_id = made.lead.id, made.request.id
    with pytest.raises(LeadNotFound):
        await request_cases.update(uow, principal(), lead_id, request_id, {"reason": "not theirs"})
    edited = await request_cases.update(uow, me, lead_id, request_id, {"reason": "Implante", "channel": "video"})
    assert (edited.reason, edited.channel, edited.treatment) == ("Implante", "video", "evaluation")
    stored = await request_cases.for_lead(uow, me, lead_id)
    assert [(r.reason, r.channel) for r in stored] == [("Implante", "video")]
    trail = await cases.audit_trail(uow, me, lead_id, limit=50, offset=0)
    assert trail[-1].entity == "request"
    assert trail[-1].changes == {"reason": [None, "Implante"], "channel": [None, "video"]}
    assert await outbox_types(engine, lead_id) == ["created", "created"]  # the lead and its request; no more
