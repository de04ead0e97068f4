"""The use cases of funnel against the in-memory unit of work (tests/unit/memory.py): how events move deals, a
move by hand with its reason, the validation of a treatment plan, tasks that pass their due time; what each stores
and publishes, and that a refused change stores and publishes nothing. No IO: the same use cases run on
PostgreSQL in services/funnel/tests/integration and through the gateway in tests/e2e/funnel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from contracts import Event, EventMeta
from contracts.claims import FUNNEL_ADMIN, FUNNEL_READ, FUNNEL_WRITE
from contracts.funnel import (
    DealCreatedV1,
    DealLostV1,
    DealStageChangedV1,
    TaskCompletedV1,
    TaskCreatedV1,
    TaskOverdueV1,
    TreatmentPlanCreatedV1,
)
from contracts.leads import LeadCreatedV1
from contracts.people import Person
from contracts.scheduling import AppointmentBookedV1, AppointmentCancelledV1, PatientArrivedV1, VisitCompletedV1
from funnel import services as cases
from funnel.domain import ARRIVED, LOST_AFTER, REQUESTS, Conflict, InvalidFunnel, NotFound, PlanItem
from kit.auth import Principal
from kit.context import new_id
from services.funnel.tests.unit.memory import MemoryFunnelWork

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def manager(tenant_id: str | None = None) -> Principal:
    return Principal(
        user_id=new_id(), tenant_id=tenant_id or new_id(), email="manager@clinic.test",
        permissions=frozenset({FUNNEL_READ, FUNNEL_WRITE, FUNNEL_ADMIN}),
    )  # fmt: skip


def curator(tenant_id: str) -> Principal:
    return Principal(
        user_id=new_id(), tenant_id=tenant_id, email="curator@clinic.test",
        permissions=frozenset({FUNNEL_READ, FUNNEL_WRITE}),
    )  # fmt: skip


async def deliver(db: MemoryFunnelWork, event: Event, tenant_id: str, now: datetime = NOW) -> None:
    """What the funnel consumer does with one record: the handler in a unit of work kit commits."""
    meta = EventMeta(
        id=new_id(), source="clinicflow/test", type=event.TYPE, time=now, subject=event.aggregate_id(),
        tenant_id=tenant_id, correlation_id=new_id(),
    )  # fmt: skip
    async with db.uow()() as work:
        await cases.handle_event(work, event, meta, clock=lambda: now)
        await work.commit()


def published(db: MemoryFunnelWork, kind: type[Event]) -> list[Any]:
    return [p.event for p in db.published if isinstance(p.event, kind)]


def lead_created(lead_id: str, **extra: Any) -> LeadCreatedV1:
    values: dict[str, Any] = {
        "lead_id": lead_id, "name": "Maria Souza", "phone": "+5511987654321", "source": "instagram",
        "created_at": NOW,
    }  # fmt: skip
    return LeadCreatedV1(**{**values, **extra})


def booked(person: Person, *, starts_at: datetime, appointment_id: str | None = None) -> AppointmentBookedV1:
    return AppointmentBookedV1(
        appointment_id=appointment_id or new_id(), person=person, branch_id=new_id(), branch_name="Paulista",
        professional_id=new_id(), professional_name="Dra. Lia", procedure_id="clean", procedure_name="Limpeza",
        starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30), timezone="America/Sao_Paulo",
        source="staff", booked_by=new_id(), booked_at=NOW,
    )  # fmt: skip


def arrived(person: Person, appointment_id: str, at: datetime) -> PatientArrivedV1:
    return PatientArrivedV1(
        appointment_id=appointment_id, person=person, branch_id=new_id(), professional_id=new_id(),
        procedure_id="clean", arrived_at=at, checked_in_by=new_id(),
    )  # fmt: skip


def completed(person: Person, appointment_id: str, at: datetime, procedure: str) -> VisitCompletedV1:
    return VisitCompletedV1(
        appointment_id=appointment_id, person=person, professional_id=new_id(), procedure_id=procedure,
        procedures_done=[procedure], completed_at=at,
    )  # fmt: skip


async def arrived_deal(db: MemoryFunnelWork, tenant_id: str, person: Person) -> str:
    """The person checked in: their Arrived-and-repeat deal, opened in `new`."""
    visit = new_id()
    await deliver(db, booked(person, starts_at=NOW + timedelta(hours=1), appointment_id=visit), tenant_id)
    await deliver(db, arrived(person, visit, NOW + timedelta(hours=1)), tenant_id, NOW + timedelta(hours=1))
    (deal,) = [d for d in db.state.deals.values() if d.kind == ARRIVED and d.patient_id == person.patient_id]
    return str(deal.id)


# --- deals moved by events ---------------------------------------------------------------------------
async def test_a_new_lead_opens_a_request_deal_and_its_booking_moves_it_to_booked() -> None:
    db = MemoryFunnelWork()
    tenant, lead_id = new_id(), new_id()
    await deliver(db, lead_created(lead_id), tenant)
    await deliver(db, lead_created(lead_id), tenant)  # delivered twice: still one deal
    (deal,) = db.state.deals.values()
    assert (deal.kind, deal.stage_key, deal.name, deal.source) == (REQUESTS, "new", "Maria Souza", "instagram")
    assert [e.stage_key for e in published(db, DealCreatedV1)] == ["new"]

    await deliver(db, booked(Person(lead_id=lead_id), starts_at=NOW + timedelta(days=3)), tenant)
    assert db.deal_row(deal.id).stage_key == "booked"
    (moved,) = published(db, DealStageChangedV1)
    assert (moved.from_stage_key, moved.to_stage_key, moved.automatic) == ("new", "booked", True)
    assert moved.changed_by is None  # the rules moved it, no one by hand
    assert "new -> booked" in db.feed(deal.id)
    assert not [d for d in db.state.deals.values() if d.kind == ARRIVED]  # a booking alone opens no Arrived deal


async def test_a_lead_booked_before_it_reached_funnel_starts_in_booked() -> None:
    db = MemoryFunnelWork()
    tenant, lead_id = new_id(), new_id()
    await deliver(db, booked(Person(lead_id=lead_id), starts_at=NOW + timedelta(days=1)), tenant)
    await deliver(db, lead_created(lead_id), tenant)
    (deal,) = db.state.deals.values()
    assert deal.stage_key == "booked"
    assert published(db, DealStageChangedV1) == []  # created there, never moved


async def test_a_signed_plan_a_visit_and_the_next_booking_move_the_arrived_deal_by_themselves() -> None:
    db = MemoryFunnelWork()
    me = manager()
    person = Person(patient_id=new_id(), name="Rita Lima", phone="+5511912345678")
    deal_id = await arrived_deal(db, me.tenant_id, person)
    assert db.deal_row(deal_id).stage_key == "new"
    assert [e.pipeline_kind for e in published(db, DealCreatedV1)] == [ARRIVED]

    plan = await cases.create_plan(
        db.uow(), me, deal_id, "Implante", "BRL", [PlanItem("Implante", 2, Decimal("1500"), procedure_id="implant")],
        NOW + timedelta(hours=2),
    )  # fmt: skip
    await cases.sign_plan(db.uow(), me, plan, NOW + timedelta(hours=3))
    assert db.deal_row(deal_id).stage_key == "plan_signed"

    # the first treatment visit, nothing booked after it: interrupted, with a task to book the next visit
    first = new_id()
    day = NOW + timedelta(days=1)
    await deliver(db, completed(person, first, day, "implant"), me.tenant_id, day)
    assert db.deal_row(deal_id).stage_key == "interrupted"
    (task,) = published(db, TaskCreatedV1)
    assert (task.title, task.automatic) == (cases.INTERRUPTED_TASK, True)
    assert db.deal_row(deal_id).next_due_at == day + timedelta(days=1)

    # the next visit is booked: in treatment, and the task is done by itself
    await deliver(db, booked(person, starts_at=day + timedelta(days=7)), me.tenant_id, day + timedelta(hours=1))
    assert db.deal_row(deal_id).stage_key == "in_treatment"
    assert [t.task_id for t in published(db, TaskCompletedV1)] == [task.task_id]
    assert db.deal_row(deal_id).next_due_at is None
    assert [(e.from_stage_key, e.to_stage_key) for e in published(db, DealStageChangedV1)] == [
        ("new", "plan_signed"),
        ("plan_signed", "interrupted"),
        ("interrupted", "in_treatment"),
    ]


async def interrupted_deal(db: MemoryFunnelWork, me: Principal, person: Person, visit_at: datetime) -> str:
    """A signed plan, its first treatment visit at `visit_at` and nothing booked after it: Interrupted."""
    deal_id = await arrived_deal(db, me.tenant_id, person)
    plan = await cases.create_plan(
        db.uow(), me, deal_id, "Implante", "BRL", [PlanItem("Implante", 2, Decimal("1500"), procedure_id="implant")],
        NOW + timedelta(hours=2),
    )  # fmt: skip
    await cases.sign_plan(db.uow(), me, plan, NOW + timedelta(hours=3))
    await deliver(db, completed(person, new_id(), visit_at, "implant"), me.tenant_id, visit_at)
    assert db.deal_row(deal_id).stage_key == "interrupted"
    return deal_id


async def test_the_lost_timer_reads_the_deals_whose_time_came_however_many_wait_in_interrupted() -> None:
    db = MemoryFunnelWork()
    me = manager()
    recent = [
        await interrupted_deal(db, me, Person(patient_id=new_id()), NOW + timedelta(days=30 + i)) for i in range(3)
    ]
    oldest = await interrupted_deal(db, me, Person(patient_id=new_id()), NOW + timedelta(days=1))
    assert db.deal_row(oldest).lost_due_at == NOW + timedelta(days=1) + LOST_AFTER
    later = NOW + timedelta(days=2) + LOST_AFTER  # only the oldest is due

    # One deal per round: the round takes the one that is due, not the first of the stage.
    assert await cases.lost_round(db.uow(), lambda: later, limit=1) == 1
    assert db.deal_row(oldest).stage_key == "lost"
    assert db.deal_row(oldest).lost_due_at is None
    assert [db.deal_row(d).stage_key for d in recent] == ["interrupted"] * 3
    assert await cases.lost_round(db.uow(), lambda: later, limit=1) == 0  # nothing else is due


async def test_a_cancelled_booking_of_an_unknown_person_changes_nothing() -> None:
    db = MemoryFunnelWork()
    event = AppointmentCancelledV1(
        appointment_id=new_id(), person=Person(), starts_at=NOW, cancelled_by=new_id(), cancelled_at=NOW,
    )  # fmt: skip
    await deliver(db, event, new_id())
    assert db.state.deals == {}
    assert [p.event for p in db.published if not isinstance(p.event, DealCreatedV1)] == []


# --- moves by hand ------------------------------------------------------------------------------------
async def test_a_move_by_hand_keeps_its_reason_and_a_lost_stage_announces_the_loss() -> None:
    db = MemoryFunnelWork()
    me = manager()
    lead_id = new_id()
    await deliver(db, lead_created(lead_id), me.tenant_id)
    (deal,) = db.state.deals.values()

    await cases.move_by_hand(db.uow(), me, deal.id, "contacted", "  called her back  ", NOW)
    assert db.deal_row(deal.id).stage_key == "contacted"
    (moved,) = published(db, DealStageChangedV1)
    assert (moved.to_stage_key, moved.automatic, moved.changed_by) == ("contacted", False, me.user_id)
    assert moved.reason == "called her back"  # trimmed
    assert "new -> contacted: called her back" in db.feed(deal.id)

    await cases.move_by_hand(db.uow(), me, deal.id, "lost", "went to another clinic", NOW)
    (lost,) = published(db, DealLostV1)
    assert (lost.reason, lost.person.lead_id) == ("went to another clinic", lead_id)


async def test_a_refused_move_stores_and_publishes_nothing() -> None:
    db = MemoryFunnelWork()
    me = manager()
    person = Person(patient_id=new_id(), name="Rita Lima")
    deal_id = await arrived_deal(db, me.tenant_id, person)
    await deliver(db, lead_created(new_id()), me.tenant_id)
    (request_deal,) = [d.id for d in db.state.deals.values() if d.kind == REQUESTS]
    before, sent = db.deal_row(deal_id).stage_key, len(db.published)

    with pytest.raises(Conflict) as caught:  # the Arrived pipeline is automatic: no moves by hand
        await cases.move_by_hand(db.uow(), me, deal_id, "lost", "no answer", NOW)
    assert caught.value.field == "stage"
    with pytest.raises(InvalidFunnel) as empty:
        await cases.move_by_hand(db.uow(), me, request_deal, "contacted", "   ", NOW)
    assert empty.value.field == "reason"
    with pytest.raises(NotFound) as unknown:
        await cases.move_by_hand(db.uow(), me, request_deal, "on_hold", "waiting", NOW)
    assert unknown.value.field == "stage"
    with pytest.raises(NotFound):  # another clinic's deal
        await cases.move_by_hand(db.uow(), manager(), request_deal, "contacted", "called", NOW)
    db.deal_row(request_deal).curator_id = new_id()  # another curator's deal
    with pytest.raises(NotFound):  # a curator sees unassigned deals and their own only
        await cases.move_by_hand(db.uow(), curator(me.tenant_id), request_deal, "contacted", "called", NOW)
    assert (db.deal_row(deal_id).stage_key, db.deal_row(request_deal).stage_key) == (before, "new")
    assert len(db.published) == sent


# --- treatment plans ----------------------------------------------------------------------------------
async def test_a_plan_adds_its_total_to_the_deal_and_is_announced() -> None:
    db = MemoryFunnelWork()
    me = manager()
    deal_id = await arrived_deal(db, me.tenant_id, Person(patient_id=new_id()))
    items = [
        PlanItem("Implante", 2, Decimal("1500.00"), discount=Decimal("10")),
        PlanItem("Coroa", 1, Decimal("800.00"), stage=2),
    ]
    plan_id = await cases.create_plan(db.uow(), me, deal_id, "Reabilitação", "brl", items, NOW)
    deal = db.deal_row(deal_id)
    assert (deal.amount, deal.plan_state) == (Decimal("3500.00"), "created")
    (created,) = published(db, TreatmentPlanCreatedV1)
    assert (created.plan_id, created.total, created.total_before_discount, created.currency, created.items) == (
        plan_id, "3500.00", "3800.00", "BRL", 2
    )  # fmt: skip
    assert [i.position for i in db.state.plan_items] == [0, 1]


@pytest.mark.parametrize(
    ("items", "currency", "field"),
    [
        ([], "BRL", "items"),
        ([PlanItem("Implante", 0, Decimal("10"))], "BRL", "items[0].quantity"),
        ([PlanItem("Implante", 1, Decimal("10")), PlanItem(" ", 1, Decimal("10"))], "BRL", "items[1].procedure"),
        ([PlanItem("Implante", 1, Decimal("-1"))], "BRL", "items[0].price"),
        ([PlanItem("Implante", 1, Decimal("10"), discount=Decimal("101"))], "BRL", "items[0].discount"),
        ([PlanItem("Implante", 1, Decimal("10"), stage=0)], "BRL", "items[0].stage"),
        ([PlanItem("Implante", 1, Decimal("10"))], "REAIS", "currency"),
    ],
)
async def test_a_bad_plan_is_refused_naming_the_field(items: list[PlanItem], currency: str, field: str) -> None:
    db = MemoryFunnelWork()
    me = manager()
    deal_id = await arrived_deal(db, me.tenant_id, Person(patient_id=new_id()))
    sent = len(db.published)
    with pytest.raises(InvalidFunnel) as caught:
        await cases.create_plan(db.uow(), me, deal_id, "Plano", currency, items, NOW)
    assert caught.value.field == field
    assert (db.state.plans, db.deal_row(deal_id).amount, len(db.published)) == ({}, Decimal(0), sent)


async def test_a_plan_belongs_to_an_arrived_deal_of_the_clinic() -> None:
    db = MemoryFunnelWork()
    me = manager()
    await deliver(db, lead_created(new_id()), me.tenant_id)
    (request_deal,) = db.state.deals
    item = [PlanItem("Implante", 1, Decimal("10"))]
    with pytest.raises(InvalidFunnel) as caught:
        await cases.create_plan(db.uow(), me, request_deal, "Plano", "BRL", item, NOW)
    assert caught.value.field == "deal_id"
    with pytest.raises(NotFound) as other:
        await cases.create_plan(db.uow(), manager(), request_deal, "Plano", "BRL", item, NOW)
    assert other.value.field == "deal_id"
    assert db.state.plans == {}


# --- tasks ---------------------------------------------------------------------------------------------
async def test_a_task_past_its_due_time_is_announced_once_and_marks_the_deal_overdue() -> None:
    db = MemoryFunnelWork()
    me = manager()
    await deliver(db, lead_created(new_id()), me.tenant_id)
    (deal_id,) = db.state.deals
    soon = await cases.add_task(
        db.uow(), me, deal_id, kind="call", title="Ligar", responsible_id=None, due_at=NOW + timedelta(hours=1),
        now=NOW,
    )  # fmt: skip
    later = await cases.add_task(
        db.uow(), me, deal_id, kind="todo", title="Mandar orçamento", responsible_id=None,
        due_at=NOW + timedelta(days=2), now=NOW,
    )  # fmt: skip
    assert (db.deal_row(deal_id).next_due_at, db.deal_row(deal_id).overdue) == (NOW + timedelta(hours=1), False)

    assert await cases.overdue_round(db.uow(), lambda: NOW + timedelta(minutes=30)) == 0  # nothing due yet
    two_hours = NOW + timedelta(hours=2)
    assert await cases.overdue_round(db.uow(), lambda: two_hours) == 1
    (overdue,) = published(db, TaskOverdueV1)
    assert (overdue.task_id, overdue.deal_id, overdue.responsible_id, overdue.overdue_at) == (
        soon, deal_id, me.user_id, two_hours
    )  # fmt: skip
    assert db.state.tasks[soon].overdue_at == two_hours
    assert await cases.overdue_round(db.uow(), lambda: two_hours + timedelta(hours=1)) == 0  # once per task

    await cases.complete_task(db.uow(), me, soon, two_hours)
    assert db.deal_row(deal_id).next_due_at == NOW + timedelta(days=2)  # the other task is next
    await cases.complete_task(db.uow(), me, later, two_hours)
    assert await cases.overdue_round(db.uow(), lambda: NOW + timedelta(days=3)) == 0  # done tasks are never overdue
    assert [t.task_id for t in published(db, TaskCompletedV1)] == [soon, later]


async def test_a_task_is_refused_in_the_past_of_an_unknown_kind_or_for_a_stranger() -> None:
    db = MemoryFunnelWork()
    me = manager()
    await deliver(db, lead_created(new_id()), me.tenant_id)
    (deal_id,) = db.state.deals
    colleague = new_id()
    db.state.staff[me.tenant_id] = {colleague}
    sent = len(db.published)

    async def add(**changes: Any) -> str:
        values: dict[str, Any] = {
            "kind": "call", "title": "Ligar", "responsible_id": None, "due_at": NOW + timedelta(hours=1), "now": NOW,
        }  # fmt: skip
        return await cases.add_task(db.uow(), me, deal_id, **{**values, **changes})

    for changes, field in (
        ({"due_at": NOW - timedelta(minutes=1)}, "due_at"),
        ({"due_at": datetime(2026, 12, 3, 9, 0)}, "due_at"),  # no time zone
        ({"kind": "visit"}, "kind"),
        ({"title": ""}, "title"),
        ({"responsible_id": new_id()}, "responsible_id"),  # not a member of the clinic's staff
    ):
        with pytest.raises(InvalidFunnel) as caught:
            await add(**changes)
        assert caught.value.field == field, changes
    assert (db.state.tasks, len(db.published)) == ({}, sent)

    task_id = await add(responsible_id=colleague)
    assert db.state.tasks[task_id].responsible_id == colleague
