"""How many statements the worker sends per event (issue 12: each scheduling event was ~25): a consumer batch of
events handled in one unit of work as kit's consumer does, every statement counted, BEGIN and COMMIT included."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import event, text

from contracts import Event
from contracts.payments import PaymentConfirmedV1
from contracts.people import Person
from contracts.scheduling import PatientArrivedV1, VisitCompletedV1
from funnel import services as cases
from funnel.domain import PlanItem
from funnel.services.work import FunnelWorkFactory
from kit.context import new_id

from .support import PROC, T0, Clock, booked, deliver, meta_of, staff, stage_of

BATCH = 10


def arrived(appt: str, person: Person, at: Any) -> PatientArrivedV1:
    return PatientArrivedV1(
        appointment_id=appt, person=person, branch_id="b", professional_id="p", procedure_id=PROC, arrived_at=at,
        first_visit=True, checked_in_by="u",
    )  # fmt: skip


async def batch(uow: FunnelWorkFactory, tenant: str, events: list[Event], clock: Clock) -> float:
    """Statements per event for the batch, as IdempotentConsumer._handle_batch runs it."""
    sent: list[str] = []
    async with uow() as work:
        sync_engine = work.session.bind.sync_engine  # type: ignore[union-attr]

        def count(*_: Any) -> None:
            sent.append("statement")

        listeners = (("before_cursor_execute", count), ("begin", count), ("commit", count))
        for name, fn in listeners:
            event.listen(sync_engine, name, fn)
        try:
            metas = [meta_of(tenant, e, clock()) for e in events]
            await work.claim_inbox_many("test.funnel", [m.id for m in metas])
            for e, m in zip(events, metas, strict=True):
                await cases.handle_event(work, e, m, clock=clock)
            await work.commit()
        finally:
            for name, fn in listeners:
                event.remove(sync_engine, name, fn)
    return len(sent) / len(events)


async def interrupted_patients(uow: FunnelWorkFactory, tenant: str, clock: Clock, n: int) -> list[tuple[Person, str]]:
    """Patients whose deal is Interrupted: arrived, a signed plan of two visits, one done, nothing booked."""
    admin = staff(tenant)
    out = []
    for i in range(n):
        person = Person(patient_id=new_id(), name=f"P{i}")
        await deliver(uow, tenant, arrived(f"first-{person.patient_id}", person, clock.now), clock)
        async with uow() as work:
            deal = await work.funnel.arrived_deal(tenant, person.patient_id or "")
        assert deal is not None
        plan = await cases.create_plan(
            uow, admin, deal.id, "Implants", "BRL", [PlanItem("Implant", 2, Decimal(500), procedure_id=PROC)], clock.now
        )
        await cases.sign_plan(uow, admin, plan, clock.now)
        await deliver(
            uow, tenant, VisitCompletedV1(
                appointment_id=f"first-{person.patient_id}", person=person, professional_id="p", procedure_id=PROC,
                procedures_done=[PROC], completed_at=clock.now,
            ), clock,
        )  # fmt: skip
        assert await stage_of(uow, tenant, deal.id) == "interrupted"
        out.append((person, deal.id))
    return out


async def test_statements_per_event_in_a_batch(uow: FunnelWorkFactory) -> None:
    tenant, clock = new_id(), Clock()
    await cases.pipelines(uow, staff(tenant))
    people = await interrupted_patients(uow, tenant, clock, BATCH)
    clock.now = T0 + timedelta(hours=1)
    bookings: list[Event] = [
        booked(f"next-{p.patient_id}", p, clock.now + timedelta(days=7), clock.now) for p, _ in people
    ]
    per_booking = await batch(uow, tenant, bookings, clock)
    for _, deal_id in people:  # the rules ran: each deal is In treatment, its "Book the next visit" task done
        assert await stage_of(uow, tenant, deal_id) == "in_treatment"
    async with uow() as work:
        open_tasks = [await work.funnel.open_tasks(deal_id) for _, deal_id in people]
    assert open_tasks == [[] for _ in people]
    newcomers: list[Event] = [arrived(new_id(), Person(patient_id=new_id(), name="N"), clock.now) for _ in range(BATCH)]
    per_arrival = await batch(uow, tenant, newcomers, clock)
    payments: list[Event] = [
        PaymentConfirmedV1(
            payment_id=new_id(),
            person=p,
            procedure_id=PROC,
            amount="150.00",
            currency="BRL",
            method="pix",
            provider="mercadopago",
            provider_payment_id="x",
            paid_at=clock.now,
        )
        for p, _ in people
    ]
    per_payment = await batch(uow, tenant, payments, clock)
    # Was ~25 per scheduling event; now the appointment, the deal's lock, its situation, the completed task and
    # the deal's one update per event, and per batch the inbox, the layout, counters, lines, outbox and commit.
    assert per_booking <= 6.5, per_booking
    assert per_arrival <= 6.0, per_arrival
    assert per_payment <= 4.5, per_payment


async def test_the_board_timer_s_flips_read_their_partial_indexes_not_every_deal(uow: FunnelWorkFactory) -> None:
    """The worker's round flips `overdue` / `inactive` of the deals whose time came: the statements as sent must
    be planned on ix_deals_overdue_passing / ix_deals_inactive_passing (a `flag IS false` predicate was not: a
    sequential scan of every deal, each round)."""
    sent: list[tuple[str, Any]] = []
    async with uow() as work:
        sync_engine = work.session.bind.sync_engine  # type: ignore[union-attr]

        def capture(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
            if statement.lstrip().startswith("UPDATE deals SET"):
                sent.append((statement, parameters))

        event.listen(sync_engine, "before_cursor_execute", capture)
        try:
            await work.funnel.pass_overdue(T0, limit=100)
            await work.funnel.pass_inactive(T0 - timedelta(days=90), limit=100)
        finally:
            event.remove(sync_engine, "before_cursor_execute", capture)
        # An empty table would be read whole whatever the plan: the planner is told the table is big.
        await work.session.execute(text("SET LOCAL enable_seqscan = off"))
        plans = []
        for statement, parameters in sent:
            connection = await work.session.connection()
            found = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
            plans.append("\n".join(r[0] for r in found))
        # (not committed: nothing of this test is kept)
    assert len(plans) == 2
    assert "ix_deals_overdue_passing" in plans[0], plans[0]
    assert "ix_deals_inactive_passing" in plans[1], plans[1]
