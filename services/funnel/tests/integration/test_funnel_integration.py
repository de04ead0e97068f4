"""funnel on a real, migrated PostgreSQL: events move deals, plans, tasks, curators, timers, the tenant boundary."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from contracts.leads import LeadCreatedV1, RequestCreatedV1
from contracts.people import Person
from contracts.scheduling import AppointmentCancelledV1, PatientArrivedV1, VisitCompletedV1
from devkit.infra import Infra
from funnel import services as cases
from funnel.app import create_api
from funnel.domain import LOST_AFTER, Conflict, InvalidFunnel, NotFound, PlanItem
from funnel.services.work import FunnelWorkFactory
from kit.context import new_id
from kit.db import make_engine

from .support import PROC, T0, Clock, booked, deliver, in_directory, staff, stage_of


async def test_the_whole_story_from_a_lead_to_lost(uow: FunnelWorkFactory) -> None:
    tenant, clock = new_id(), Clock()
    admin = staff(tenant)
    lead = new_id()
    await deliver(
        uow,
        tenant,
        LeadCreatedV1(lead_id=lead, name="Maria", phone="+5511987654321", source="call", created_at=T0, channel="call"),
        clock,
    )
    await deliver(
        uow, tenant, RequestCreatedV1(lead_id=lead, request_id=new_id(), channel="call", created_at=T0), clock
    )
    found, _ = await cases.pipelines(uow, admin)
    requests = next(p for p in found if p.kind == "requests")
    arrived = next(p for p in found if p.kind == "arrived")
    _, _, totals, rows = await cases.board(
        uow, admin, requests.id, now=clock(), curator_id=None, stage_id=None, overdue=False, no_future_booking=False,
        per_stage=50,
    )  # fmt: skip
    assert [(t.count, str(t.sum)) for t in totals] == [(1, "0.00")]
    assert [(r.stage_key, r.source) for r in rows] == [("new", "call")]  # one deal for the lead and its first request
    person = Person(lead_id=lead, patient_id=new_id(), name="Maria")
    await deliver(uow, tenant, booked("a1", person, T0 + timedelta(days=1), T0), clock)
    assert await stage_of(uow, tenant, rows[0].id) == "booked"

    clock.now = T0 + timedelta(days=1)
    arrival = PatientArrivedV1(
        appointment_id="a1", person=person, branch_id="b", professional_id="p", procedure_id=PROC,
        arrived_at=clock.now, first_visit=True, checked_in_by="u",
    )  # fmt: skip
    await deliver(uow, tenant, arrival, clock)
    await deliver(uow, tenant, arrival, clock)  # a redelivery never opens a second deal
    async with uow() as work:
        deal = await work.funnel.arrived_deal(tenant, person.patient_id or "")
    assert deal is not None
    assert deal.stage_key == "new"

    plan = await cases.create_plan(
        uow, admin, deal.id, "Implants", "BRL", [PlanItem("Implant", 2, Decimal(1000), procedure_id=PROC)], clock.now
    )
    assert await stage_of(uow, tenant, deal.id) == "new"  # created but unsigned: shows, does not move

    async def by_plan(state: str) -> list[str]:
        _, _, _, found = await cases.board(
            uow, admin, arrived.id, now=clock.now, curator_id=None, stage_id=None, overdue=False,
            no_future_booking=False, per_stage=50, plan_state=state,
        )  # fmt: skip
        return [r.id for r in found]

    assert await by_plan("created") == [deal.id]  # the board's plan filter, on the server
    assert await by_plan("none") == []
    await cases.sign_plan(uow, admin, plan, clock.now)
    assert await stage_of(uow, tenant, deal.id) == "plan_signed"
    assert (await by_plan("signed"), await by_plan("created")) == ([deal.id], [])
    with pytest.raises(InvalidFunnel) as bad:
        await by_plan("half-signed")
    assert bad.value.field == "plan_state"

    clock.now += timedelta(hours=2)
    await deliver(uow, tenant, booked("a2", person, clock.now + timedelta(days=14), clock.now), clock)
    await deliver(
        uow,
        tenant,
        VisitCompletedV1(
            appointment_id="a1",
            person=person,
            professional_id="p",
            procedure_id=PROC,
            procedures_done=[PROC],
            completed_at=clock.now,
        ),
        clock,
    )
    assert await stage_of(uow, tenant, deal.id) == "in_treatment"

    await deliver(
        uow,
        tenant,
        AppointmentCancelledV1(
            appointment_id="a2",
            person=person,
            starts_at=clock.now + timedelta(days=14),
            cancelled_by="u",
            cancelled_at=clock.now,
        ),
        clock,
    )
    assert await stage_of(uow, tenant, deal.id) == "interrupted"
    card = await cases.card(uow, admin, deal.id)
    assert [t.title for t in card["tasks"]] == [cases.INTERRUPTED_TASK]  # the automatic task to book the next visit
    _, _, _, rows = await cases.board(
        uow, admin, arrived.id, now=clock.now, curator_id=None, stage_id=None, overdue=False, no_future_booking=True,
        per_stage=50,
    )  # fmt: skip
    assert [r.id for r in rows] == [deal.id]

    clock.now += LOST_AFTER - timedelta(days=1)
    assert await cases.lost_round(uow, clock) == 0
    clock.now += timedelta(days=2)
    assert await cases.lost_round(uow, clock) == 1
    assert await stage_of(uow, tenant, deal.id) == "lost"
    assert await cases.overdue_round(uow, clock) == 1  # the book-the-next-visit task is long overdue
    assert await cases.overdue_round(uow, clock) == 0

    await deliver(uow, tenant, booked("a3", person, clock.now + timedelta(days=3), clock.now), clock)
    assert await stage_of(uow, tenant, deal.id) == "in_treatment"  # a booking brings the patient back

    async with uow() as work:
        outbox = (await work.session.execute(text("select event_type from outbox order by id"))).scalars().all()
    for kind in (
        "deal.created",
        "deal.stage_changed",
        "deal.lost",
        "treatment_plan.created",
        "treatment_plan.signed",
        "task.created",
        "task.overdue",
    ):
        assert f"clinicflow.funnel.{kind}.v1" in outbox


async def test_one_arrived_deal_per_patient_is_the_databases_rule(uow: FunnelWorkFactory) -> None:
    tenant, clock = new_id(), Clock()
    person = Person(patient_id=new_id(), name="Ana")
    arrival = PatientArrivedV1(
        appointment_id="x", person=person, branch_id="b", professional_id="p", procedure_id=PROC, arrived_at=T0,
        checked_in_by="u",
    )  # fmt: skip
    await deliver(uow, tenant, arrival, clock)
    async with uow() as work:
        repo = work.funnel
        deal = await repo.arrived_deal(tenant, person.patient_id or "")
        assert deal is not None
        values = {k: v for k, v in deal._mapping.items()} | {"id": new_id()}
        assert await repo.add_deal(**values) is None
        with pytest.raises(Exception, match="uq_deals_arrived_patient"):
            await work.session.execute(text(
                "insert into deals (id, tenant_id, pipeline_id, kind, stage_id, stage_key, stage_since, patient_id,"
                " created_at, updated_at) select gen_random_uuid(), tenant_id, pipeline_id, kind, stage_id,"
                " stage_key, stage_since, patient_id, created_at, updated_at from deals where id = :id"
            ), {"id": deal.id})  # fmt: skip


async def test_bad_input_and_the_tenant_boundary(uow: FunnelWorkFactory) -> None:
    tenant, clock = new_id(), Clock()
    admin, stranger = staff(tenant), staff(new_id())
    person = Person(patient_id=new_id())
    await deliver(
        uow,
        tenant,
        PatientArrivedV1(
            appointment_id="y",
            person=person,
            branch_id="b",
            professional_id="p",
            procedure_id=PROC,
            arrived_at=T0,
            checked_in_by="u",
        ),
        clock,
    )
    async with uow() as work:
        deal = await work.funnel.arrived_deal(tenant, person.patient_id or "")
    assert deal is not None
    with pytest.raises(NotFound):
        await cases.card(uow, stranger, deal.id)
    with pytest.raises(NotFound):
        await cases.add_task(
            uow, stranger, deal.id, kind="call", title="x", responsible_id=None, due_at=T0 + timedelta(days=1), now=T0
        )
    with pytest.raises(InvalidFunnel) as caught:
        await cases.add_task(
            uow, admin, deal.id, kind="call", title="x", responsible_id=None, due_at=T0 - timedelta(hours=1), now=T0
        )
    assert caught.value.field == "due_at"
    task = await cases.add_task(
        uow, admin, deal.id, kind="todo", title="x", responsible_id=None, due_at=T0 + timedelta(hours=1), now=T0
    )
    await cases.edit_task(
        uow, admin, task, title="Send the quote", due_at=T0 + timedelta(days=2), responsible_id=None, now=T0
    )
    await cases.comment_task(uow, admin, task, "Patient asked for installments", T0)
    (listed,) = await cases.tasks_of(uow, admin, deal.id)
    assert (listed.title, listed.due_at, len(listed.comments)) == ("Send the quote", T0 + timedelta(days=2), 1)
    await cases.complete_task(uow, admin, task, T0)
    with pytest.raises(Conflict):
        await cases.edit_task(uow, admin, task, title="late", due_at=None, responsible_id=None, now=T0)
    with pytest.raises(InvalidFunnel) as caught:
        await cases.create_plan(uow, admin, deal.id, "P", "BRL", [PlanItem("Implant", 1, Decimal("1e15"))], T0)
    assert caught.value.field == "items[0].price"
    with pytest.raises(InvalidFunnel) as caught:
        await cases.set_curator_terms(uow, admin, new_id(), Decimal(101), {})
    assert caught.value.field == "general_percent"
    with pytest.raises(InvalidFunnel):
        await cases.set_curator_terms(uow, admin, new_id(), Decimal(10), {PROC: Decimal(-1)})
    with pytest.raises(NotFound) as unknown:
        await cases.assign_curator(uow, admin, deal.id, new_id(), T0)
    assert unknown.value.field == "curator_id"
    curator = staff(tenant, "funnel:read", "funnel:write")
    # Staff ids must be active members of the clinic's directory: 422 naming the field.
    with pytest.raises(InvalidFunnel) as unknown_staff:
        await cases.set_curator_terms(uow, admin, curator.user_id, Decimal(10), {})
    assert unknown_staff.value.field == "user_id"
    with pytest.raises(InvalidFunnel) as unknown_staff:
        await cases.add_task(
            uow,
            admin,
            deal.id,
            kind="call",
            title="x",
            responsible_id=curator.user_id,
            due_at=T0 + timedelta(1),
            now=T0,
        )
    assert unknown_staff.value.field == "responsible_id"
    await in_directory(uow, curator)
    await cases.set_curator_terms(uow, admin, curator.user_id, Decimal(10), {PROC: Decimal("12.5")})
    handed = await cases.add_task(
        uow, admin, deal.id, kind="call", title="x", responsible_id=curator.user_id, due_at=T0 + timedelta(1), now=T0
    )
    assert {t.id: t.responsible_id for t in await cases.tasks_of(uow, admin, deal.id)}[handed] == curator.user_id
    with pytest.raises(InvalidFunnel) as unknown_staff:  # a member of another clinic is a stranger here
        await cases.edit_task(uow, admin, handed, title=None, due_at=None, responsible_id=stranger.user_id, now=T0)
    assert unknown_staff.value.field == "responsible_id"
    await cases.assign_curator(uow, admin, deal.id, curator.user_id, T0)
    other_curator = staff(tenant, "funnel:read", "funnel:write")
    with pytest.raises(NotFound):  # a curator sees their own deals only
        await cases.card(uow, other_curator, deal.id)
    assert (await cases.card(uow, curator, deal.id))["deal"].curator_id == curator.user_id
    with pytest.raises(Conflict):  # automatic mode: the rules move deals
        await cases.move_by_hand(uow, admin, deal.id, "plan_signed", "patient signed on paper", T0)
    found, _ = await cases.pipelines(uow, admin)
    arrived = next(p for p in found if p.kind == "arrived")
    await cases.configure_pipeline(uow, admin, arrived.id, name=None, automatic=False)
    with pytest.raises(NotFound) as stage:
        await cases.move_by_hand(uow, admin, deal.id, "nowhere", "typo", T0)
    assert stage.value.field == "stage"
    await cases.move_by_hand(uow, admin, deal.id, "plan_signed", "patient signed on paper", T0)
    assert await stage_of(uow, tenant, deal.id) == "plan_signed"
    with pytest.raises(InvalidFunnel):
        await cases.add_stage(uow, admin, arrived.id, key="vip", name="VIP", color="blue", outcome="open")
    await cases.add_stage(uow, admin, arrived.id, key="vip", name="VIP", color="#ff00aa", outcome="open")
    with pytest.raises(Conflict):
        await cases.add_stage(uow, admin, arrived.id, key="vip", name="VIP again", color="#ff00aa", outcome="open")


async def test_the_api_wants_a_token_and_answers_problems(
    database_url: str, infra: Infra, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FUNNEL_DATABASE_URL", database_url)
    for name, value in infra.objects_env().items():  # the valuation process keeps photos there (readiness)
        monkeypatch.setenv(name, value)
    app = create_api()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://funnel") as client:
        ready = await client.get("/health/ready")
        assert ready.status_code == 200, ready.text
        anonymous = await client.get("/api/v1/funnel/pipelines")
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"].startswith("application/problem+json")


async def test_the_migration_matches_the_models(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from funnel.models import metadata

    engine = make_engine(database_url)
    try:
        async with engine.connect() as conn:
            diffs = await conn.run_sync(lambda sync: compare_metadata(MigrationContext.configure(sync), metadata))
    finally:
        await engine.dispose()
    # kit's outbox and inbox live in the same database but not in funnel.models.
    assert [
        d
        for d in diffs
        if not (d[0] == "remove_table" and d[1].name in {"outbox", "inbox"})
        and not (d[0] == "remove_index" and d[1].table.name in {"outbox", "inbox"})
    ] == []
