"""Use cases of funnel: one unit of work each; events go out through the outbox (`uow.publish`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from types import SimpleNamespace
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
from contracts.leads import LeadAssignedV1, LeadCreatedV1, RequestCreatedV1
from contracts.notifications import MessageSentV1
from contracts.payments import PaymentConfirmedV1, PaymentRefundedV1
from contracts.people import Person
from contracts.scheduling import (
    AppointmentBookedV1,
    AppointmentCancelledV1,
    AppointmentConfirmedV1,
    AppointmentRescheduledV1,
    PatientArrivedV1,
    VisitCompletedV1,
)
from contracts.telephony import CallAnsweredV1, CallEndedV1, CallMissedV1
from funnel import domain
from funnel.clock import Clock
from funnel.domain import ARRIVED, BUILTIN, REQUESTS, Appointment, Conflict, InvalidFunnel, NotFound, PlanItem, Visit
from funnel.repository import Repository, Row
from funnel.services.work import FunnelWork, FunnelWorkFactory
from kit import context
from kit.auth import Principal
from kit.objects import ObjectNotFound, ObjectStore

INTERRUPTED_TASK = "Book the next visit"
CONFIRM_TASK = "Confirm the appointment"
#: Who completes an automatic task that the events showed done.
BY_TELEPHONY = "funnel:telephony"
BY_SCHEDULING = "funnel:scheduling"
BY_RULES = "funnel"
CONSUMED: tuple[type[Event], ...] = (
    LeadCreatedV1,
    LeadAssignedV1,
    RequestCreatedV1,
    AppointmentBookedV1,
    AppointmentRescheduledV1,
    AppointmentConfirmedV1,
    AppointmentCancelledV1,
    PatientArrivedV1,
    VisitCompletedV1,
    PaymentConfirmedV1,
    PaymentRefundedV1,
    CallMissedV1,
    CallAnsweredV1,
    CallEndedV1,
    MessageSentV1,
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


async def pipelines(uow: FunnelWorkFactory, principal: Principal) -> tuple[list[Row], list[Row]]:
    async with uow() as work:
        repo = work.funnel
        await ensure_pipelines(repo, principal.tenant_id)
        found = [p for p in await repo.pipelines(principal.tenant_id) if p.archived_at is None]
        listed = await repo.stages(principal.tenant_id, [p.id for p in found])
        await work.commit()
    return found, listed


def _taken(found: list[Row], but: str | None = None) -> list[str]:
    """The names of the clinic's live pipelines (but one)."""
    return [p.name for p in found if p.archived_at is None and p.id != but]


async def create_pipeline(
    uow: FunnelWorkFactory, principal: Principal, *, name: str, stages: list[domain.StageSpec]
) -> str:
    """A pipeline of the clinic's own (kind custom): its stages in order, moved by hand only."""
    cleaned = domain.clean_stages(stages)
    async with uow() as work:
        repo = work.funnel
        await ensure_pipelines(repo, principal.tenant_id)  # the built-in names are taken before the clinic's
        found = await repo.pipelines(principal.tenant_id)
        clean_name = domain.clean_pipeline_name(name, _taken(found))
        pipeline_id = context.new_id()
        added = await repo.add_pipeline(
            id=pipeline_id, tenant_id=principal.tenant_id, kind=domain.CUSTOM, name=clean_name,
            position=max((p.position for p in found), default=0) + 1, automatic=False,
        )  # fmt: skip
        if not added:  # uq_pipelines_name: another request took the name meanwhile
            raise Conflict("The clinic already has a pipeline with this name.", field="name")
        for i, spec in enumerate(cleaned):
            await repo.add_stage(
                id=context.new_id(), tenant_id=principal.tenant_id, pipeline_id=pipeline_id, key=spec.key,
                name=spec.name, position=i, color=spec.color, outcome=spec.outcome,
            )  # fmt: skip
        await work.commit()
    return pipeline_id


async def remove_pipeline(uow: FunnelWorkFactory, principal: Principal, pipeline_id: str, now: datetime) -> str:
    """`deleted` (it never held a deal) or `archived` (only closed deals: hidden, they stay); a built-in pipeline
    or one with open deals is refused (funnel.domain.removable)."""
    async with uow() as work:
        repo = work.funnel
        pipeline = await repo.lock_pipeline(principal.tenant_id, pipeline_id)
        if pipeline is None or pipeline.archived_at is not None:
            raise NotFound("No such pipeline.", field="pipeline_id")
        how = domain.removable(pipeline.kind, *await repo.deals_held(principal.tenant_id, pipeline_id))
        if how == "deleted":
            await repo.delete_pipeline(principal.tenant_id, pipeline_id)
        else:
            await repo.set_pipeline(principal.tenant_id, pipeline_id, archived_at=now)
        await work.commit()
    return how


async def configure_pipeline(
    uow: FunnelWorkFactory, principal: Principal, pipeline_id: str, *, name: str | None, automatic: bool | None
) -> None:
    async with uow() as work:
        repo = work.funnel
        pipeline = await repo.pipeline(principal.tenant_id, pipeline_id)
        if pipeline is None or pipeline.archived_at is not None:
            raise NotFound("No such pipeline.", field="pipeline_id")
        values: dict[str, Any] = {}
        if name is not None:
            taken = _taken(await repo.pipelines(principal.tenant_id), pipeline_id)
            values["name"] = domain.clean_pipeline_name(name, taken)
        if automatic is not None:
            if automatic and pipeline.kind == domain.CUSTOM:
                raise InvalidFunnel("No rules move the deals of the clinic's own pipelines; they stay manual.",
                                    field="automatic")  # fmt: skip
            values["automatic"] = automatic
        if values:
            await repo.set_pipeline(principal.tenant_id, pipeline_id, **values)
        await work.commit()


async def add_stage(
    uow: FunnelWorkFactory, principal: Principal, pipeline_id: str, *, key: str, name: str, color: str, outcome: str
) -> str:
    async with uow() as work:
        repo = work.funnel
        if await repo.pipeline(principal.tenant_id, pipeline_id) is None:
            raise NotFound("No such pipeline.", field="pipeline_id")
        listed = await repo.stages(principal.tenant_id, [pipeline_id])
        clean_key = domain.clean_key(key)
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
    uow: FunnelWorkFactory, principal: Principal, stage_id: str, *, name: str | None, color: str | None,
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
        repo = work.funnel
        await _stage(repo, principal.tenant_id, stage_id)
        if values:
            await repo.set_stage(principal.tenant_id, stage_id, **values)
        await work.commit()


async def delete_stage(uow: FunnelWorkFactory, principal: Principal, stage_id: str) -> None:
    async with uow() as work:
        repo = work.funnel
        stage, pipeline = await _stage(repo, principal.tenant_id, stage_id)
        if pipeline.kind != "custom" and any(stage.key == s.key for _, (_, specs) in BUILTIN.items() for s in specs):
            raise Conflict("The rules of a built-in pipeline use this stage; rename it instead.", field="stage_id")
        if await repo.stage_in_use(stage_id):
            raise Conflict("Deals are in this stage; move them first.", field="stage_id")
        rest = [s for s in await repo.stages(principal.tenant_id, [pipeline.id]) if s.id != stage_id]
        if pipeline.kind == domain.CUSTOM and all(s.outcome != "open" for s in rest):
            raise Conflict("This is the pipeline's last open stage, where its deals start.", field="stage_id")
        await repo.delete_stage(principal.tenant_id, stage_id)
        await work.commit()


async def _stage(repo: Repository, tenant_id: str, stage_id: str) -> tuple[Row, Row]:
    for pipeline in await repo.pipelines(tenant_id):
        for s in await repo.stages(tenant_id, [pipeline.id]):
            if s.id == stage_id:
                return s, pipeline
    raise NotFound("No such stage.", field="stage_id")


async def open_deal(
    uow: FunnelWorkFactory, principal: Principal, pipeline_id: str, *, stage: str | None, name: str,
    phone: str | None, lead_id: str | None, patient_id: str | None, amount: Decimal | None, now: datetime,
) -> str:  # fmt: skip
    """A deal opened by hand in a pipeline of the clinic's own (the built-in ones open theirs from events), in
    `stage` (a key) or the pipeline's first open stage."""
    async with uow() as work:
        repo = work.funnel
        pipeline = await repo.lock_pipeline(principal.tenant_id, pipeline_id, share=True)
        if pipeline is None or pipeline.archived_at is not None:
            raise NotFound("No such pipeline.", field="pipeline_id")
        if pipeline.kind != domain.CUSTOM:
            raise Conflict("The built-in pipelines open their deals from events.", field="pipeline_id")
        listed = await repo.stages(principal.tenant_id, [pipeline_id])
        if stage is None:
            target = next((s for s in listed if s.outcome == "open"), None)
            if target is None:
                raise Conflict("The pipeline has no open stage.", field="stage")
        else:
            target = await _stage_by_key(repo, principal.tenant_id, pipeline_id, stage)
        clean_name = domain.clean_title(name, field_name="name")
        clean_phone = phone.strip() or None if phone is not None else None
        deal_id = context.new_id()
        await repo.add_deal(
            id=deal_id, tenant_id=principal.tenant_id, pipeline_id=pipeline_id, kind=domain.CUSTOM,
            stage_id=target.id, stage_key=target.key, stage_since=now, lead_id=lead_id, patient_id=patient_id,
            name=clean_name, phone=clean_phone, source="manual", amount=domain.clean_amount(amount or Decimal(0)),
            created_at=now, updated_at=now,
        )  # fmt: skip
        person = Person(lead_id=lead_id, patient_id=patient_id, name=clean_name, phone=clean_phone)
        work.publish(
            DealCreatedV1(
                deal_id=deal_id, pipeline_id=pipeline_id, pipeline_kind=domain.CUSTOM, stage_id=target.id,
                stage_key=target.key, person=person, source="manual", created_at=now,
            ),
            tenant_id=principal.tenant_id,
        )  # fmt: skip
        await repo.log(principal.tenant_id, deal_id, now, "stage", f"opened by hand in {target.key}")
        await work.commit()
    return deal_id


# --- moving deals ------------------------------------------------------------------------------
async def _stage_by_key(repo: Repository, tenant_id: str, pipeline_id: str, key: str) -> Row:
    for s in await repo.stages(tenant_id, [pipeline_id]):
        if s.key == key:
            return s
    raise NotFound(f"The pipeline has no stage {key!r}.", field="stage")


async def _move(
    work: FunnelWork, repo: Repository, deal: Row, key: str, now: datetime, *, automatic: bool = True,
    reason: str | None = None, by: str | None = None,
) -> None:  # fmt: skip
    """Move the deal (and write it); reevaluate writes a move with its other changes (`_moved`)."""
    if deal.stage_key == key:
        return
    needs_tasks = (automatic and key == "interrupted") or deal.stage_key == "interrupted"
    open_tasks = await repo.open_tasks(deal.id) if needs_tasks else []
    before = len(open_tasks), [t.id for t in open_tasks]
    values = await _moved(work, repo, deal, key, now, open_tasks, automatic=automatic, reason=reason, by=by)
    if (len(open_tasks), [t.id for t in open_tasks]) != before:
        values |= _next_due(open_tasks, now)
    await repo.set_deal(deal.id, **values)


async def _moved(
    work: FunnelWork, repo: Repository, deal: Row, key: str, now: datetime, open_tasks: list[Row], *,
    automatic: bool = True, reason: str | None = None, by: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """A move's activity line, events and automatic tasks; returns the deal's new values for the caller to write.
    `open_tasks` (the deal's open tasks) is kept up to date: the caller derives next_due_at from it."""
    target = await _stage_by_key(repo, deal.tenant_id, deal.pipeline_id, key)
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
    if automatic and key == "interrupted" and not any(t.automatic and t.title == INTERRUPTED_TASK for t in open_tasks):
        due_at = now + timedelta(days=1)
        task_id = await _add_task(
            work, repo, deal, kind="call", title=INTERRUPTED_TASK, responsible_id=deal.curator_id, due_at=due_at,
            now=now, by="funnel", automatic=True, reason=domain.INTERRUPTED, next_due=False,
        )  # fmt: skip
        open_tasks.append(
            SimpleNamespace(
                id=task_id, tenant_id=deal.tenant_id, deal_id=deal.id, title=INTERRUPTED_TASK,
                reason=domain.INTERRUPTED, automatic=True, due_at=due_at,
            )
        )  # fmt: skip
    if deal.stage_key == "interrupted" and key in ("in_treatment", "completed"):
        # The next visit is booked: the "Book the next visit" task is done by itself.
        done = [t for t in open_tasks if t.reason == domain.INTERRUPTED]
        await repo.complete_tasks([t.id for t in done], now)
        for task in done:
            open_tasks.remove(task)
            await _completed(work, repo, task, now, BY_RULES, note=f"deal moved to {key}")
    return {"stage_id": target.id, "stage_key": key, "stage_since": now, "updated_at": now}


def _next_due(open_tasks: list[Row], now: datetime) -> dict[str, Any]:
    """The deal's next_due_at and overdue flag from its open tasks."""
    due = min((t.due_at for t in open_tasks), default=None)
    return {"next_due_at": due, "overdue": domain.overdue(due, now)}


def _activity(deal: Row, at: datetime, now: datetime) -> dict[str, Any]:
    """The deal's last activity moved to `at` (if later), with its inactive flag as of `now`."""
    last = _later(deal, at)
    return {"last_activity_at": last, "inactive": domain.inactive(last, now)}


def _person_of(deal: Row) -> Person:
    return Person(lead_id=deal.lead_id, patient_id=deal.patient_id, name=deal.name, phone=deal.phone)


async def reevaluate(
    work: FunnelWork, repo: Repository, deal: Row, now: datetime, *, changes: dict[str, Any] | None = None
) -> None:
    """Put an Arrived-and-repeat deal where the rules say, in automatic mode; keep the next booking, the plan
    state and the task indicators fresh. One read (Repository.situation) and one write of the deal, with
    `changes` (other columns the caller changes) in the same statement."""
    found = await repo.situation(deal.tenant_id, deal)
    facts, open_tasks = found.facts, list(found.open_tasks)
    upcoming = sorted(a.starts_at for a in domain.future_bookings(facts, now) if a.starts_at is not None)
    values = {**(changes or {}), "next_booking_at": upcoming[0] if upcoming else None, "updated_at": now}
    statuses = {p.id: p.status for p in found.plans}
    pipeline = await repo.pipeline(deal.tenant_id, deal.pipeline_id)
    values["lost_due_at"] = None  # only the rules of automatic mode make an Interrupted deal Lost
    if pipeline is not None and pipeline.automatic:
        key = domain.arrived_stage(facts, now)
        values["lost_due_at"] = domain.lost_due(facts, now)
        if key != deal.stage_key:
            before = [t.id for t in open_tasks]
            values |= await _moved(work, repo, deal, key, now, open_tasks)
            if [t.id for t in open_tasks] != before:
                values |= _next_due(open_tasks, now)
        for row in found.plans:
            plan = next(p for p in facts.plans if p.id == row.id)
            if row.completed_at is None and domain.plan_complete(plan, facts.visits):
                await repo.set_plan(row.id, status="completed", completed_at=now)
                statuses[row.id] = "completed"
                work.publish(
                    TreatmentPlanCompletedV1(plan_id=row.id, deal_id=deal.id, completed_at=now),
                    tenant_id=deal.tenant_id,
                )
    values["plan_state"] = domain.plan_state(statuses.values())
    await repo.set_deal(deal.id, **values)


async def _refresh_plan_state(repo: Repository, deal_id: str) -> None:
    found, _ = await repo.plans_of(deal_id)
    await repo.set_deal(deal_id, plan_state=domain.plan_state(p.status for p in found))


async def move_by_hand(
    uow: FunnelWorkFactory, principal: Principal, deal_id: str, stage_key: str, reason: str, now: datetime
) -> None:
    async with uow() as work:
        repo = work.funnel
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
async def handle_event(uow: FunnelWork, event: Event, meta: EventMeta, *, clock: Clock) -> None:
    """Record the event's facts, then let the rules move the deals they concern."""
    repo = uow.funnel
    tenant = meta.tenant_id
    now = clock()
    await ensure_pipelines(repo, tenant)
    if isinstance(event, LeadCreatedV1 | RequestCreatedV1):
        await _on_request(uow, repo, tenant, event, now)
        if isinstance(event, LeadCreatedV1) and event.phone:
            await _call_back(uow, repo, tenant, event.phone, event.lead_id, now)
        return
    if isinstance(event, LeadAssignedV1):
        deal_ids = await repo.set_owner(tenant, event.lead_id, event.owner_id)
        if deal_ids and event.owner_id:
            await repo.hand_open_tasks(deal_ids, domain.MISSED_CALL, event.owner_id)
        return
    if isinstance(event, MessageSentV1):
        await repo.add_message(
            tenant_id=tenant, id=event.message_id, lead_id=event.lead_id, channel=event.channel, to=event.to,
            template=event.template, sent_at=event.sent_at,
        )  # fmt: skip
        return
    if isinstance(event, CallMissedV1 | CallAnsweredV1 | CallEndedV1):
        await _on_call(uow, repo, tenant, event, now)
        return
    person: Person = event.person  # type: ignore[attr-defined]
    if isinstance(event, AppointmentBookedV1):
        fact = Appointment(event.appointment_id, starts_at=event.starts_at, starts_version=event.booked_at)
    elif isinstance(event, AppointmentRescheduledV1):
        fact = Appointment(event.appointment_id, starts_at=event.starts_at, starts_version=event.rescheduled_at)
    elif isinstance(event, AppointmentConfirmedV1):
        fact = Appointment(event.appointment_id, confirmed_at=event.confirmed_at)
    elif isinstance(event, AppointmentCancelledV1):
        fact = Appointment(event.appointment_id, cancelled_at=event.cancelled_at)
    elif isinstance(event, PatientArrivedV1):
        fact = Appointment(event.appointment_id, done_at=event.arrived_at)
    elif isinstance(event, VisitCompletedV1):
        fact = Appointment(event.appointment_id, done_at=event.completed_at)
        visit = Visit(event.appointment_id, event.completed_at, tuple(event.procedures_done or [event.procedure_id]))
        await repo.record_visit(tenant, person.lead_id, person.patient_id, visit)
    else:
        assert isinstance(event, PaymentConfirmedV1 | PaymentRefundedV1)
        await _on_money(repo, tenant, event, now)
        return
    called = await repo.record_appointment(tenant, person.lead_id, person.patient_id, fact)
    if called and not isinstance(event, AppointmentBookedV1):
        await _settle_confirm_call(uow, repo, tenant, event, now)
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
    await reevaluate(uow, repo, deal, now, changes=_activity(deal, now, now))


async def _arrived_deal(
    work: FunnelWork, repo: Repository, tenant: str, person: Person, now: datetime, *, create: bool
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
    if added := await repo.add_deal(
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
        return added
    return await repo.arrived_deal(tenant, patient, lock=True)  # another transaction opened it meanwhile


async def _on_request(
    work: FunnelWork, repo: Repository, tenant: str, event: LeadCreatedV1 | RequestCreatedV1, now: datetime
) -> None:
    """One deal per request; a lead's first request and the lead itself share one deal, whichever comes first."""
    existing = await repo.request_deals(tenant, event.lead_id)
    if isinstance(event, LeadCreatedV1):
        if existing:
            await repo.set_deal(
                existing[0].id,
                name=event.name,
                phone=event.phone,
                source=existing[0].source or event.source,
                owner_id=existing[0].owner_id or event.owner_id,
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
        owner_id=event.owner_id if isinstance(event, LeadCreatedV1) else next((d.owner_id for d in existing), None),
        created_at=now, updated_at=now,
    ):  # fmt: skip
        work.publish(
            DealCreatedV1(
                deal_id=deal_id, pipeline_id=pipeline.id, pipeline_kind=REQUESTS, stage_id=stage.id, stage_key=key,
                person=Person(lead_id=event.lead_id, name=name, phone=phone), source=source, created_at=now,
            ),
            tenant_id=tenant,
        )  # fmt: skip


async def _money_deal(repo: Repository, tenant: str, person: Person) -> Row | None:
    """The patient's Arrived-and-repeat deal (locked), else the lead's newest request deal."""
    patient = person.patient_id or (f"lead:{person.lead_id}" if person.lead_id else None)
    deal = None if patient is None else await repo.arrived_deal(tenant, patient, lock=True)
    if deal is None and person.lead_id:
        found = await repo.request_deals(tenant, person.lead_id)
        deal = found[-1] if found else None
    return deal


async def _on_money(
    repo: Repository, tenant: str, event: PaymentConfirmedV1 | PaymentRefundedV1, now: datetime
) -> None:
    """A payment or refund into the deal's ledger, with what it earns the deal's curator.

    Each is recorded once (the payment id; a refund by its payment and the total refunded so far). A refund
    takes back at the curator and percentage of its payment, whoever curates the deal now.
    """
    deal = await _money_deal(repo, tenant, event.person)
    if deal is None:
        return
    if isinstance(event, PaymentConfirmedV1):
        entry, kind, amount, at = event.payment_id, "payment", Decimal(event.amount), event.paid_at
        curator_id, percent = deal.curator_id, None
    else:
        entry, kind, amount = f"{event.payment_id}:refund:{event.total_refunded}", "refund", -Decimal(event.amount)
        at = event.refunded_at
        paid = await repo.money_row(tenant, event.payment_id)
        curator_id = paid.curator_id if paid is not None else deal.curator_id
        percent = paid.percent if paid is not None else None
    if curator_id is not None and percent is None:
        terms = await repo.curator(tenant, curator_id)
        if terms is not None:
            per_service = {k: Decimal(v) for k, v in dict(terms.per_service).items()}
            percent = domain.commission_percent(terms.general_percent, per_service, event.procedure_id)
    if not await repo.add_money(
        tenant_id=tenant, id=entry, payment_id=event.payment_id, deal_id=deal.id, kind=kind, amount=amount,
        currency=event.currency, procedure_id=event.procedure_id, curator_id=curator_id, percent=percent,
        earned=domain.earned(amount, percent) if percent is not None else Decimal(0), at=at,
    ):  # fmt: skip
        return
    await repo.set_deal(deal.id, paid=deal.paid + amount, updated_at=now, **_activity(deal, at, now))
    if kind == "payment":
        text = f"{event.amount} {event.currency} paid ({event.method})"  # type: ignore[union-attr]
    else:
        text = f"{event.amount} {event.currency} refunded"
    await repo.log(tenant, deal.id, now, "payment", text)


def _later(deal: Row, at: datetime) -> datetime:
    last: datetime | None = deal.last_activity_at
    return at if last is None or at > last else last


async def earnings(
    uow: FunnelWorkFactory, principal: Principal, start: date, end: date, curator_id: str | None
) -> list[Row]:
    """What each curator earned from payments (less refunds) made from `start` to `end` (inclusive, UTC days).

    Managers see every curator (or the one asked for); a curator only their own.
    """
    start, end = domain.clean_period(start, end)
    if not principal.has("funnel:admin"):
        if curator_id not in (None, principal.user_id):
            raise NotFound("No such curator among yours.", field="curator_id")
        curator_id = principal.user_id
    begin = datetime.combine(start, time(), tzinfo=UTC)
    async with uow() as work:
        return await work.funnel.earnings(
            principal.tenant_id, begin, datetime.combine(end, time(), tzinfo=UTC) + timedelta(days=1), curator_id
        )


# --- automatic tasks -------------------------------------------------------------------------------
async def _complete(work: FunnelWork, repo: Repository, task: Row, now: datetime, by: str, *, note: str) -> None:
    await repo.set_task(task.id, completed_at=now)
    await _completed(work, repo, task, now, by, note=note)


async def _completed(work: FunnelWork, repo: Repository, task: Row, now: datetime, by: str, *, note: str) -> None:
    """What an automatic task done by itself leaves: its activity line and task.completed."""
    await repo.log(task.tenant_id, task.deal_id, now, "task", f"task {task.title!r} done by itself: {note}")
    work.publish(
        TaskCompletedV1(task_id=task.id, deal_id=task.deal_id, completed_by=by, completed_at=now),
        tenant_id=task.tenant_id,
    )


def _responsible(deal: Row) -> str | None:
    """The lead's responsible agent on a request deal; the curator (else that agent) on the patient's deal."""
    if deal.kind == ARRIVED:
        return deal.curator_id or deal.owner_id  # type: ignore[no-any-return]
    return deal.owner_id  # type: ignore[no-any-return]


async def _on_call(
    work: FunnelWork, repo: Repository, tenant: str, event: CallMissedV1 | CallAnsweredV1 | CallEndedV1, now: datetime
) -> None:
    """Record the call as a fact of its phone, then let the call-back rule open or close the task."""
    if isinstance(event, CallMissedV1):
        if event.direction != "inbound":
            return
        await repo.record_call(tenant, event.call_id, event.caller, event.lead_id, missed_at=event.ended_at)
    elif isinstance(event, CallAnsweredV1):
        await repo.record_call(tenant, event.call_id, event.caller, event.lead_id, answered_at=event.answered_at)
    else:
        if event.disposition != "answered":
            return
        answered = event.answered_at or event.ended_at
        await repo.record_call(tenant, event.call_id, event.caller, event.lead_id, answered_at=answered)
    await _call_back(work, repo, tenant, event.caller, event.lead_id, now)


async def _call_back(
    work: FunnelWork, repo: Repository, tenant: str, phone: str, lead_id: str | None, now: datetime
) -> None:
    """The call-back task of a phone: open while a missed call came after the last answered one.

    Runs on every call event of the phone and when a lead with the phone appears (the missed call of an unknown
    caller usually reaches the funnel before the lead that leads makes of it); locked per phone.
    """
    await repo.lock_phone(tenant, phone)
    known = await repo.calls_of(tenant, phone)
    if not known:
        return
    answered = [c.answered_at for c in known if c.answered_at is not None]
    missed = [(c.call_id, c.missed_at, c.task_id is not None) for c in known if c.missed_at is not None]
    open_tasks = await repo.open_call_backs(tenant, phone)
    current = open_tasks[0] if open_tasks else None
    decided = domain.call_back(missed, answered, current.ref_at if current is not None else None)
    if decided.close and current is not None:
        for task in open_tasks:
            await _complete(work, repo, task, now, BY_TELEPHONY, note=f"an answered call reached {phone}")
        current = None
    if not decided.cover or decided.ref_at is None:
        return
    if current is not None:
        await repo.set_task(current.id, ref_at=decided.ref_at)
        comment = {"by": BY_TELEPHONY, "at": now.isoformat(), "text": f"missed again at {decided.ref_at.isoformat()}"}
        await repo.set_task(current.id, comments=[*current.comments, comment])
        await repo.cover_calls(tenant, list(decided.cover), current.id)
        return
    lead = lead_id or next((c.lead_id for c in known if c.lead_id), None)
    found = await repo.contact_deals(tenant, lead, phone)
    if not found:
        return  # no deal for the phone yet: the lead's deal makes the task when it comes
    deal = found[0]
    task_id = await _add_task(
        work, repo, deal, kind="call", title=f"Call back {phone} (missed call)", responsible_id=_responsible(deal),
        due_at=now, now=now, by=BY_TELEPHONY, automatic=True, reason=domain.MISSED_CALL, ref_at=decided.ref_at,
        phone=phone,
    )  # fmt: skip
    await repo.cover_calls(tenant, list(decided.cover), task_id)


async def _settle_confirm_call(work: FunnelWork, repo: Repository, tenant: str, event: Event, now: datetime) -> None:
    """The confirmation call of an appointment is done once it is confirmed, cancelled or the patient came; a
    reschedule closes it and lets the timer ask again before the new time."""
    appointment_id: str = event.appointment_id  # type: ignore[attr-defined]
    for task in await repo.open_ref_tasks(tenant, domain.UNCONFIRMED, appointment_id):
        await _complete(work, repo, task, now, BY_SCHEDULING, note=event.TYPE.split(".")[-2].replace("_", " "))
    if isinstance(event, AppointmentRescheduledV1):
        await repo.set_appointment(tenant, appointment_id, confirm_task_at=None)


async def _appointment_deal(repo: Repository, tenant: str, patient_id: str | None, lead_id: str | None) -> Row | None:
    for patient in (patient_id, f"lead:{lead_id}" if lead_id else None):
        if patient is not None and (deal := await repo.arrived_deal(tenant, patient)) is not None:
            return deal
    if lead_id:
        found = await repo.request_deals(tenant, lead_id)
        if found:
            return found[-1]
    return None


async def unconfirmed_round(uow: FunnelWorkFactory, clock: Clock, *, limit: int = 200) -> int:
    """Durable timer: a call task for every appointment still unconfirmed N hours (the clinic's) before it."""
    now = clock()
    made = 0
    async with uow() as work:
        repo = work.funnel
        for a in await repo.claim_unconfirmed(now, default_hours=domain.CONFIRM_CALL_HOURS, limit=limit):
            deal = await _appointment_deal(repo, a.tenant_id, a.patient_id, a.lead_id)
            if deal is not None and not await repo.open_ref_tasks(a.tenant_id, domain.UNCONFIRMED, a.id):
                await _add_task(
                    work, repo, deal, kind="call", title=f"{CONFIRM_TASK} of {a.starts_at.isoformat()}",
                    responsible_id=_responsible(deal), due_at=domain.confirm_call_due(a.starts_at, now), now=now,
                    by=BY_RULES, automatic=True, reason=domain.UNCONFIRMED, ref=a.id,
                )  # fmt: skip
                made += 1
            await repo.set_appointment(a.tenant_id, a.id, confirm_task_at=now)
        await work.commit()
    return made


async def get_settings(uow: FunnelWorkFactory, principal: Principal) -> int:
    async with uow() as work:
        row = await work.funnel.settings(principal.tenant_id)
    return domain.CONFIRM_CALL_HOURS if row is None else int(row.confirm_call_hours)


async def put_settings(uow: FunnelWorkFactory, principal: Principal, confirm_call_hours: int, now: datetime) -> None:
    hours = domain.clean_confirm_hours(confirm_call_hours)
    async with uow() as work:
        await work.funnel.put_settings(principal.tenant_id, now, confirm_call_hours=hours)
        await work.commit()


async def queue(uow: FunnelWorkFactory, principal: Principal, *, limit: int) -> list[Row]:
    async with uow() as work:
        mine = None if principal.has("funnel:admin") else principal.user_id
        return await work.funnel.queue(principal.tenant_id, mine_only=mine, limit=limit)


# --- timers --------------------------------------------------------------------------------------
async def lost_round(uow: FunnelWorkFactory, clock: Clock, *, limit: int = 200) -> int:
    """Durable Lost timer: interrupted deals are re-evaluated against the clock (state is in the database)."""
    now = clock()
    evaluated = 0
    async with uow() as work:
        repo = work.funnel
        # Only the deals whose due time came (deals.lost_due_at, written by reevaluate), oldest first: every
        # round reads what is due, however many deals wait in Interrupted.
        for deal in await repo.claim_lost_due(now, limit=limit):
            await reevaluate(work, repo, deal, now)  # Lost, or a later due time if the facts changed
            evaluated += 1
        await work.commit()
    return evaluated


async def board_counts_round(uow: FunnelWorkFactory, clock: Clock, *, limit: int = 5000) -> int:
    """The board counters' upkeep: deals whose booking time passed stop counting as booked, then the pending
    deltas are folded (Repository.pass_bookings, fold_counts); the board reads right either way, only faster."""
    async with uow() as work:
        repo = work.funnel
        now = clock()
        passed = await repo.pass_bookings(now, limit=limit)
        passed += await repo.pass_overdue(now, limit=limit)
        passed += await repo.pass_inactive(now - timedelta(days=domain.ACTIVE_DAYS), limit=limit)
        await repo.flush()  # the flips' deltas, folded by the same round
        folded = await repo.fold_counts(limit=limit)
        await work.commit()
    return passed + folded


async def overdue_round(uow: FunnelWorkFactory, clock: Clock, *, limit: int = 200) -> int:
    """task.overdue once per task that passed its due time."""
    now = clock()
    async with uow() as work:
        repo = work.funnel
        found = await repo.claim_overdue(now, limit=limit)
        await repo.mark_overdue([t.id for t in found], now)
        for t in found:
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
    uow: FunnelWorkFactory, principal: Principal, user_id: str, general: Decimal, per_service: dict[str, Decimal]
) -> None:
    domain.clean_percent(general, field_name="general_percent")
    for key, value in per_service.items():
        domain.clean_percent(value, field_name=f"per_service.{key}")
    async with uow() as work:
        repo = work.funnel
        await _check_staff(repo, principal, {"user_id": user_id})
        await repo.put_curator(principal.tenant_id, user_id, general, {k: str(v) for k, v in per_service.items()})
        await work.commit()


async def assign_curator(
    uow: FunnelWorkFactory, principal: Principal, deal_id: str, curator_id: str, now: datetime
) -> None:
    async with uow() as work:
        repo = work.funnel
        deal = await _deal(repo, principal, deal_id, lock=True)
        if await repo.curator(principal.tenant_id, curator_id) is None:
            raise NotFound("No such curator in this clinic (set the curator's percentages first).", field="curator_id")
        await _check_staff(repo, principal, {"curator_id": curator_id})
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


async def _check_staff(repo: Repository, principal: Principal, wanted: dict[str, str | None]) -> None:
    """field -> user id (None: not given). Each given id other than the caller's must be an active staff member
    of the clinic, as the gateway's directory events tell funnel (docs/funnel.md, "Staff")."""
    others = {field: uid for field, uid in wanted.items() if uid is not None and uid != principal.user_id}
    if others:
        known = await repo.active_staff(principal.tenant_id, sorted(set(others.values())))
        domain.check_members(others, known)


async def curators(uow: FunnelWorkFactory, principal: Principal) -> list[Row]:
    async with uow() as work:
        return await work.funnel.curators(principal.tenant_id)


# --- treatment plans ---------------------------------------------------------------------------
async def create_plan(
    uow: FunnelWorkFactory, principal: Principal, deal_id: str, title: str, currency: str, items: list[PlanItem],
    now: datetime,
) -> str:  # fmt: skip
    clean = domain.clean_items(items)
    currency = domain.clean_currency(currency)
    total = sum((i.total for i in clean), Decimal(0))
    async with uow() as work:
        repo = work.funnel
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
        await _refresh_plan_state(repo, deal.id)
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


#: How long a download link of a signed plan file works.
SIGNED_LINK_SECONDS = 900


async def _signable(repo: Repository, principal: Principal, plan_id: str) -> tuple[Row, Row]:
    plan = await repo.plan(principal.tenant_id, plan_id)
    if plan is None:
        raise NotFound("No such treatment plan.", field="plan_id")
    deal = await _deal(repo, principal, plan.deal_id, lock=True)
    if plan.file_key is not None:
        raise Conflict("The plan already has its signed file.", field="plan_id")
    return plan, deal


async def upload_signed_file(
    uow: FunnelWorkFactory, store: ObjectStore, principal: Principal, plan_id: str, content_type: str | None,
    data: bytes, now: datetime,
) -> str:  # fmt: skip
    """The signed plan's file into the object store, then the plan signed with it (and the deal moved).

    Checked before anything is stored; the object is written before the row that names it, and removed again
    when the plan was signed with another file meanwhile, so no row ever names a missing object.
    """
    kind = domain.check_signed_file(content_type, data)
    async with uow() as work:
        await _signable(work.funnel, principal, plan_id)
    key = f"funnel/{principal.tenant_id}/plans/{plan_id}/signed-{context.new_id()}.{domain.SIGNED_FILE_TYPES[kind]}"
    stored = await store.put(key, data, content_type=kind)
    try:
        async with uow() as work:
            repo = work.funnel
            plan, deal = await _signable(repo, principal, plan_id)
            values = {"file_key": key, "file_type": kind, "file_size": stored.size, "file_sha256": stored.sha256}
            if plan.signed_at is not None:  # signed without upload before: the file is added, nothing moves
                await repo.set_plan(plan_id, **values)
                await repo.log(principal.tenant_id, deal.id, now, "plan", f"plan {plan.title!r}: signed file added")
            else:
                await _sign(work, repo, principal, plan, deal, now, file=values)
            await work.commit()
    except Exception:
        await store.delete(key)
        raise
    return key


async def signed_file(
    uow: FunnelWorkFactory, store: ObjectStore, principal: Principal, plan_id: str, *, link: bool
) -> tuple[str, bytes | None, str]:
    """(presigned URL or "", the bytes when not a link, content type) of the plan's signed file."""
    async with uow() as work:
        repo = work.funnel
        plan = await repo.plan(principal.tenant_id, plan_id, lock=False)
        if plan is None:
            raise NotFound("No such treatment plan.", field="plan_id")
        await _deal(repo, principal, plan.deal_id)
    if plan.file_key is None:
        raise NotFound("The plan has no signed file (it was signed without upload, or not yet).", field="plan_id")
    if link:
        return await store.presigned_get(plan.file_key, expires_seconds=SIGNED_LINK_SECONDS), None, plan.file_type
    try:
        data, _ = await store.get(plan.file_key)
    except ObjectNotFound as exc:
        raise NotFound("The signed file is missing from the store.", field="plan_id") from exc
    return "", data, plan.file_type


async def plan_row(uow: FunnelWorkFactory, principal: Principal, plan_id: str) -> Row:
    async with uow() as work:
        repo = work.funnel
        plan = await repo.plan(principal.tenant_id, plan_id, lock=False)
        if plan is None:
            raise NotFound("No such treatment plan.", field="plan_id")
        await _deal(repo, principal, plan.deal_id)
        return plan


async def _sign(
    work: FunnelWork, repo: Repository, principal: Principal, plan: Row, deal: Row, now: datetime,
    *, file: dict[str, Any] | None,
) -> None:  # fmt: skip
    await repo.set_plan(plan.id, status="signed", signed_at=now, signed_by=principal.user_id, **(file or {}))
    how = "with its signed file" if file else "without upload"
    await repo.log(principal.tenant_id, deal.id, now, "plan", f"plan {plan.title!r} signed {how}")
    work.publish(
        TreatmentPlanSignedV1(
            plan_id=plan.id, deal_id=deal.id, file_key=file["file_key"] if file else None,
            signed_by=principal.user_id, signed_at=now,
        ),
        tenant_id=principal.tenant_id,
    )  # fmt: skip
    await reevaluate(work, repo, deal, now)


async def sign_plan(uow: FunnelWorkFactory, principal: Principal, plan_id: str, now: datetime) -> None:
    """Signed without upload ("sign without upload" on the card)."""
    async with uow() as work:
        repo = work.funnel
        plan = await repo.plan(principal.tenant_id, plan_id)
        if plan is None:
            raise NotFound("No such treatment plan.", field="plan_id")
        deal = await _deal(repo, principal, plan.deal_id, lock=True)
        if plan.signed_at is not None:
            raise Conflict("The plan is already signed.", field="plan_id")
        await _sign(work, repo, principal, plan, deal, now, file=None)
        await work.commit()


# --- tasks -------------------------------------------------------------------------------------
async def _add_task(
    work: FunnelWork, repo: Repository, deal: Row, *, kind: str, title: str, responsible_id: str | None,
    due_at: datetime, now: datetime, by: str, automatic: bool, reason: str | None = None, ref: str | None = None,
    ref_at: datetime | None = None, phone: str | None = None, next_due: bool = True,
) -> str:  # fmt: skip
    task_id = context.new_id()
    await repo.add_task(
        next_due=next_due,
        id=task_id, tenant_id=deal.tenant_id, deal_id=deal.id, kind=kind, title=title, responsible_id=responsible_id,
        due_at=due_at, automatic=automatic, created_by=by, created_at=now, reason=reason, ref=ref, ref_at=ref_at,
        phone=phone,
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
    uow: FunnelWorkFactory, principal: Principal, deal_id: str, *, kind: str, title: str,
    responsible_id: str | None, due_at: datetime, now: datetime,
) -> str:  # fmt: skip
    domain.clean_kind(kind)
    domain.clean_due(due_at, now)
    async with uow() as work:
        repo = work.funnel
        deal = await _deal(repo, principal, deal_id, lock=True)
        await _check_staff(repo, principal, {"responsible_id": responsible_id})
        task_id = await _add_task(
            work, repo, deal, kind=kind, title=domain.clean_title(title),
            responsible_id=responsible_id or principal.user_id, due_at=due_at, now=now, by=principal.user_id,
            automatic=False,
        )  # fmt: skip
        await work.commit()
    return task_id


async def complete_task(uow: FunnelWorkFactory, principal: Principal, task_id: str, now: datetime) -> None:
    async with uow() as work:
        repo = work.funnel
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
    uow: FunnelWorkFactory, principal: Principal, task_id: str, *, title: str | None, due_at: datetime | None,
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
        repo = work.funnel
        task = await repo.task(principal.tenant_id, task_id)
        if task is None:
            raise NotFound("No such task.", field="task_id")
        await _deal(repo, principal, task.deal_id)
        if task.completed_at is not None:
            raise Conflict("The task is completed.", field="task_id")
        await _check_staff(repo, principal, {"responsible_id": responsible_id})
        if values:
            await repo.set_task(task_id, now=now, **values)
        await work.commit()


async def tasks_of(uow: FunnelWorkFactory, principal: Principal, deal_id: str) -> list[Row]:
    async with uow() as work:
        repo = work.funnel
        deal = await _deal(repo, principal, deal_id)
        return await repo.tasks_of(deal.id)


async def comment_task(uow: FunnelWorkFactory, principal: Principal, task_id: str, text: str, now: datetime) -> None:
    async with uow() as work:
        repo = work.funnel
        task = await repo.task(principal.tenant_id, task_id)
        if task is None:
            raise NotFound("No such task.", field="task_id")
        await _deal(repo, principal, task.deal_id)
        comment = {"by": principal.user_id, "at": now.isoformat(), "text": domain.clean_comment(text)}
        await repo.set_task(task_id, comments=[*task.comments, comment])
        await work.commit()


# --- read side ---------------------------------------------------------------------------------
async def board(
    uow: FunnelWorkFactory, principal: Principal, pipeline_id: str, *, now: datetime, curator_id: str | None,
    stage_id: str | None, overdue: bool, no_future_booking: bool, per_stage: int, plan_state: str | None = None,
    activity: str | None = None, active_days: int = domain.ACTIVE_DAYS,
) -> tuple[Row, list[Row], list[Row], list[Row]]:  # fmt: skip
    domain.clean_plan_state(plan_state)
    domain.clean_activity(activity, active_days)
    # No ensure_pipelines here: a pipeline id is only known once listing the pipelines made them.
    async with uow() as work:
        repo = work.funnel
        # One snapshot for the counts and every column: a deal the worker moves meanwhile is on exactly one.
        await repo.snapshot()
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
            activity=activity, active_since=now - timedelta(days=active_days),
        )  # fmt: skip
        await work.commit()
    return pipeline, listed, totals, rows


async def card(uow: FunnelWorkFactory, principal: Principal, deal_id: str) -> dict[str, Any]:
    async with uow() as work:
        repo = work.funnel
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
            "money": await repo.money_of(deal.id),
            "messages": await repo.messages_of(deal.tenant_id, deal),
        }
