"""The board's counts and sums (deal_counts, next_due_at, booked) on a real PostgreSQL: after every kind of change,
after the worker's round and under concurrent moves they equal a plain count of the deals that match."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import text

from contracts.people import Person
from contracts.scheduling import AppointmentCancelledV1, PatientArrivedV1, VisitCompletedV1
from funnel import services as cases
from funnel.domain import PlanItem
from funnel.services.work import FunnelWorkFactory
from kit.auth import Principal
from kit.context import new_id

from .support import PROC, Clock, booked, deliver, in_directory

#: Each board filter and what it means, said plainly over the deals (the old query's definitions).
PLAIN: dict[str, tuple[dict[str, Any], str]] = {
    "none": ({}, "true"),
    "overdue": (
        {"overdue": True},
        "EXISTS (SELECT 1 FROM tasks t WHERE t.deal_id = d.id AND t.completed_at IS NULL AND t.due_at < :now)",
    ),
    "no future booking": ({"no_future_booking": True}, "(next_booking_at IS NULL OR next_booking_at <= :now)"),
    "plan signed": ({"plan_state": "signed"}, "plan_state = 'signed'"),
    "inactive": ({"activity": "inactive"}, "NOT coalesce(last_activity_at >= :since OR next_booking_at > :now, false)"),
    "active": ({"activity": "active"}, "coalesce(last_activity_at >= :since OR next_booking_at > :now, false)"),
    "overdue, no future booking": (
        {"overdue": True, "no_future_booking": True},
        "(next_booking_at IS NULL OR next_booking_at <= :now) AND EXISTS (SELECT 1 FROM tasks t "
        "WHERE t.deal_id = d.id AND t.completed_at IS NULL AND t.due_at < :now)",
    ),
}


async def check_board(uow: FunnelWorkFactory, admin: Principal, pipeline_id: str, now: datetime) -> None:
    """Every filter, alone and with a curator: the board's counts and sums are a plain count's."""
    async with uow() as work:
        curators = [r[0] for r in (await work.session.execute(text("SELECT DISTINCT curator_id FROM deals"))).all()]
    for curator in [None, *(str(c) for c in curators if c is not None)]:
        for name, (extra, where) in PLAIN.items():
            kwargs: dict[str, Any] = {
                "curator_id": None,
                "stage_id": None,
                "overdue": False,
                "no_future_booking": False,
            }
            kwargs |= {**extra, "curator_id": curator}
            _, _, totals, rows = await cases.board(uow, admin, pipeline_id, now=now, per_stage=50, **kwargs)
            async with uow() as work:
                plain = (
                    await work.session.execute(
                        text(
                            "SELECT stage_id, count(*), sum(amount) FROM deals d WHERE tenant_id = :t "
                            f"AND pipeline_id = :p AND {where} AND (CAST(:c AS uuid) IS NULL OR curator_id = :c) "
                            "GROUP BY stage_id"
                        ),
                        {
                            "t": admin.tenant_id,
                            "p": pipeline_id,
                            "now": now,
                            "since": now - timedelta(days=90),
                            "c": curator,
                        },
                    )
                ).all()
            want = {str(s): (int(n), Decimal(a)) for s, n, a in plain}
            assert {str(t.stage_id): (int(t.count), Decimal(t.sum)) for t in totals} == want, (name, curator)
            assert len(rows) == sum(n for n, _ in want.values()), (name, curator)  # fewer than 50 per stage here


async def test_counts_and_sums_follow_every_change_and_the_worker_round(uow: FunnelWorkFactory) -> None:
    tenant, clock = new_id(), Clock()
    admin = Principal(user_id=new_id(), tenant_id=tenant, email="m@clinic.test", permissions=frozenset(
        {"funnel:read", "funnel:write", "funnel:admin"}))  # fmt: skip
    found, _ = await cases.pipelines(uow, admin)
    arrived = next(p for p in found if p.kind == "arrived")
    people = [Person(patient_id=new_id(), name=f"P{i}") for i in range(5)]
    for i, person in enumerate(people):
        await deliver(
            uow, tenant, PatientArrivedV1(
                appointment_id=f"first-{i}", person=person, branch_id="b", professional_id="p", procedure_id=PROC,
                arrived_at=clock.now, first_visit=True, checked_in_by="u",
            ), clock,
        )  # fmt: skip
    await check_board(uow, admin, arrived.id, clock.now)
    deals: dict[str | None, Any] = {}
    async with uow() as work:
        for p in people:
            deals[p.patient_id] = await work.funnel.arrived_deal(tenant, p.patient_id or "")
    assert all(d is not None for d in deals.values())
    member = Principal(user_id=new_id(), tenant_id=tenant, email="c@clinic.test", permissions=frozenset())
    await in_directory(uow, member)  # a curator is a member of the clinic's staff directory
    curator = member.user_id
    await cases.set_curator_terms(uow, admin, curator, Decimal(10), {})
    for person in people[:3]:
        await cases.assign_curator(uow, admin, deals[person.patient_id].id, curator, clock.now)
    plans = []
    for person in people[:4]:  # the amount follows the plans
        plans.append(
            await cases.create_plan(
                uow,
                admin,
                deals[person.patient_id].id,
                "Implants",
                "BRL",
                [PlanItem("Implant", 2, Decimal(1000), procedure_id=PROC)],
                clock.now,
            )
        )
    for plan in plans[:3]:
        await cases.sign_plan(uow, admin, plan, clock.now)
    task = await cases.add_task(
        uow, admin, deals[people[0].patient_id].id, kind="call", title="Ligar", responsible_id=None,
        due_at=clock.now + timedelta(hours=1), now=clock.now,
    )  # fmt: skip
    await cases.add_task(
        uow, admin, deals[people[4].patient_id].id, kind="call", title="Ligar", responsible_id=None,
        due_at=clock.now + timedelta(hours=3), now=clock.now,
    )  # fmt: skip
    clock.now += timedelta(hours=2)
    await check_board(uow, admin, arrived.id, clock.now)  # one task overdue now, one not yet
    for i, person in enumerate(people[:3]):  # treatment starts: a visit done, the next one booked for two
        if i < 2:
            await deliver(uow, tenant, booked(f"next-{i}", person, clock.now + timedelta(days=3), clock.now), clock)
        await deliver(
            uow, tenant, VisitCompletedV1(
                appointment_id=f"first-{i}", person=person, professional_id="p", procedure_id=PROC,
                procedures_done=[PROC], completed_at=clock.now,
            ), clock,
        )  # fmt: skip
    await check_board(uow, admin, arrived.id, clock.now)
    await deliver(
        uow, tenant, AppointmentCancelledV1(
            appointment_id="next-1", person=people[1], starts_at=clock.now + timedelta(days=3), cancelled_by="u",
            cancelled_at=clock.now,
        ), clock,
    )  # fmt: skip
    await cases.complete_task(uow, admin, task, clock.now)
    await check_board(uow, admin, arrived.id, clock.now)
    clock.now += timedelta(days=4)  # the booking passed: no future booking, before and after the worker's round
    await check_board(uow, admin, arrived.id, clock.now)
    assert await cases.board_counts_round(uow, clock) > 0
    async with uow() as work:
        pending = (await work.session.execute(text("SELECT count(*) FROM deal_counts WHERE pending"))).scalar_one()
        passed = (await work.session.execute(text("SELECT count(*) FROM deals WHERE booked"))).scalar_one()
    assert (pending, passed) == (0, 0)
    await check_board(uow, admin, arrived.id, clock.now)
    clock.now += timedelta(days=120)  # everyone inactive
    await check_board(uow, admin, arrived.id, clock.now)


async def test_concurrent_moves_neither_wait_on_a_counter_nor_deadlock(uow: FunnelWorkFactory) -> None:
    tenant, clock = new_id(), Clock()
    admin = Principal(user_id=new_id(), tenant_id=tenant, email="m@clinic.test", permissions=frozenset(
        {"funnel:read", "funnel:admin"}))  # fmt: skip
    found, listed = await cases.pipelines(uow, admin)
    arrived = next(p for p in found if p.kind == "arrived")
    stage = {s.key: s.id for s in listed if s.pipeline_id == arrived.id}
    people = [Person(patient_id=new_id(), name=f"P{i}") for i in range(16)]
    for i, person in enumerate(people):
        await deliver(
            uow, tenant, PatientArrivedV1(
                appointment_id=f"a-{i}", person=person, branch_id="b", professional_id="p", procedure_id=PROC,
                arrived_at=clock.now, first_visit=True, checked_in_by="u",
            ), clock,
        )  # fmt: skip
    async with uow() as work:
        ids = [r[0] for r in (await work.session.execute(text("SELECT id FROM deals ORDER BY id"))).all()]

    async def move(deal_id: str, key: str) -> None:
        async with uow() as work:
            repo = work.funnel
            await repo.set_deal(deal_id, stage_id=stage[key], stage_key=key, amount=Decimal(100))
            await asyncio.sleep(0.05)  # both directions' transactions are open at once
            await work.commit()

    # Half the deals New -> In treatment while the other half go the other way round, twice.
    for _ in range(2):
        await asyncio.gather(*(move(str(d), "in_treatment" if n % 2 else "plan_signed") for n, d in enumerate(ids)))
        await asyncio.gather(*(move(str(d), "plan_signed" if n % 2 else "in_treatment") for n, d in enumerate(ids)))
    await check_board(uow, admin, arrived.id, clock.now)
    await cases.board_counts_round(uow, clock)
    await check_board(uow, admin, arrived.id, clock.now)
