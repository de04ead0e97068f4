"""Scheduling's use cases on a real, migrated PostgreSQL: the no-double-booking constraint under a real race,
holds that lapse, the payment gate, the reminder scheduler (SKIP LOCKED, never twice, moves, disappears),
immutability of signed forms, tenant isolation. Clock: a FixedClock the test moves."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

import msgspec
import pytest
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from contracts import EventMeta
from contracts.notifications import MessageReceivedV1
from contracts.payments import PaymentConfirmedV1
from contracts.people import Person as PersonV1
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine, uow_factory
from kit.outbox import outbox_table
from scheduling.domain.appointments import Person
from scheduling.domain.clock import FixedClock
from scheduling.domain.errors import Conflict, Invalid, NotFound, PaymentRequired
from scheduling.models import reminders
from scheduling.repository.appointments import AppointmentRepository
from scheduling.schemas import BranchIn, HoursIn, ProcedureIn, ProfessionalIn
from scheduling.services import booking, inbound, reception, setup, waitlist
from scheduling.services import reminders as scheduler
from scheduling.services.catalog import CatalogCache
from scheduling.services.env import Env, Links
from scheduling.services.work import SchedulingUnitOfWork, SchedulingWorkFactory

SP = ZoneInfo("America/Sao_Paulo")
SECRET = "x" * 40
MONDAY = date(2027, 3, 1)  # not a holiday in Brazil
PERMS = frozenset({"scheduling:read", "scheduling:book", "scheduling:checkin", "scheduling:visit", "scheduling:admin"})


@dataclass
class Clinic:
    env: Env
    clock: FixedClock
    principal: Principal
    branch_id: str
    professional_id: str
    procedure_id: str
    prepaid_id: str


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SP)


@pytest.fixture(scope="module")
async def db_url(infra: Infra) -> str:
    return await asyncio.to_thread(fresh_database, infra, "scheduling")


@pytest.fixture(scope="module")
async def engine(db_url: str) -> AsyncIterator[Any]:
    made = make_engine(db_url, pool_size=10)
    yield made
    await made.dispose()


async def new_clinic(engine: Any) -> Clinic:
    clock = FixedClock(datetime(2027, 2, 20, 12, tzinfo=UTC))
    env = Env(
        uow=cast(SchedulingWorkFactory, uow_factory(engine, "scheduling", SchedulingUnitOfWork)),
        clock=clock,
        links=Links(SECRET, "http://gw", 3600),
    )
    principal = Principal(user_id=new_id(), tenant_id=new_id(), email="a@x", permissions=PERMS)
    branch = await setup.add_branch(
        env, principal, BranchIn(name="Moema", timezone="America/Sao_Paulo", address="Rua 1")
    )
    pro = await setup.add_professional(
        env,
        principal,
        ProfessionalIn(
            name="Dra. Ana",
            kind="doctor",
            specialties=["aesthetics"],
            branch_ids=[branch.id],  # type: ignore[list-item]
            hours=[HoursIn(weekday=d, start="09:00", end="18:00", branch_id=branch.id) for d in range(5)],  # type: ignore[arg-type]
        ),
    )
    proc = await setup.add_procedure(
        env, principal, ProcedureIn(name="Avaliação", duration_minutes=30, specialty="aesthetics")
    )
    prepaid = await setup.add_procedure(
        env, principal, ProcedureIn(name="Botox", duration_minutes=60, specialty="aesthetics", prepayment_required=True)
    )
    return Clinic(env, clock, principal, branch.id, pro.id, proc.id, prepaid.id)


def person(lead_id: str | None = None) -> Person:
    return Person(lead_id=lead_id or new_id(), name="Maria Souza", phone="+5511987654321")


async def book(c: Clinic, when: datetime, **extra: Any) -> Any:
    fields = {
        "branch_id": c.branch_id,
        "procedure_id": c.procedure_id,
        "professional_id": c.professional_id,
        "starts_at": when,
        "person": person(),
    } | extra
    return await booking.book(c.env, c.principal.tenant_id, booked_by=c.principal.user_id, **fields)


async def events(engine: Any, key: str) -> list[tuple[str, dict[str, Any]]]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                select(outbox_table.c.event_type, outbox_table.c.payload)
                .where(outbox_table.c.key == key)
                .order_by(outbox_table.c.id)
            )
        ).all()
    return [(t.rsplit(".", 2)[-2], msgspec.json.decode(p)) for t, p in rows]


async def test_two_concurrent_bookings_of_one_slot_one_wins(engine: Any) -> None:
    c = await new_clinic(engine)
    outcomes = await asyncio.gather(*(book(c, at(MONDAY, 10)) for _ in range(6)), return_exceptions=True)
    won = [o for o in outcomes if not isinstance(o, BaseException)]
    lost = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(won) == 1
    assert len(lost) == 5
    assert all(isinstance(e, Conflict) and e.slug == "slot-taken" for e in lost)
    # an overlapping (not identical) time is refused as well; the neighbouring slot is free
    with pytest.raises(Conflict):
        await book(c, at(MONDAY, 10, 15))
    await book(c, at(MONDAY, 10, 30))
    slots = (
        await booking.availability(
            c.env,
            c.principal.tenant_id,
            branch_id=c.branch_id,
            procedure_id=c.procedure_id,
            professional_id=None,
            start=MONDAY,
            end=MONDAY,
        )
    ).slots()
    starts = [s.starts_at for s, _ in slots]
    assert at(MONDAY, 10) not in starts
    assert at(MONDAY, 9, 30) in starts
    assert at(MONDAY, 11) in starts


async def test_bad_bookings_are_refused_and_store_nothing(engine: Any) -> None:
    c = await new_clinic(engine)
    cases = [
        ({"starts_at": at(MONDAY, 8)}, Invalid, "starts_at"),
        ({"starts_at": at(date(2027, 2, 19), 10)}, Invalid, "starts_at"),  # in the past
        ({"starts_at": at(date(2027, 4, 21), 10)}, Invalid, "starts_at"),  # Tiradentes
        ({"procedure_id": new_id()}, NotFound, "procedure_id"),
        ({"professional_id": new_id()}, NotFound, "professional_id"),
        ({"branch_id": new_id()}, NotFound, "branch_id"),
    ]
    for extra, error, field in cases:
        with pytest.raises(error) as caught:
            await book(c, at(MONDAY, 10), **extra)
        assert caught.value.field == field
    async with engine.connect() as conn:
        count = await conn.scalar(
            text("SELECT count(*) FROM appointments WHERE tenant_id = :t"), {"t": c.principal.tenant_id}
        )
    assert count == 0


async def test_a_hold_keeps_the_slot_then_lapses_by_itself(engine: Any) -> None:
    c = await new_clinic(engine)
    held = await booking.hold(
        c.env,
        c.principal.tenant_id,
        branch_id=c.branch_id,
        procedure_id=c.procedure_id,
        professional_id=c.professional_id,
        starts_at=at(MONDAY, 11),
        person=person(),
        held_by="u",
    )
    with pytest.raises(Conflict):
        await book(c, at(MONDAY, 11))
    c.clock.advance(timedelta(minutes=11))  # the default hold is 10 minutes
    slots = (
        await booking.availability(
            c.env,
            c.principal.tenant_id,
            branch_id=c.branch_id,
            procedure_id=c.procedure_id,
            professional_id=None,
            start=MONDAY,
            end=MONDAY,
        )
    ).slots()
    assert at(MONDAY, 11) in [s.starts_at for s, _ in slots]
    with pytest.raises(Conflict, match="expired"):
        await book(c, at(MONDAY, 11), hold_id=held.id)
    taken = await book(c, at(MONDAY, 11))
    assert taken.status == "booked"


async def test_prepayment_gate_reschedule_keeps_payment_cancel_refunds(engine: Any) -> None:
    c = await new_clinic(engine)
    lead = new_id()
    who = person(lead)
    with pytest.raises(PaymentRequired):
        await book(c, at(MONDAY, 14), procedure_id=c.prepaid_id, person=who)
    paid = PaymentConfirmedV1(
        payment_id="pay-" + new_id(),
        person=PersonV1(lead_id=lead, name="Maria"),
        procedure_id=c.prepaid_id,
        amount="350.00",
        currency="BRL",
        method="pix",
        provider="sandbox",
        provider_payment_id="x",
        paid_at=c.clock.now(),
    )
    meta = EventMeta(
        id=new_id(),
        source="t",
        type=paid.TYPE,
        time=c.clock.now(),
        subject=paid.payment_id,
        tenant_id=c.principal.tenant_id,
        correlation_id=new_id(),
    )
    async with c.env.uow() as uow:
        await inbound.payment_confirmed(c.env, uow, paid, meta)
        await uow.commit()
    a = await book(c, at(MONDAY, 14), procedure_id=c.prepaid_id, person=who)
    assert a.payment_id == paid.payment_id
    # the payment is used up: a second booking needs a second payment
    with pytest.raises(PaymentRequired):
        await book(c, at(MONDAY, 16), procedure_id=c.prepaid_id, person=who)
    moved = await booking.reschedule(
        c.env, c.principal.tenant_id, a.id, starts_at=at(MONDAY, 15), professional_id=None, by="u"
    )
    assert (moved.payment_id, moved.starts_at) == (paid.payment_id, at(MONDAY, 15))
    _, refund = await booking.cancel(c.env, c.principal.tenant_id, a.id, reason="trip", by="u")
    assert refund
    kinds = await events(engine, a.id)
    assert [k for k, _ in kinds] == ["booked", "rescheduled", "cancelled"]
    assert kinds[-1][1]["refund_due"] is True
    assert kinds[-1][1]["payment_id"] == paid.payment_id


async def test_reminders_fire_once_move_with_reschedule_and_vanish_with_cancel(engine: Any) -> None:
    c = await new_clinic(engine)
    kept = await book(c, at(MONDAY, 10))
    moved = await book(c, at(MONDAY, 11))
    dropped = await book(c, at(MONDAY, 12, 30))
    await booking.reschedule(
        c.env, c.principal.tenant_id, moved.id, starts_at=at(MONDAY, 16), professional_id=None, by="u"
    )
    await booking.cancel(c.env, c.principal.tenant_id, dropped.id, reason=None, by="u")
    # just past the day-before reminder of 10:00 and 16:00: two concurrent dispatchers share them
    c.clock.at = at(date(2027, 2, 28), 16, 1).astimezone(UTC)
    # (other tests' clinics share this database and their reminders are due too: the worker serves all)
    await asyncio.gather(*(scheduler.dispatch_due(c.env, limit=1) for _ in range(4)))
    await asyncio.gather(*(scheduler.dispatch_due(c.env) for _ in range(4)))
    assert await scheduler.dispatch_due(c.env) == 0
    due = [(k, e) for a in (kept, moved, dropped) for k, e in await events(engine, a.id) if k == "due"]
    assert sorted((e["appointment_id"], e["offset_minutes"]) for _, e in due) == sorted(
        [(kept.id, 1440), (moved.id, 1440)]
    )
    # Each carries the appointment's explained no-show risk: unconfirmed, a day to go, no history yet.
    risk = next(e for _, e in due if e["appointment_id"] == kept.id)["no_show_risk"]
    assert risk["level"] in ("low", "medium", "high")
    assert risk["score"] == sum(reason["points"] for reason in risk["reasons"])
    assert risk["reasons"][0] == {"factor": "base", "points": 10, "detail": "every appointment"}
    async with engine.connect() as conn:  # never twice, for any clinic
        fired = (
            await conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT convert_from(payload, 'UTF8')::json->>'reminder_id') FROM outbox "
                    "WHERE event_type = 'clinicflow.scheduling.reminder.due.v1'"
                )
            )
        ).one()
    assert fired[0] == fired[1]
    # five hours before 10:00 -> 05:00
    c.clock.at = at(MONDAY, 5, 0).astimezone(UTC)
    await scheduler.dispatch_due(c.env)
    assert [e["offset_minutes"] for k, e in await events(engine, kept.id) if k == "due"] == [1440, 300]
    async with engine.connect() as conn:
        rows = (await conn.execute(select(reminders.c.appointment_id, reminders.c.status))).all()
    assert not [r for r in rows if r.appointment_id == dropped.id]


async def test_whatsapp_button_confirms_and_check_in_to_done(engine: Any) -> None:
    c = await new_clinic(engine)
    a = await book(c, at(MONDAY, 10))
    reply = MessageReceivedV1(
        conversation_id="c",
        message_id=new_id(),
        channel="whatsapp",
        sender="+5511987654321",
        button_id=f"appt:{a.id}:confirm",
        provider="sandbox",
        provider_message_id="w1",
        received_at=c.clock.now(),
    )
    meta = EventMeta(
        id=new_id(),
        source="t",
        type=reply.TYPE,
        time=c.clock.now(),
        subject="c",
        tenant_id=c.principal.tenant_id,
        correlation_id=new_id(),
    )
    for _ in range(2):  # a second tap changes nothing
        async with c.env.uow() as uow:
            await inbound.message_received(c.env, uow, reply, meta)
            await uow.commit()
    c.clock.at = at(MONDAY, 9, 50).astimezone(UTC)
    await reception.check_in(c.env, c.principal, a.id)
    c.clock.advance(timedelta(minutes=12))
    _, rows = await reception.board(c.env, c.principal.tenant_id, c.branch_id)
    assert [r.appointment.status for r in rows] == ["arrived"]
    await reception.start_visit(c.env, c.principal, a.id)
    await reception.complete_visit(
        c.env, c.principal, a.id, return_needed=True, return_in_days=30, procedures_done=None
    )
    returns = await reception.returns_to_book(c.env, c.principal, c.branch_id)
    assert [r.appointment.id for r in returns] == [a.id]
    new = await reception.book_return(
        c.env, c.principal, a.id, starts_at=at(date(2027, 3, 31), 10), professional_id=None, procedure_id=None
    )
    assert new.source == "return"
    assert await reception.returns_to_book(c.env, c.principal, c.branch_id) == []
    kinds = [k for k, _ in await events(engine, a.id)]
    assert kinds == ["booked", "confirmed", "arrived", "started", "completed"]
    assert [k for k, _ in await events(engine, new.id)] == ["booked", "booked"]


async def test_another_clinic_sees_and_touches_nothing(engine: Any) -> None:
    c = await new_clinic(engine)
    other = await new_clinic(engine)
    a = await book(c, at(MONDAY, 10))
    with pytest.raises(NotFound):
        await booking.get(other.env, other.principal.tenant_id, a.id)
    with pytest.raises(NotFound):
        await booking.cancel(other.env, other.principal.tenant_id, a.id, reason=None, by="x")
    with pytest.raises(NotFound):  # other's token cannot book on c's professional
        await book(other, at(MONDAY, 10), professional_id=c.professional_id, branch_id=other.branch_id)
    assert await setup.list_branches(other.env, other.principal) != await setup.list_branches(c.env, c.principal)


async def test_signed_forms_are_immutable_in_the_database(engine: Any) -> None:
    c = await new_clinic(engine)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO anamnesis_submissions (id, tenant_id, appointment_id, questionnaire_id, signed_document,"
                " sha256, signature_kind, signed_at, ip, user_agent) VALUES (:id, :t, :a, :q, '{}', 'h', 'typed',"
                " now(), '1.2.3.4', 'ua')"
            ),
            {"id": new_id(), "t": c.principal.tenant_id, "a": new_id(), "q": new_id()},
        )
    with pytest.raises(Exception, match="immutable"):
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE anamnesis_submissions SET sha256 = 'forged'"))


async def test_a_cancelled_slot_goes_to_the_waitlist_in_order(engine: Any) -> None:
    c = await new_clinic(engine)
    taken = await book(c, at(MONDAY, 10))
    first = await waitlist.join(
        c.env,
        c.principal,
        branch_id=c.branch_id,
        procedure_id=c.procedure_id,
        professional_id=None,
        person=person(),
        not_before=None,
        not_after=None,
    )
    c.clock.advance(timedelta(seconds=1))
    second = await waitlist.join(
        c.env,
        c.principal,
        branch_id=c.branch_id,
        procedure_id=c.procedure_id,
        professional_id=None,
        person=person(),
        not_before=None,
        not_after=None,
    )
    await booking.cancel(c.env, c.principal.tenant_id, taken.id, reason=None, by="u")
    offers = [e for _, e in await events(engine, first.id)]
    assert len(offers) == 1
    assert offers[0]["starts_at"].startswith("2027-03-01T13:00")
    with pytest.raises(Conflict):  # held for the first person
        await book(c, at(MONDAY, 10))
    # the first lets it lapse: it passes to the second, who accepts
    c.clock.advance(timedelta(minutes=11))
    assert await waitlist.pass_on_lapsed_offers(c.env) == 1
    to_second = [e for _, e in await events(engine, second.id)]
    assert len(to_second) == 1
    accept_url = to_second[0]["accept_url"]  # a signed link; the hold id travels inside it
    assert accept_url.startswith("http://gw/public/scheduling/waitlist/accept?token=")
    entries = {e.id: e for e in await waitlist.listing(c.env, c.principal, c.branch_id)}
    assert (entries[first.id].status, entries[second.id].status) == ("expired", "offered")
    accepted = await waitlist.accept(c.env, c.principal.tenant_id, second.id, entries[second.id].hold_id or "", "l")
    assert (accepted.status, accepted.source, accepted.starts_at) == ("booked", "waitlist", at(MONDAY, 10))
    with pytest.raises(Conflict):  # first to accept gets it; the offer is closed now
        await waitlist.accept(c.env, c.principal.tenant_id, second.id, entries[second.id].hold_id or "", "l")
    _, risk = await waitlist.risk(c.env, c.principal.tenant_id, accepted.id)
    assert risk.level in ("low", "medium", "high")
    assert risk.reasons[0]["factor"] == "base"


async def test_the_cached_set_up_and_busy_time_follow_changes_made_on_another_replica(engine: Any, db_url: str) -> None:
    c = await new_clinic(engine)
    cache = CatalogCache(db_url)
    replica = replace(c.env, catalog=cache)  # an api process with its snapshots; c.env is another replica

    async def free_on_monday() -> list[datetime]:
        found = await booking.availability(
            replica,
            c.principal.tenant_id,
            branch_id=c.branch_id,
            procedure_id=c.procedure_id,
            professional_id=None,
            start=MONDAY,
            end=MONDAY,
        )
        return [s.starts_at for s, _ in found.slots()]

    try:
        assert (await free_on_monday())[0] == at(MONDAY, 9)
        assert c.principal.tenant_id in cache.entries
        # the other replica moves her Monday to the afternoon: its NOTIFY (at commit) drops our snapshot
        await setup.update_professional(
            c.env,
            c.principal,
            c.professional_id,
            ProfessionalIn(
                name="Dra. Ana",
                kind="doctor",
                specialties=["aesthetics"],
                branch_ids=[c.branch_id],  # type: ignore[list-item]
                hours=[HoursIn(weekday=0, start="14:00", end="18:00", branch_id=c.branch_id)],  # type: ignore[arg-type]
            ),
        )
        for _ in range(100):
            if c.principal.tenant_id not in cache.entries:
                break
            await asyncio.sleep(0.05)
        assert c.principal.tenant_id not in cache.entries
        assert (await free_on_monday())[0] == at(MONDAY, 14)
        key = f"{c.principal.tenant_id}:{c.professional_id}"
        assert key in cache.windows
        # a booking on the other replica: the appointments trigger's NOTIFY drops her busy window here
        await book(c, at(MONDAY, 14))
        for _ in range(100):
            if key not in cache.windows:
                break
            await asyncio.sleep(0.05)
        assert key not in cache.windows
        starts = await free_on_monday()
        assert at(MONDAY, 14) not in starts
        assert at(MONDAY, 14, 30) in starts
        # a hold is cached with its expiry: once lapsed its time is free again, with no write to tell anyone
        await booking.hold(
            c.env,
            c.principal.tenant_id,
            branch_id=c.branch_id,
            procedure_id=c.procedure_id,
            professional_id=c.professional_id,
            starts_at=at(MONDAY, 15),
            person=person(),
            held_by="u",
        )
        await asyncio.sleep(0.3)
        starts = await free_on_monday()
        assert at(MONDAY, 15) not in starts
        assert key in cache.windows  # read once, kept
        c.clock.advance(timedelta(minutes=11))
        starts = await free_on_monday()
        assert at(MONDAY, 15) in starts
        # another clinic's change leaves this clinic's snapshot alone
        assert c.principal.tenant_id in cache.entries
        other = await new_clinic(engine)
        await setup.add_branch(other.env, other.principal, BranchIn(name="Paulista", timezone="America/Sao_Paulo"))
        await asyncio.sleep(0.3)
        assert c.principal.tenant_id in cache.entries
    finally:
        await cache.close()


async def test_the_funnel_assistant_gets_the_persons_booking_link(engine: Any) -> None:
    from contracts.assistant import AssistantBookingLinkRequestedV1
    from kit import links
    from scheduling.services import assistant

    c = await new_clinic(engine)
    lead = new_id()
    request = AssistantBookingLinkRequestedV1(
        process_id=new_id(), lead_id=lead, request_id=new_id(), person=PersonV1(lead_id=lead, name="Maria Souza",
        phone="+5511987654321"), procedure_id=c.prepaid_id, branch_id=c.branch_id, requested_at=c.clock.now(),
    )  # fmt: skip
    meta = EventMeta(
        id=new_id(), source="test", type=request.TYPE, time=c.clock.now(), subject=request.process_id,
        tenant_id=c.principal.tenant_id, correlation_id=new_id(),
    )  # fmt: skip
    async with c.env.uow() as work:
        await assistant.booking_link_requested(c.env, work, request, meta)
        # A branch the clinic does not have: no link (the assistant's timer hands over to an agent).
        await assistant.booking_link_requested(
            c.env, work, msgspec.structs.replace(request, request_id=new_id(), branch_id=new_id()), meta
        )
        await work.commit()
    ((kind, issued),) = await events(engine, request.request_id)
    assert kind == "issued"
    assert (issued["process_id"], issued["branch_id"], issued["procedure_id"]) == (
        request.process_id, c.branch_id, c.prepaid_id,
    )  # fmt: skip
    token = issued["url"].split("token=")[1]
    link = links.verify(SECRET, token, purpose="book")
    assert (link.subject, link.tenant_id, link.data["lead_id"]) == (lead, c.principal.tenant_id, lead)


async def test_a_professional_is_linked_only_to_an_active_staff_member(engine: Any) -> None:
    from contracts.identity import StaffCreatedV1, StaffDeactivatedV1
    from scheduling.services import staff

    c = await new_clinic(engine)
    member = new_id()

    def pro(user_id: str) -> ProfessionalIn:
        return ProfessionalIn(name="Dr. Paulo", kind="doctor", user_id=user_id)  # type: ignore[arg-type]

    with pytest.raises(Invalid) as unknown:
        await setup.add_professional(c.env, c.principal, pro(member))
    assert unknown.value.field == "user_id"
    other = Principal(user_id=new_id(), tenant_id=new_id(), email="b@x", permissions=PERMS)
    with pytest.raises(Invalid):  # a member of another clinic is a stranger here
        await setup.add_professional(c.env, other, pro(c.principal.user_id))

    async def announce(event: Any) -> None:
        meta = EventMeta(
            id=new_id(), source="test", type=event.TYPE, time=c.clock.now(), subject=member,
            tenant_id=c.principal.tenant_id, correlation_id=new_id(),
        )  # fmt: skip
        async with c.env.uow() as uow:
            await staff.staff_changed(c.env, uow, event, meta)
            await uow.commit()

    record = {"user_id": member, "full_name": "Paulo", "email": "p@x", "roles": ["professional"]}
    await announce(StaffCreatedV1(**record, changed_at=c.clock.now()))  # type: ignore[arg-type]
    linked = await setup.add_professional(c.env, c.principal, pro(member))
    assert linked.user_id == member
    # the caller may link themself (the directory may be a moment behind the gateway)
    assert (await setup.add_professional(c.env, c.principal, pro(c.principal.user_id))).user_id == c.principal.user_id
    await announce(StaffDeactivatedV1(**record, active=False, changed_at=c.clock.now() + timedelta(seconds=1)))  # type: ignore[arg-type]
    # a late duplicate of the older record does not bring the member back
    await announce(StaffCreatedV1(**record, changed_at=c.clock.now()))  # type: ignore[arg-type]
    with pytest.raises(Invalid):
        await setup.update_professional(c.env, c.principal, linked.id, pro(member))


QUESTIONS = [
    {"title": "Saúde", "questions": [{"id": "allergies", "label": "Alergias?", "type": "yes_no", "required": True}]}
]


async def test_a_questionnaire_is_changed_and_removed_by_archiving(engine: Any) -> None:
    from scheduling.schemas import PolicyIn

    c = await new_clinic(engine)
    other = await new_clinic(engine)
    first = await setup.add_questionnaire(c.env, c.principal, "Anamnese", QUESTIONS)
    second = await setup.add_questionnaire(c.env, c.principal, "Retorno", QUESTIONS)
    changed = [{"title": "Pele", "questions": [{"id": "skin", "label": "Pele", "type": "single_choice",
                                                 "options": ["seca", "oleosa"]}]}]  # fmt: skip
    await setup.update_questionnaire(c.env, c.principal, first, "Anamnese estética", changed)
    listed = {r.id: r for r in await setup.list_questionnaires(c.env, c.principal)}
    assert (listed[first].name, listed[first].sections) == ("Anamnese estética", changed)
    assert listed[first].updated_at is not None
    with pytest.raises(Invalid) as bad:  # the same rules as adding one
        await setup.update_questionnaire(c.env, c.principal, first, "Anamnese", [])
    assert bad.value.field == "sections"
    with pytest.raises(NotFound):  # another clinic's
        await setup.update_questionnaire(other.env, other.principal, first, "X", QUESTIONS)
    with pytest.raises(NotFound):
        await setup.remove_questionnaire(other.env, other.principal, first)

    # The one the policy sends before visits is replaced there first.
    await setup.set_policy(c.env, c.principal, PolicyIn(anamnesis_questionnaire_id=first))  # type: ignore[arg-type]
    with pytest.raises(Conflict) as in_use:
        await setup.remove_questionnaire(c.env, c.principal, first)
    assert in_use.value.field == "questionnaire_id"
    await setup.set_policy(c.env, c.principal, PolicyIn(anamnesis_questionnaire_id=second))  # type: ignore[arg-type]
    await setup.remove_questionnaire(c.env, c.principal, first)
    assert [r.id for r in await setup.list_questionnaires(c.env, c.principal)] == [second]
    async with c.env.uow() as uow:  # archived, not deleted: a link already sent still opens it
        kept = await uow.setup.questionnaire(c.principal.tenant_id, first)
    assert kept is not None
    assert kept.archived_at is not None
    for again in (
        setup.remove_questionnaire(c.env, c.principal, first),
        setup.update_questionnaire(c.env, c.principal, first, "X", QUESTIONS),
        setup.set_policy(c.env, c.principal, PolicyIn(anamnesis_questionnaire_id=first)),  # type: ignore[arg-type]
    ):
        with pytest.raises(NotFound):
            await again


async def test_the_returns_to_book_are_read_from_their_partial_index(engine: Any) -> None:
    """`return_needed IS true` would not match ix_appointments_returns' predicate (every appointment read)."""
    sent: list[tuple[str, Any]] = []

    def capture(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        sent.append((statement, parameters))

    async with AsyncSession(engine) as session:
        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        try:
            await AppointmentRepository(session).returns_to_book(new_id(), None)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
        await session.execute(text("SET LOCAL enable_seqscan = off"))  # the table is small here
        [(statement, parameters)] = sent
        connection = await session.connection()
        plan = "\n".join(r[0] for r in await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters))
    assert "ix_appointments_returns" in plan, plan
