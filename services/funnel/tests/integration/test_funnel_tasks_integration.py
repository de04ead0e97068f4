"""Automatic tasks on a real, migrated PostgreSQL: the call-back of a missed call (closed by a later answered
call), the confirmation call of an unconfirmed appointment (the clinic's hours, a durable timer), the queue."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from contracts.leads import LeadAssignedV1, LeadCreatedV1
from contracts.people import Person
from contracts.scheduling import AppointmentConfirmedV1, AppointmentRescheduledV1
from contracts.telephony import CallAnsweredV1, CallEndedV1, CallMissedV1
from funnel import services as cases
from funnel.domain import InvalidFunnel, StageSpec
from funnel.services.work import FunnelWorkFactory
from kit.context import new_id

from .support import T0, Clock, booked, deliver, staff

PHONE = "+5511988887777"


def missed(call_id: str, at_minutes: int, lead_id: str | None = None, phone: str = PHONE) -> CallMissedV1:
    at = T0 + timedelta(minutes=at_minutes)
    return CallMissedV1(
        call_id=call_id, provider="zadarma", provider_call_id=call_id, direction="inbound", caller=phone,
        tracking_number="+551130000000", lead_id=lead_id, started_at=at, disposition="missed", ended_at=at,
        duration_seconds=20,
    )  # fmt: skip


def answered(call_id: str, at_minutes: int, direction: str = "outbound") -> CallAnsweredV1:
    at = T0 + timedelta(minutes=at_minutes)
    return CallAnsweredV1(
        call_id=call_id, provider="zadarma", provider_call_id=call_id, direction=direction, caller=PHONE,
        tracking_number="+551130000000", started_at=at, answered_at=at,
    )  # fmt: skip


def lead_created(lead: str, owner: str | None = None) -> LeadCreatedV1:
    return LeadCreatedV1(
        lead_id=lead, name="Joana", phone=PHONE, source="google", created_at=T0, channel="call", owner_id=owner
    )


async def tasks_of_phone(uow: FunnelWorkFactory, tenant: str) -> list[dict[str, object]]:
    async with uow() as work:
        rows = await work.session.execute(
            text("SELECT * FROM tasks WHERE tenant_id = :t AND phone = :p ORDER BY created_at"),
            {"t": tenant, "p": PHONE},
        )
        return [_plain(r._mapping) for r in rows]


def _plain(row: object) -> dict[str, object]:
    return {
        k: str(v) if k in ("responsible_id", "id", "deal_id", "tenant_id") and v else v for k, v in dict(row).items()
    }  # type: ignore[call-overload]


async def test_a_missed_call_before_its_lead_makes_one_call_back_that_a_later_answered_call_closes(
    uow: FunnelWorkFactory,
) -> None:
    tenant, clock, lead = new_id(), Clock(), new_id()
    owner = new_id()
    # telephony's call.missed reaches the funnel before the lead leads made of the unknown caller.
    await deliver(uow, tenant, missed("c1", 0), clock)
    assert await tasks_of_phone(uow, tenant) == []
    await deliver(uow, tenant, lead_created(lead, owner), clock)
    [task] = await tasks_of_phone(uow, tenant)
    assert (task["reason"], task["responsible_id"], task["completed_at"]) == ("missed_call", owner, None)
    assert PHONE in str(task["title"])
    # Missed again: the same task covers it (no second task), as does a redelivery.
    await deliver(uow, tenant, missed("c2", 10, lead), clock)
    await deliver(uow, tenant, missed("c2", 10, lead), clock)
    [task] = await tasks_of_phone(uow, tenant)
    assert task["ref_at"] == T0 + timedelta(minutes=10)
    # An answered call between the two missed ones does not reach the person after the last one.
    await deliver(uow, tenant, answered("c3", 5), clock)
    assert (await tasks_of_phone(uow, tenant))[0]["completed_at"] is None
    # The clinic calls back and the person answers (call.ended, disposition answered): done by itself.
    ended = CallEndedV1(
        call_id="c4", provider="zadarma", provider_call_id="c4", direction="outbound", caller=PHONE,
        tracking_number="+551130000000", started_at=T0 + timedelta(minutes=20), disposition="answered",
        answered_at=T0 + timedelta(minutes=21), ended_at=T0 + timedelta(minutes=25), talk_seconds=240,
        duration_seconds=300,
    )  # fmt: skip
    await deliver(uow, tenant, ended, clock)
    [task] = await tasks_of_phone(uow, tenant)
    assert task["completed_at"] is not None
    # A missed call older than the answered one, arriving late, makes no new task; a newer one does.
    await deliver(uow, tenant, missed("c0", -30, lead), clock)
    assert len(await tasks_of_phone(uow, tenant)) == 1
    await deliver(uow, tenant, missed("c5", 60, lead), clock)
    assert [t["completed_at"] is None for t in await tasks_of_phone(uow, tenant)] == [False, True]
    # Another clinic's calls from the same phone are its own.
    assert await tasks_of_phone(uow, new_id()) == []


async def test_a_missed_call_lands_on_the_request_s_deal_not_on_a_newer_hand_made_one(uow: FunnelWorkFactory) -> None:
    tenant, clock, lead = new_id(), Clock(), new_id()
    admin = staff(tenant)
    await deliver(uow, tenant, lead_created(lead, new_id()), clock)
    # Staff later open a deal by hand for the same phone in a pipeline of the clinic's own.
    campaign = await cases.create_pipeline(uow, admin, name="Implants", stages=[StageSpec("new", "New", "#3b82f6")])
    mine = await cases.open_deal(
        uow, admin, campaign, stage=None, name="Joana", phone=PHONE, lead_id=None, patient_id=None,
        amount=Decimal("900"), now=T0 + timedelta(minutes=5),
    )  # fmt: skip
    await deliver(uow, tenant, missed("h1", 10, lead), clock)
    [task] = await tasks_of_phone(uow, tenant)
    async with uow() as work:
        kind = await work.session.scalar(text("SELECT kind FROM deals WHERE id = :d"), {"d": task["deal_id"]})
    assert (kind, task["deal_id"] != mine) == ("requests", True)


async def test_an_unowned_lead_s_call_back_waits_in_the_queue_until_the_lead_is_assigned(
    uow: FunnelWorkFactory,
) -> None:
    tenant, clock, lead = new_id(), Clock(), new_id()
    admin = staff(tenant)
    await deliver(uow, tenant, lead_created(lead), clock)
    await deliver(uow, tenant, missed("m1", 0, lead), clock)
    [queued] = await cases.queue(uow, admin, limit=50)
    assert (queued.reason, queued.phone, queued.deal_name, queued.deal_kind) == (
        "missed_call", PHONE, "Joana", "requests",
    )  # fmt: skip
    assert await cases.queue(uow, staff(new_id()), limit=50) == []  # another clinic's queue is empty
    agent = new_id()
    assigned = LeadAssignedV1(lead_id=lead, owner_id=agent, assigned_by="u", assigned_at=T0)
    await deliver(uow, tenant, assigned, clock)
    assert await cases.queue(uow, admin, limit=50) == []
    [task] = await tasks_of_phone(uow, tenant)
    assert task["responsible_id"] == agent
    # An answered inbound call from the person closes it too.
    await deliver(uow, tenant, answered("m2", 3, direction="inbound"), clock)
    assert (await tasks_of_phone(uow, tenant))[0]["completed_at"] is not None


async def test_the_confirmation_call_of_an_unconfirmed_appointment(uow: FunnelWorkFactory) -> None:
    tenant, clock, lead = new_id(), Clock(), new_id()
    admin = staff(tenant)
    assert await cases.get_settings(uow, admin) == 24
    with pytest.raises(InvalidFunnel) as caught:
        await cases.put_settings(uow, admin, 0, clock())
    assert caught.value.field == "confirm_call_hours"
    await cases.put_settings(uow, admin, 6, clock())
    assert await cases.get_settings(uow, admin) == 6
    await deliver(uow, tenant, lead_created(lead, new_id()), clock)
    person = Person(lead_id=lead, name="Joana", phone=PHONE)
    await deliver(uow, tenant, booked("ap1", person, T0 + timedelta(hours=10), T0), clock)
    await deliver(uow, tenant, booked("ap2", person, T0 + timedelta(hours=12), T0), clock)
    other = new_id()  # another clinic keeps the default 24 hours: its appointment in 10 h is due at once
    await deliver(uow, other, lead_created(lead), clock)
    await deliver(uow, other, booked("ap1", person, T0 + timedelta(hours=10), T0), clock)

    async def confirm_tasks(tenant_id: str) -> list[dict[str, object]]:
        async with uow() as work:
            rows = await work.session.execute(
                text("SELECT * FROM tasks WHERE tenant_id = :t AND reason = 'unconfirmed' ORDER BY created_at"),
                {"t": tenant_id},
            )
            return [_plain(r._mapping) for r in rows]

    assert await cases.unconfirmed_round(uow, clock) == 1  # only the other clinic's (24 h window)
    assert [t["ref"] for t in await confirm_tasks(tenant)] == []
    clock.now = T0 + timedelta(hours=4, minutes=1)  # 5 h 59 min before ap1
    assert await cases.unconfirmed_round(uow, clock) == 1
    assert await cases.unconfirmed_round(uow, clock) == 0  # once per appointment (durable: in the database)
    [task] = await confirm_tasks(tenant)
    assert (task["ref"], task["kind"], task["due_at"]) == ("ap1", "call", clock.now + timedelta(hours=1))
    # ap2 is confirmed before its window: no task ever; ap1 confirmed now: its task is done by itself.
    confirm = AppointmentConfirmedV1(
        appointment_id="ap2", person=person, starts_at=T0 + timedelta(hours=12), via="link", confirmed_at=clock.now
    )
    await deliver(uow, tenant, confirm, clock)
    await deliver(uow, tenant, AppointmentConfirmedV1(
        appointment_id="ap1", person=person, starts_at=T0 + timedelta(hours=10), via="whatsapp",
        confirmed_at=clock.now,
    ), clock)  # fmt: skip
    clock.now = T0 + timedelta(hours=9)
    assert await cases.unconfirmed_round(uow, clock) == 0
    [task] = await confirm_tasks(tenant)
    assert task["completed_at"] is not None
    # A rescheduled, unconfirmed appointment is asked about again before its new time.
    await deliver(uow, other, AppointmentRescheduledV1(
        appointment_id="ap1", person=person, previous_starts_at=T0 + timedelta(hours=10),
        starts_at=T0 + timedelta(hours=30), ends_at=T0 + timedelta(hours=31), timezone="America/Sao_Paulo",
        branch_id="b", professional_id="p", rescheduled_by="u", rescheduled_at=clock.now,
    ), clock)  # fmt: skip
    first = await confirm_tasks(other)
    assert [t["completed_at"] is not None for t in first] == [True]
    assert await cases.unconfirmed_round(uow, clock) == 1  # 21 h before the new time, inside 24 h
    assert [t["completed_at"] is None for t in await confirm_tasks(other)] == [False, True]
