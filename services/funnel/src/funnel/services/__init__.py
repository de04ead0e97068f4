"""Use cases of funnel: one unit of work each; events go out through the outbox (`uow.publish`)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from contracts import Event, EventMeta
from contracts.funnel import (
    CuratorAssignedV1,
    DealCreatedV1,
    DealLostV1,
    DealStageChangedV1,
    TaskCompletedV1,
    TaskCreatedV1,
    TaskOverdueV1,
    TreatmentPlanCompletedV1,
    TreatmentPlanCreatedV1,
    TreatmentPlanSignedV1,
)
from contracts.leads import LeadCreatedV1, RequestCreatedV1
from contracts.payments import PaymentConfirmedV1
from contracts.people import Person
from contracts.scheduling import (
    AppointmentBookedV1,
    AppointmentCancelledV1,
    AppointmentRescheduledV1,
    PatientArrivedV1,
    VisitCompletedV1,
)
from funnel import domain
from funnel.clock import Clock
from funnel.domain import ARRIVED, BUILTIN, REQUESTS, Appointment, Conflict, InvalidFunnel, NotFound, PlanItem, Visit
from funnel.repository import Repository, Row
from kit import context
from kit.auth import Principal
from kit.db import UnitOfWork, UnitOfWorkFactory

INTERRUPTED_TASK = "Book the next visit"
CONSUMED: tuple[type[Event], ...] = (
    LeadCreatedV1,
    RequestCreatedV1,
    AppointmentBookedV1,
    AppointmentRescheduledV1,
    AppointmentCancelledV1,
    PatientArrivedV1,
    VisitCompletedV1,
    PaymentConfirmedV1,
)


# --- pipelines -----------------------------------------------------------------------------------
async def ensure_pipelines(repo: Repository, tenant_id: str) -> None:
    """The two built-in pipelines, made on the clinic's first use."""
    for position, (kind, (name, specs)) in enumerate(BUILTIN.items()):
        if await repo.builtin(tenant_id, kind) is not None:
            continue
        pipeline_id = context.new_id()
        if await repo.add_pipeline(id=pipeline_id, tenant_id=tenant_id, kind=kind, name=name, position=position):
            for i, s in enumerate(specs):
                await repo.add_stage(
                    id=context.new_id(), tenant_id=tenant_id, pipeline_id=pipeline_id, key=s.key, name=s.name,
                    position=i, color=s.color, outcome=s.outcome,
                )  # fmt: skip


async def pipelines(uow: UnitOfWorkFactory, principal: Principal) -> tuple[list[Row], list[Row]]:
    async with uow() as work:
        repo = Repository(work.session)
        await ensure_pipelines(repo, principal.tenant_id)
        found = await repo.pipelines(principal.tenant_id)
        listed = await repo.stages(principal.tenant_id, [p.id for p in found])
        await work.commit()
    return found, listed


async def configure_pipeline(
    uow: UnitOfWorkFactory, principal: Principal, pipeline_id: str, *, name: str | None, automatic: bool | None
) -> None:
    async with uow() as work:
        repo = Repository(work.session)
        if await repo.pipeline(principal.tenant_id, pipeline_id) is None:
            raise NotFound("No such pipeline.", field="pipeline_id")
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = domain.clean_title(name, field_name="name")
        if automatic is not None:
            values["automatic"] = automatic
        if values:
            await repo.set_pipeline(principal.tenant_id, pipeline_id, **values)
        await work.commit()


async def add_stage(
    uow: UnitOfWorkFactory, principal: Principal, pipeline_id: str, *, key: str, name: str, color: str, outcome: str
) -> str:
    async with uow() as work:
        repo = Repository(work.session)
        if await repo.pipeline(principal.tenant_id, pipeline_id) is None:
            raise NotFound("No such pipeline.", field="pipeline_id")
        listed = await repo.stages(principal.tenant_id, [pipeline_id])
        clean_key = domain.clean_title(key, field_name="key").lower().replace(" ", "_")
        if any(s.key == clean_key for s in listed):
            raise Conflict("The pipeline already has a stage with this key.", field="key")
        stage_id = context.new_id()
        await repo.add_stage(
            id=stage_id, tenant_id=principal.tenant_id, pipeline_id=pipeline_id, key=clean_key,
            name=domain.clean_title(name, field_name="name"), position=len(listed), color=domain.clean_color(color),
            outcome=domain.clean_outcome(outcome),
        )  # fmt: skip
        await work.commit()
    return stage_id


async def edit_stage(
    uow: UnitOfWorkFactory, principal: Principal, stage_id: str, *, name: str | None, color: str | None,
    position: int | None,
) -> None:  # fmt: skip
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = domain.clean_title(name, field_name="name")
    if color is not None:
        values["color"] = domain.clean_color(color)
    if position is not None:
        values["position"] = position
    async with uow() as work:
        repo = Repository(work.session)
        await _stage(repo, principal.tenant_id, stage_id)
        if values:
            await repo.set_stage(principal.tenant_id, stage_id, **values)
        await work.commit()


async def delete_stage(uow: UnitOfWorkFactory, principal: Principal, stage_id: str) -> None:
    async with uow() as work:
        repo = Repository(work.session)
        stage, pipeline = await _stage(repo, principal.tenant_id, stage_id)
        if pipeline.kind != "custom" and any(stage.key == s.key for _, (_, specs) in BUILTIN.items() for s in specs):
            raise Conflict("The rules of a built-in pipeline use this stage; rename it instead.", field="stage_id")
        if await repo.stage_in_use(stage_id):
            raise Conflict("Deals are in this stage; move them first.", field="stage_id")
        await repo.delete_stage(principal.tenant_id, stage_id)
        await work.commit()


async def _stage(repo: Repository, tenant_id: str, stage_id: str) -> tuple[Row, Row]:
    for pipeline in await repo.pipelines(tenant_id):
        for s in await repo.stages(tenant_id, [pipeline.id]):
            if s.id == stage_id:
                return s, pipeline
    raise NotFound("No such stage.", field="stage_id")


# --- moving deals ------------------------------------------------------------------------------
async def _stage_by_key(repo: Repository, tenant_id: str, pipeline_id: str, key: str) -> Row:
    for s in await repo.stages(tenant_id, [pipeline_id]):
        if s.key == key:
            return s
    raise NotFound(f"The pipeline has no stage {key!r}.", field="stage")


async def _move(
    work: UnitOfWork, repo: Repository, deal: Row, key: str, now: datetime, *, automatic: bool = True,
    reason: str | None = None, by: str | None = None,
) -> None:  # fmt: skip
    if deal.stage_key == key:
        return
    target = await _stage_by_key(repo, deal.tenant_id, deal.pipeline_id, key)
    await repo.set_deal(deal.id, stage_id=target.id, stage_key=key, stage_since=now, updated_at=now)
    await repo.log(
        deal.tenant_id, deal.id, now, "stage", f"{deal.stage_key} -> {key}" + (f": {reason}" if reason else "")
    )
    work.publish(
        DealStageChangedV1(
            deal_id=deal.id, pipeline_id=deal.pipeline_id, from_stage_key=deal.stage_key, to_stage_key=key,
            to_stage_id=target.id, automatic=automatic, reason=reason, changed_by=by, changed_at=now,
        ),
        tenant_id=deal.tenant_id,
    )  # fmt: skip
    if target.outcome == "lost":
        work.publish(
            DealLostV1(
                deal_id=deal.id, pipeline_id=deal.pipeline_id, person=_person_of(deal),
                reason=reason or ("interrupted for six months" if automatic else "moved to a lost stage"), lost_at=now,
            ),
            tenant_id=deal.tenant_id,
        )  # fmt: skip
    if automatic and key == "interrupted" and not await repo.open_automatic_task(deal.id, INTERRUPTED_TASK):
        await _add_task(
            work, repo, deal, kind="call", title=INTERRUPTED_TASK, responsible_id=deal.curator_id,
            due_at=now + timedelta(days=1), now=now, by="funnel", automatic=True,
        )  # fmt: skip


def _person_of(deal: Row) -> Person:
    return Person(lead_id=deal.lead_id, patient_id=deal.patient_id, name=deal.name, phone=deal.phone)


async def reevaluate(work: UnitOfWork, repo: Repository, deal: Row, now: datetime) -> None:
    """Put an Arrived-and-repeat deal where the rules say, in automatic mode; keep the next booking fresh."""
    facts = await repo.facts(deal.tenant_id, deal)
    upcoming = sorted(a.starts_at for a in domain.future_bookings(facts, now) if a.starts_at is not None)
    await repo.set_deal(deal.id, next_booking_at=upcoming[0] if upcoming else None, updated_at=now)
    pipeline = await repo.pipeline(deal.tenant_id, deal.pipeline_id)
    if pipeline is None or not pipeline.automatic:
        return
    await _move(work, repo, deal, domain.arrived_stage(facts, now), now)
    await _complete_plans(work, repo, deal, facts, now)


async def _complete_plans(work: UnitOfWork, repo: Repository, deal: Row, facts: domain.Facts, now: datetime) -> None:
    found, _ = await repo.plans_of(deal.id)
    for row in found:
        plan = next(p for p in facts.plans if p.id == row.id)
        if row.completed_at is None and domain.plan_complete(plan, facts.visits):
            await repo.set_plan(row.id, status="completed", completed_at=now)
            work.publish(
                TreatmentPlanCompletedV1(plan_id=row.id, deal_id=deal.id, completed_at=now), tenant_id=deal.tenant_id
            )


async def move_by_hand(
    uow: UnitOfWorkFactory, principal: Principal, deal_id: str, stage_key: str, reason: str, now: datetime
) -> None:
    async with uow() as work:
        repo = Repository(work.session)
        deal = await _deal(repo, principal, deal_id, lock=True)
        pipeline = await repo.pipeline(principal.tenant_id, deal.pipeline_id)
        if pipeline is not None and pipeline.automatic and pipeline.kind == ARRIVED:
            raise Conflict(
                "The pipeline is in automatic mode; switch it to manual to move deals by hand.", field="stage"
            )
        await _move(
            work, repo, deal, stage_key, now, automatic=False, reason=domain.clean_title(reason, field_name="reason"),
            by=principal.user_id,
        )  # fmt: skip
        await work.commit()


async def _deal(repo: Repository, principal: Principal, deal_id: str, *, lock: bool = False) -> Row:
    deal = await repo.deal(principal.tenant_id, deal_id, lock=lock)
    if deal is None or not visible(principal, deal):
        raise NotFound("No such deal.", field="deal_id")
    return deal


def visible(principal: Principal, deal: Row) -> bool:
    """Managers (funnel:admin) see every deal; others the unassigned ones and those they curate."""
    return principal.has("funnel:admin") or deal.curator_id in (None, principal.user_id)


# --- events --------------------------------------------------------------------------------------
async def handle_event(uow: UnitOfWork, event: Event, meta: EventMeta, *, clock: Clock) -> None:
    """Record the event's facts, then let the rules move the deals they concern."""
    repo = Repository(uow.session)
    tenant = meta.tenant_id
    now = clock()
    await ensure_pipelines(repo, tenant)
    if isinstance(event, LeadCreatedV1 | RequestCreatedV1):
        await _on_request(uow, repo, tenant, event, now)
        return
    person: Person = event.person  # type: ignore[attr-defined]
    if isinstance(event, AppointmentBookedV1):
        fact = Appointment(event.appointment_id, starts_at=event.starts_at, starts_version=event.booked_at)
    elif isinstance(event, AppointmentRescheduledV1):
        fact = Appointment(event.appointment_id, starts_at=event.starts_at, starts_version=event.rescheduled_at)
    elif isinstance(event, AppointmentCancelledV1):
        fact = Appointment(event.appointment_id, cancelled_at=event.cancelled_at)
    elif isinstance(event, PatientArrivedV1):
        fact = Appointment(event.appointment_id, done_at=event.arrived_at)
    elif isinstance(event, VisitCompletedV1):
        fact = Appointment(event.appointment_id, done_at=event.completed_at)
        visit = Visit(event.appointment_id, event.completed_at, tuple(event.procedures_done or [event.procedure_id]))
        await repo.record_visit(tenant, person.lead_id, person.patient_id, visit)
    else:
        assert isinstance(event, PaymentConfirmedV1)
        await _on_payment(repo, tenant, event, now)
        return
    await repo.record_appointment(tenant, person.lead_id, person.patient_id, fact)
    if person.lead_id and isinstance(event, AppointmentBookedV1):
        for deal in await repo.request_deals(tenant, person.lead_id):
            await _move(uow, repo, deal, domain.request_stage(deal.stage_key, True), now)
    deal = await _arrived_deal(uow, repo, tenant, person, now, create=isinstance(event, PatientArrivedV1))
    if deal is None:
        return
    if isinstance(event, VisitCompletedV1):
        await repo.log(tenant, deal.id, now, "visit", f"visit completed ({', '.join(visit.procedures)})")
    elif isinstance(event, AppointmentBookedV1):
        await repo.log(
            tenant, deal.id, now, "booking", f"{event.procedure_name} booked for {event.starts_at.isoformat()}"
        )
    elif isinstance(event, AppointmentCancelledV1):
        await repo.log(tenant, deal.id, now, "booking", f"appointment for {event.starts_at.isoformat()} cancelled")
    await reevaluate(uow, repo, deal, now)


async def _arrived_deal(
    work: UnitOfWork, repo: Repository, tenant: str, person: Person, now: datetime, *, create: bool
) -> Row | None:
    patient = person.patient_id or (f"lead:{person.lead_id}" if person.lead_id else None)
    if patient is None:
        return None
    deal = await repo.arrived_deal(tenant, patient, lock=True)
    if deal is not None or not create:
        return deal
    pipeline = await repo.builtin(tenant, ARRIVED)
    assert pipeline is not None
    stage = await _stage_by_key(repo, tenant, pipeline.id, "new")
    deal_id = context.new_id()
    if await repo.add_deal(
        id=deal_id, tenant_id=tenant, pipeline_id=pipeline.id, kind=ARRIVED, stage_id=stage.id, stage_key="new",
        stage_since=now, lead_id=person.lead_id, patient_id=patient, name=person.name, phone=person.phone,
        created_at=now, updated_at=now,
    ):  # fmt: skip
        work.publish(
            DealCreatedV1(
                deal_id=deal_id, pipeline_id=pipeline.id, pipeline_kind=ARRIVED, stage_id=stage.id, stage_key="new",
                person=person, created_at=now,
            ),
            tenant_id=tenant,
        )  # fmt: skip
        await repo.log(tenant, deal_id, now, "stage", "arrived: deal opened")
    return await repo.arrived_deal(tenant, patient, lock=True)


async def _on_request(
    work: UnitOfWork, repo: Repository, tenant: str, event: LeadCreatedV1 | RequestCreatedV1, now: datetime
) -> None:
    """One deal per request; a lead's first request and the lead itself share one deal, whichever comes first."""
    existing = await repo.request_deals(tenant, event.lead_id)
    if isinstance(event, LeadCreatedV1):
        if existing:
            await repo.set_deal(
                existing[0].id, name=event.name, phone=event.phone, source=existing[0].source or event.source
            )
            return
        request_id: str | None = None
        source: str | None = event.source
    else:
        if any(d.request_id == event.request_id for d in existing):
            return
        bare = [d for d in existing if d.request_id is None]
        if bare:
            await repo.set_deal(bare[0].id, request_id=event.request_id, updated_at=now)
            return
        request_id, source = event.request_id, event.channel
    pipeline = await repo.builtin(tenant, REQUESTS)
    assert pipeline is not None
    booked = await repo.person_booked(tenant, event.lead_id)
    key = domain.request_stage("new", booked)
    stage = await _stage_by_key(repo, tenant, pipeline.id, key)
    deal_id = context.new_id()
    name = event.name if isinstance(event, LeadCreatedV1) else None
    phone = event.phone if isinstance(event, LeadCreatedV1) else None
    if await repo.add_deal(
        id=deal_id, tenant_id=tenant, pipeline_id=pipeline.id, kind=REQUESTS, stage_id=stage.id, stage_key=key,
        stage_since=now, lead_id=event.lead_id, request_id=request_id, name=name, phone=phone, source=source,
        created_at=now, updated_at=now,
    ):  # fmt: skip
        work.publish(
            DealCreatedV1(
                deal_id=deal_id, pipeline_id=pipeline.id, pipeline_kind=REQUESTS, stage_id=stage.id, stage_key=key,
                person=Person(lead_id=event.lead_id, name=name, phone=phone), source=source, created_at=now,
            ),
            tenant_id=tenant,
        )  # fmt: skip


async def _on_payment(repo: Repository, tenant: str, event: PaymentConfirmedV1, now: datetime) -> None:
    patient = event.person.patient_id or (f"lead:{event.person.lead_id}" if event.person.lead_id else None)
    deal = None if patient is None else await repo.arrived_deal(tenant, patient, lock=True)
    if deal is None:
        return
    await repo.set_deal(deal.id, paid=deal.paid + Decimal(event.amount), updated_at=now)
    await repo.log(tenant, deal.id, now, "payment", f"{event.amount} {event.currency} paid ({event.method})")


# --- timers --------------------------------------------------------------------------------------
async def lost_round(uow: UnitOfWorkFactory, clock: Clock, *, limit: int = 200) -> int:
    """Durable Lost timer: interrupted deals are re-evaluated against the clock (state is in the database)."""
    now = clock()
    moved = 0
    async with uow() as work:
        repo = Repository(work.session)
        for ref in await repo.deals_in_stage("interrupted", limit=limit):
            deal = await repo.deal(ref.tenant_id, ref.id, lock=True)
            if deal is None:
                continue
            facts = await repo.facts(deal.tenant_id, deal)
            if domain.arrived_stage(facts, now) != "interrupted":
                await reevaluate(work, repo, deal, now)
                moved += 1
        await work.commit()
    return moved


async def overdue_round(uow: UnitOfWorkFactory, clock: Clock, *, limit: int = 200) -> int:
    """task.overdue once per task that passed its due time."""
    now = clock()
    async with uow() as work:
        repo = Repository(work.session)
        found = await repo.claim_overdue(now, limit=limit)
        for t in found:
            await repo.set_task(t.id, overdue_at=now)
            work.publish(
                TaskOverdueV1(
                    task_id=t.id, deal_id=t.deal_id, responsible_id=t.responsible_id, due_at=t.due_at, overdue_at=now
                ),
                tenant_id=t.tenant_id,
            )
        await work.commit()
    return len(found)


# --- curators ----------------------------------------------------------------------------------
async def set_curator_terms(
    uow: UnitOfWorkFactory, principal: Principal, user_id: str, general: Decimal, per_service: dict[str, Decimal]
) -> None:
    domain.clean_percent(general, field_name="general_percent")
    for key, value in per_service.items():
        domain.clean_percent(value, field_name=f"per_service.{key}")
    async with uow() as work:
        await Repository(work.session).put_curator(
            principal.tenant_id, user_id, general, {k: str(v) for k, v in per_service.items()}
        )
        await work.commit()


async def assign_curator(
    uow: UnitOfWorkFactory, principal: Principal, deal_id: str, curator_id: str, now: datetime
) -> None:
    async with uow() as work:
        repo = Repository(work.session)
        deal = await _deal(repo, principal, deal_id, lock=True)
        if await repo.curator(principal.tenant_id, curator_id) is None:
            raise NotFound("No such curator in this clinic (set the curator's percentages first).", field="curator_id")
        await repo.set_deal(deal.id, curator_id=curator_id, updated_at=now)
        await repo.log(principal.tenant_id, deal.id, now, "curator", f"curator {curator_id}")
        work.publish(
            CuratorAssignedV1(
                deal_id=deal.id, curator_id=curator_id, previous_curator_id=deal.curator_id,
                assigned_by=principal.user_id, assigned_at=now,
            ),
            tenant_id=principal.tenant_id,
        )  # fmt: skip
        await work.commit()


async def curators(uow: UnitOfWorkFactory, principal: Principal) -> list[Row]:
    async with uow() as work:
        return await Repository(work.session).curators(principal.tenant_id)


# --- treatment plans ---------------------------------------------------------------------------
async def create_plan(
    uow: UnitOfWorkFactory, principal: Principal, deal_id: str, title: str, currency: str, items: list[PlanItem],
    now: datetime,
) -> str:  # fmt: skip
    clean = domain.clean_items(items)
    currency = domain.clean_currency(currency)
    total = sum((i.total for i in clean), Decimal(0))
    async with uow() as work:
        repo = Repository(work.session)
        deal = await _deal(repo, principal, deal_id, lock=True)
        if deal.kind != ARRIVED:
            raise InvalidFunnel("Treatment plans belong to Arrived-and-repeat deals.", field="deal_id")
        plan_id = context.new_id()
        await repo.add_plan(
            {
                "id": plan_id, "tenant_id": principal.tenant_id, "deal_id": deal.id,
                "title": domain.clean_title(title), "currency": currency, "total": total, "status": "created",
                "created_by": principal.user_id, "created_at": now,
            },
            [
                {
                    "id": context.new_id(), "plan_id": plan_id, "position": n, "stage": i.stage,
                    "procedure": i.procedure, "procedure_id": i.procedure_id, "quantity": i.quantity,
                    "price": i.price, "discount": i.discount,
                }
                for n, i in enumerate(clean)
            ],
        )  # fmt: skip
        await repo.set_deal(deal.id, amount=deal.amount + total, updated_at=now)
        await repo.log(principal.tenant_id, deal.id, now, "plan", f"plan {title!r} created ({total} {currency})")
        before_discount = sum((i.price * i.quantity for i in clean), Decimal(0)).quantize(Decimal("0.01"))
        work.publish(
            TreatmentPlanCreatedV1(
                plan_id=plan_id, deal_id=deal.id, title=title, total=str(total), currency=currency, items=len(clean),
                total_before_discount=str(before_discount),
                created_by=principal.user_id, created_at=now,
            ),
            tenant_id=principal.tenant_id,
        )  # fmt: skip
        await work.commit()
    return plan_id


async def sign_plan(uow: UnitOfWorkFactory, principal: Principal, plan_id: str, now: datetime) -> None:
    """Signed without upload (the signed-file upload is not built yet)."""
    async with uow() as work:
        repo = Repository(work.session)
        plan = await repo.plan(principal.tenant_id, plan_id)
        if plan is None:
            raise NotFound("No such treatment plan.", field="plan_id")
        deal = await _deal(repo, principal, plan.deal_id, lock=True)
        if plan.signed_at is not None:
            raise Conflict("The plan is already signed.", field="plan_id")
        await repo.set_plan(plan_id, status="signed", signed_at=now, signed_by=principal.user_id)
        await repo.log(principal.tenant_id, deal.id, now, "plan", f"plan {plan.title!r} signed")
        work.publish(
            TreatmentPlanSignedV1(plan_id=plan_id, deal_id=deal.id, signed_by=principal.user_id, signed_at=now),
            tenant_id=principal.tenant_id,
        )
        await reevaluate(work, repo, deal, now)
        await work.commit()


# --- tasks -------------------------------------------------------------------------------------
async def _add_task(
    work: UnitOfWork, repo: Repository, deal: Row, *, kind: str, title: str, responsible_id: str | None,
    due_at: datetime, now: datetime, by: str, automatic: bool,
) -> str:  # fmt: skip
    task_id = context.new_id()
    await repo.add_task(
        id=task_id, tenant_id=deal.tenant_id, deal_id=deal.id, kind=kind, title=title, responsible_id=responsible_id,
        due_at=due_at, automatic=automatic, created_by=by, created_at=now,
    )  # fmt: skip
    await repo.log(deal.tenant_id, deal.id, now, "task", f"task {title!r} due {due_at.isoformat()}")
    work.publish(
        TaskCreatedV1(
            task_id=task_id, deal_id=deal.id, kind=kind, title=title, responsible_id=responsible_id, due_at=due_at,
            automatic=automatic, created_at=now,
        ),
        tenant_id=deal.tenant_id,
    )  # fmt: skip
    return task_id


async def add_task(
    uow: UnitOfWorkFactory, principal: Principal, deal_id: str, *, kind: str, title: str,
    responsible_id: str | None, due_at: datetime, now: datetime,
) -> str:  # fmt: skip
    domain.clean_kind(kind)
    domain.clean_due(due_at, now)
    async with uow() as work:
        repo = Repository(work.session)
        deal = await _deal(repo, principal, deal_id, lock=True)
        task_id = await _add_task(
            work, repo, deal, kind=kind, title=domain.clean_title(title),
            responsible_id=responsible_id or principal.user_id, due_at=due_at, now=now, by=principal.user_id,
            automatic=False,
        )  # fmt: skip
        await work.commit()
    return task_id


async def complete_task(uow: UnitOfWorkFactory, principal: Principal, task_id: str, now: datetime) -> None:
    async with uow() as work:
        repo = Repository(work.session)
        task = await repo.task(principal.tenant_id, task_id)
        if task is None:
            raise NotFound("No such task.", field="task_id")
        await _deal(repo, principal, task.deal_id)
        if task.completed_at is None:
            await repo.set_task(task_id, completed_at=now)
            work.publish(
                TaskCompletedV1(
                    task_id=task_id, deal_id=task.deal_id, completed_by=principal.user_id, completed_at=now
                ),
                tenant_id=principal.tenant_id,
            )
        await work.commit()


async def edit_task(
    uow: UnitOfWorkFactory, principal: Principal, task_id: str, *, title: str | None, due_at: datetime | None,
    responsible_id: str | None, now: datetime,
) -> None:  # fmt: skip
    values: dict[str, Any] = {}
    if title is not None:
        values["title"] = domain.clean_title(title)
    if due_at is not None:
        # A new due time re-arms the overdue timer.
        values |= {"due_at": domain.clean_due(due_at, now), "overdue_at": None}
    if responsible_id is not None:
        values["responsible_id"] = responsible_id
    async with uow() as work:
        repo = Repository(work.session)
        task = await repo.task(principal.tenant_id, task_id)
        if task is None:
            raise NotFound("No such task.", field="task_id")
        await _deal(repo, principal, task.deal_id)
        if task.completed_at is not None:
            raise Conflict("The task is completed.", field="task_id")
        if values:
            await repo.set_task(task_id, **values)
        await work.commit()


async def tasks_of(uow: UnitOfWorkFactory, principal: Principal, deal_id: str) -> list[Row]:
    async with uow() as work:
        repo = Repository(work.session)
        deal = await _deal(repo, principal, deal_id)
        return await repo.tasks_of(deal.id)


async def comment_task(uow: UnitOfWorkFactory, principal: Principal, task_id: str, text: str, now: datetime) -> None:
    async with uow() as work:
        repo = Repository(work.session)
        task = await repo.task(principal.tenant_id, task_id)
        if task is None:
            raise NotFound("No such task.", field="task_id")
        await _deal(repo, principal, task.deal_id)
        comment = {"by": principal.user_id, "at": now.isoformat(), "text": domain.clean_comment(text)}
        await repo.set_task(task_id, comments=[*task.comments, comment])
        await work.commit()


# --- read side ---------------------------------------------------------------------------------
async def board(
    uow: UnitOfWorkFactory, principal: Principal, pipeline_id: str, *, now: datetime, curator_id: str | None,
    stage_id: str | None, overdue: bool, no_future_booking: bool, per_stage: int, plan_state: str | None = None,
) -> tuple[Row, list[Row], list[Row], list[Row]]:  # fmt: skip
    plan_state = domain.plan_state(plan_state)
    async with uow() as work:
        repo = Repository(work.session)
        await ensure_pipelines(repo, principal.tenant_id)
        pipeline = await repo.pipeline(principal.tenant_id, pipeline_id)
        if pipeline is None:
            raise NotFound("No such pipeline.", field="pipeline_id")
        listed = await repo.stages(principal.tenant_id, [pipeline_id])
        if stage_id is not None and all(s.id != stage_id for s in listed):
            raise NotFound("The pipeline has no such stage.", field="stage_id")
        mine = None if principal.has("funnel:admin") else principal.user_id
        totals, rows = await repo.board(
            principal.tenant_id, pipeline_id, now=now, curator_id=curator_id, stage_id=stage_id, overdue=overdue,
            no_future_booking=no_future_booking, mine_only=mine, per_stage=per_stage, plan_state=plan_state,
        )  # fmt: skip
        await work.commit()
    return pipeline, listed, totals, rows


async def card(uow: UnitOfWorkFactory, principal: Principal, deal_id: str) -> dict[str, Any]:
    async with uow() as work:
        repo = Repository(work.session)
        deal = await _deal(repo, principal, deal_id)
        found, items = await repo.plans_of(deal.id)
        return {
            "deal": deal,
            "plans": found,
            "items": items,
            "tasks": await repo.tasks_of(deal.id),
            "visits": await repo.visit_history(deal.tenant_id, deal),
            "bookings": await repo.bookings(deal.tenant_id, deal),
            "feed": await repo.feed(deal.id),
        }
