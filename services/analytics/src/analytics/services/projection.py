"""Each consumed event as patches of the projections (pure: no IO), and the handler that stores them."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from analytics.domain import PROJECTIONS, Patch
from analytics.repository.facts import Touched
from analytics.services.work import AnalyticsUnitOfWork, AnalyticsWork, AnalyticsWorkFactory
from contracts import Event, EventMeta
from contracts import funnel as fe
from contracts import identity as ie
from contracts import leads as le
from contracts import notifications as ne
from contracts import payments as pe
from contracts import scheduling as se
from contracts import telephony as te
from contracts.people import Person
from kit.db import UnitOfWork

#: leads' system actor (its sync from scheduling and the intake): not a person making contact.
SYSTEM_ACTOR = "00000000-0000-0000-0000-000000000000"
PENDING_CONTACT = "PENDING_CONTACT"
#: Activities that reach the person (a `task` is a to-do of the clinic's own).
CONTACT_ACTIVITIES = frozenset({"call", "letter", "email", "message", "meeting", "whatsapp", "sms"})


def _person(person: Person) -> dict[str, Any]:
    values = {"lead_id": person.lead_id, "patient_id": person.patient_id, "phone": person.phone}
    return {k: v for k, v in values.items() if v is not None}


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _name(tenant: str, kind: str, id_: str | None, name: str | None, at: Any) -> list[Patch]:
    if not id_ or not name:
        return []
    return [Patch("names", {"tenant_id": tenant, "kind": kind, "id": id_}, {"named_at": at, "name": name})]


def _lead(tenant: str, lead_id: str, **values: Any) -> Patch:
    return Patch("leads", {"tenant_id": tenant, "lead_id": lead_id}, values)


def _appointment(tenant: str, event: Any, **values: Any) -> Patch:
    return Patch(
        "appointments",
        {"tenant_id": tenant, "appointment_id": event.appointment_id},
        {**_person(event.person), **values},
    )


def _payment(tenant: str, event: Any, **values: Any) -> Patch:
    ids = {"appointment_id": event.appointment_id, "procedure_id": event.procedure_id}
    return Patch(
        "payments",
        {"tenant_id": tenant, "payment_id": event.payment_id},
        {**_person(event.person), **{k: v for k, v in ids.items() if v}, **values},
    )


def _call(tenant: str, event: Any, **values: Any) -> Patch:
    first = {
        "started_at": event.started_at,
        "direction": event.direction,
        "caller": event.caller,
        "tracking_number": event.tracking_number,
        "call_source": event.source,
    }
    lead = {"lead_id": event.lead_id} if event.lead_id else {}
    return Patch("calls", {"tenant_id": tenant, "call_id": event.call_id}, {**first, **lead, **values})


def patches(event: Event, meta: EventMeta) -> list[Patch]:
    """What `event` says about the read models (an event of a type not listed says nothing)."""
    builder = _BUILDERS.get(type(event))
    return builder(event, meta.tenant_id, meta) if builder else []


def _lead_created(e: le.LeadCreatedV1, t: str, m: EventMeta) -> list[Patch]:
    values: dict[str, Any] = {
        "created_at": e.created_at,
        "name": e.name,
        "phone": e.phone,
        "intake": e.channel,
        "source": e.source,
        "attribution": dict(e.attribution),
        "status_at": e.created_at,
        "status": PENDING_CONTACT,
    }
    if e.owner_id:
        values |= {"owner_at": e.created_at, "owner_id": e.owner_id}
    return [_lead(t, e.lead_id, **values)]


def _lead_status(e: le.LeadStatusChangedV1, t: str, m: EventMeta) -> list[Patch]:
    values: dict[str, Any] = {"status_at": e.changed_at, "status": e.to_status}
    if e.from_status == PENDING_CONTACT and e.changed_by != SYSTEM_ACTOR:
        values |= {"first_contact_at": e.changed_at, "first_contact_by": e.changed_by}
    return [_lead(t, e.lead_id, **values)]


def _lead_assigned(e: le.LeadAssignedV1, t: str, m: EventMeta) -> list[Patch]:
    return [_lead(t, e.lead_id, owner_at=e.assigned_at, owner_id=e.owner_id)]


def _lead_merged(e: le.LeadMergedV1, t: str, m: EventMeta) -> list[Patch]:
    return [_lead(t, e.merged_lead_id, merged_at=e.merged_at, merged_into=e.lead_id)]


def _lead_converted(e: le.LeadConvertedV1, t: str, m: EventMeta) -> list[Patch]:
    return [_lead(t, e.lead_id, converted_at=e.converted_at, patient_id=e.patient_id)]


def _lead_deleted(e: le.LeadDeletedV1, t: str, m: EventMeta) -> list[Patch]:
    return [_lead(t, e.lead_id, deleted_at=e.deleted_at)]


def _activity_scheduled(e: le.ActivityScheduledV1, t: str, m: EventMeta) -> list[Patch]:
    values = {
        "created_at": m.time,
        "deal_id": None,
        "lead_id": e.lead_id,
        "origin": "lead",
        "kind": e.type,
        "title": e.type,
        "responsible_id": e.responsible_id,
        "due_at": e.scheduled_at,
    }
    return [Patch("tasks", {"tenant_id": t, "task_id": e.activity_id}, values)]


def _activity_completed(e: le.ActivityCompletedV1, t: str, m: EventMeta) -> list[Patch]:
    done = [Patch("tasks", {"tenant_id": t, "task_id": e.activity_id}, {"completed_at": e.completed_at})]
    if e.type in CONTACT_ACTIVITIES and e.completed_by != SYSTEM_ACTOR:
        done.append(_lead(t, e.lead_id, first_contact_at=e.completed_at, first_contact_by=e.completed_by))
    return done


def _activity_cancelled(e: le.ActivityCancelledV1, t: str, m: EventMeta) -> list[Patch]:
    return [Patch("tasks", {"tenant_id": t, "task_id": e.activity_id}, {"cancelled_at": e.cancelled_at})]


def _message_received(e: ne.MessageReceivedV1, t: str, m: EventMeta) -> list[Patch]:
    wrote = Patch("conversations", {"tenant_id": t, "conversation_id": e.conversation_id},
                  {"last_received_at": e.received_at})  # fmt: skip
    if not e.lead_id:
        return [wrote]
    return [wrote, _lead(t, e.lead_id, first_message_at=e.received_at, message_channel=e.channel)]


def _suggested(e: ne.ReplySuggestedV1, t: str, m: EventMeta) -> list[Patch]:
    values = {
        "suggested_at": e.suggested_at,
        "staff_id": e.staff_id,
        "conversation_id": e.conversation_id,
        "lead_id": e.lead_id,
        "patient_id": e.patient_id,
        "channel": e.channel,
        "model": e.model,
        "offered": e.count,
        "prompt_tokens": e.prompt_tokens,
        "completion_tokens": e.completion_tokens,
        "cost": _money(e.cost),
    }
    return [Patch("suggestions", {"tenant_id": t, "suggestion_id": e.suggestion_id}, values)]


def _message_sent(e: ne.MessageSentV1, t: str, m: EventMeta) -> list[Patch]:
    """Only a staff reply written from the assistant's suggestions says anything here (the first one counts)."""
    if not e.suggestion_id:
        return []
    values = {"used_at": e.sent_at, "use": e.suggestion_use, "message_id": e.message_id}
    return [Patch("suggestions", {"tenant_id": t, "suggestion_id": e.suggestion_id}, values)]


def _booked(e: se.AppointmentBookedV1, t: str, m: EventMeta) -> list[Patch]:
    return [
        _appointment(
            t,
            e,
            booked_at=e.booked_at,
            booking_source=e.source,
            booked_by=e.booked_by,
            branch_id=e.branch_id,
            professional_id=e.professional_id,
            procedure_id=e.procedure_id,
            timezone=e.timezone,
            slot_at=e.booked_at,
            starts_at=e.starts_at,
            slot_branch_id=e.branch_id,
            slot_professional_id=e.professional_id,
        ),
        *_name(t, "branch", e.branch_id, e.branch_name, e.booked_at),
        *_name(t, "professional", e.professional_id, e.professional_name, e.booked_at),
        *_name(t, "procedure", e.procedure_id, e.procedure_name, e.booked_at),
    ]


def _rescheduled(e: se.AppointmentRescheduledV1, t: str, m: EventMeta) -> list[Patch]:
    return [
        _appointment(
            t,
            e,
            slot_at=e.rescheduled_at,
            starts_at=e.starts_at,
            slot_branch_id=e.branch_id,
            slot_professional_id=e.professional_id,
        )
    ]


def _confirmed(e: se.AppointmentConfirmedV1, t: str, m: EventMeta) -> list[Patch]:
    return [_appointment(t, e, confirmed_at=e.confirmed_at, confirmed_via=e.via)]


def _cancelled(e: se.AppointmentCancelledV1, t: str, m: EventMeta) -> list[Patch]:
    return [_appointment(t, e, cancelled_at=e.cancelled_at)]


def _no_show(e: se.AppointmentNoShowV1, t: str, m: EventMeta) -> list[Patch]:
    return [_appointment(t, e, no_show_at=e.marked_at)]


def _arrived(e: se.PatientArrivedV1, t: str, m: EventMeta) -> list[Patch]:
    return [_appointment(t, e, arrived_at=e.arrived_at)]


def _visit_started(e: se.VisitStartedV1, t: str, m: EventMeta) -> list[Patch]:
    return [_appointment(t, e, visit_started_at=e.started_at)]


def _visit_completed(e: se.VisitCompletedV1, t: str, m: EventMeta) -> list[Patch]:
    return [_appointment(t, e, completed_at=e.completed_at)]


def _reminder(e: se.ReminderDueV1, t: str, m: EventMeta) -> list[Patch]:
    values = {"due_at": e.due_at, "appointment_id": e.appointment_id, "offset_minutes": e.offset_minutes}
    return [
        Patch("reminders", {"tenant_id": t, "reminder_id": e.reminder_id}, values),
        _appointment(t, e),
    ]


def _link_created(e: pe.PaymentLinkCreatedV1, t: str, m: EventMeta) -> list[Patch]:
    return [
        _payment(
            t,
            e,
            link_created_at=e.created_at,
            amount=_money(e.amount),
            amount_before_discount=_money(e.amount_before_discount),
            currency=e.currency,
            created_by=e.created_by,
        )
    ]


def _paid(e: pe.PaymentConfirmedV1, t: str, m: EventMeta) -> list[Patch]:
    return [_payment(t, e, paid_at=e.paid_at, paid_amount=_money(e.amount), method=e.method)]


def _refunded(e: pe.PaymentRefundedV1, t: str, m: EventMeta) -> list[Patch]:
    return [_payment(t, e, refunded_total=_money(e.total_refunded))]


def _call_started(e: te.CallStartedV1, t: str, m: EventMeta) -> list[Patch]:
    return [_call(t, e)]


def _call_answered(e: te.CallAnsweredV1, t: str, m: EventMeta) -> list[Patch]:
    return [_call(t, e, answered_at=e.answered_at)]


def _call_ended(e: te.CallEndedV1, t: str, m: EventMeta) -> list[Patch]:
    return [_call(t, e, **({"answered_at": e.answered_at} if e.answered_at else {}))]


def _call_missed(e: te.CallMissedV1, t: str, m: EventMeta) -> list[Patch]:
    return [_call(t, e, missed_at=e.ended_at)]


def _deal_created(e: fe.DealCreatedV1, t: str, m: EventMeta) -> list[Patch]:
    values = {"created_at": e.created_at, "pipeline_kind": e.pipeline_kind, "deal_source": e.source}
    return [Patch("deals", {"tenant_id": t, "deal_id": e.deal_id}, {**_person(e.person), **values})]


def _curator(e: fe.CuratorAssignedV1, t: str, m: EventMeta) -> list[Patch]:
    values = {"curator_at": e.assigned_at, "curator_id": e.curator_id}
    return [Patch("deals", {"tenant_id": t, "deal_id": e.deal_id}, values)]


def _deal_lost(e: fe.DealLostV1, t: str, m: EventMeta) -> list[Patch]:
    return [Patch("deals", {"tenant_id": t, "deal_id": e.deal_id}, {**_person(e.person), "lost_at": e.lost_at})]


def _plan_created(e: fe.TreatmentPlanCreatedV1, t: str, m: EventMeta) -> list[Patch]:
    before = e.total_before_discount or e.total
    values = {
        "created_at": e.created_at,
        "deal_id": e.deal_id,
        "title": e.title,
        "total": _money(e.total),
        "total_before_discount": _money(before),
        "currency": e.currency,
    }
    return [Patch("plans", {"tenant_id": t, "plan_id": e.plan_id}, values)]


def _plan_signed(e: fe.TreatmentPlanSignedV1, t: str, m: EventMeta) -> list[Patch]:
    return [Patch("plans", {"tenant_id": t, "plan_id": e.plan_id}, {"signed_at": e.signed_at})]


def _plan_completed(e: fe.TreatmentPlanCompletedV1, t: str, m: EventMeta) -> list[Patch]:
    return [Patch("plans", {"tenant_id": t, "plan_id": e.plan_id}, {"completed_at": e.completed_at})]


def _task_created(e: fe.TaskCreatedV1, t: str, m: EventMeta) -> list[Patch]:
    values = {
        "created_at": e.created_at,
        "deal_id": e.deal_id,
        "lead_id": None,
        "origin": "deal",
        "kind": e.kind,
        "title": e.title,
        "responsible_id": e.responsible_id,
        "due_at": e.due_at,
    }
    return [Patch("tasks", {"tenant_id": t, "task_id": e.task_id}, values)]


def _task_completed(e: fe.TaskCompletedV1, t: str, m: EventMeta) -> list[Patch]:
    return [Patch("tasks", {"tenant_id": t, "task_id": e.task_id}, {"completed_at": e.completed_at})]


def _staff(e: ie.StaffCreatedV1 | ie.StaffUpdatedV1 | ie.StaffDeactivatedV1, t: str, m: EventMeta) -> list[Patch]:
    return _name(t, "staff", e.user_id, e.full_name, e.changed_at)


_BUILDERS: dict[type[Event], Callable[[Any, str, EventMeta], list[Patch]]] = {
    le.LeadCreatedV1: _lead_created,
    le.LeadStatusChangedV1: _lead_status,
    le.LeadAssignedV1: _lead_assigned,
    le.LeadMergedV1: _lead_merged,
    le.LeadConvertedV1: _lead_converted,
    le.LeadDeletedV1: _lead_deleted,
    le.ActivityScheduledV1: _activity_scheduled,
    le.ActivityCompletedV1: _activity_completed,
    le.ActivityCancelledV1: _activity_cancelled,
    ne.MessageReceivedV1: _message_received,
    ne.ReplySuggestedV1: _suggested,
    ne.MessageSentV1: _message_sent,
    se.AppointmentBookedV1: _booked,
    se.AppointmentRescheduledV1: _rescheduled,
    se.AppointmentConfirmedV1: _confirmed,
    se.AppointmentCancelledV1: _cancelled,
    se.AppointmentNoShowV1: _no_show,
    se.PatientArrivedV1: _arrived,
    se.VisitStartedV1: _visit_started,
    se.VisitCompletedV1: _visit_completed,
    se.ReminderDueV1: _reminder,
    pe.PaymentLinkCreatedV1: _link_created,
    pe.PaymentConfirmedV1: _paid,
    pe.PaymentRefundedV1: _refunded,
    te.CallStartedV1: _call_started,
    te.CallAnsweredV1: _call_answered,
    te.CallEndedV1: _call_ended,
    te.CallMissedV1: _call_missed,
    fe.DealCreatedV1: _deal_created,
    fe.CuratorAssignedV1: _curator,
    fe.DealLostV1: _deal_lost,
    fe.TreatmentPlanCreatedV1: _plan_created,
    fe.TreatmentPlanSignedV1: _plan_signed,
    fe.TreatmentPlanCompletedV1: _plan_completed,
    fe.TaskCreatedV1: _task_created,
    fe.TaskCompletedV1: _task_completed,
    ie.StaffCreatedV1: _staff,
    ie.StaffUpdatedV1: _staff,
    ie.StaffDeactivatedV1: _staff,
}

#: The event types the worker subscribes to, by topic (consumers.build).
CONSUMED: tuple[type[Event], ...] = tuple(_BUILDERS)


class ProjectionUnitOfWork(AnalyticsUnitOfWork):
    """The worker's unit of work: the handlers of a batch queue their patches, and the commit stores them all at
    once (`store`): one statement per table instead of a few per event."""

    def opened(self, session: AsyncSession) -> None:
        super().opened(session)
        self.pending: list[Patch] = []

    async def commit(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            await store(self, batch)
        await super().commit()


async def handle_event(uow: UnitOfWork, event: Event, meta: EventMeta) -> None:
    """The consumers' one handler: the event's patches, stored with the batch (kit's transaction)."""
    found = patches(event, meta)
    if isinstance(uow, ProjectionUnitOfWork):
        uow.pending.extend(found)
    elif found:
        if not isinstance(uow, AnalyticsUnitOfWork):
            raise TypeError("analytics' consumers run on its unit of work (unit_of_work=ProjectionUnitOfWork)")
        await store(uow, found)


#: Which projections the facts read, and what of a changed row they must look at again.
_FACT_INPUTS = frozenset({"leads", "appointments", "payments", "deals", "plans"})


def _touch(touched: Touched, table: str, old: dict[str, Any], new: dict[str, Any]) -> None:
    if table == "leads":
        touched.leads |= {v for v in (new["lead_id"], old.get("merged_into"), new.get("merged_into")) if v}
        touched.patients |= {v for v in (old.get("patient_id"), new.get("patient_id")) if v}
        touched.phones |= {v for v in (old.get("phone"), new.get("phone")) if v}
        return
    if table == "plans":
        touched.deals |= {v for v in (old.get("deal_id"), new.get("deal_id")) if v}
        return
    touched.person(old)
    touched.person(new)
    if table == "appointments":
        touched.appointments.add(new["appointment_id"])
    elif table == "payments":
        touched.payments.add(new["payment_id"])


async def store(work: AnalyticsWork, batch: list[Patch]) -> None:
    """Merge a batch's patches into their rows and queue what they touched for the fact refresher
    (`refresh_facts`), in the batch's transaction: the batches of different partitions share no lock (the
    projection rows are locked in one order), so they never wait for one another."""
    if not batch:
        return
    tenants = {p.key["tenant_id"] for p in batch}
    repo = work.projections
    touched: dict[str, Touched] = {t: Touched() for t in tenants}
    by_table: dict[str, list[Patch]] = {}
    for patch in batch:
        by_table.setdefault(patch.table, []).append(patch)
    for table in sorted(by_table):
        for old, new in await repo.apply_many(PROJECTIONS[table], by_table[table]):
            if table in _FACT_INPUTS:
                _touch(touched[new["tenant_id"]], table, old, new)
    await work.facts.enqueue({t: v for t, v in touched.items() if v})


async def refresh_facts(uow: AnalyticsWorkFactory) -> int:
    """One round of the fact refresher (the worker's `analytics-facts` timer): for each clinic with something
    queued, one transaction takes its queue and refreshes the facts and rollups it reaches, under the clinic's
    fact lock; a clinic whose lock another refresher holds is skipped (it is at it). Returns how many clinics were
    refreshed (a busy round is followed at once by another)."""
    async with uow() as work:
        tenants = await work.facts.queued()
    done = 0
    for tenant in tenants:
        done += await refresh_clinic(uow, tenant)
    return done


async def refresh_clinic(uow: AnalyticsWorkFactory, tenant: str, *, wait: bool = False) -> int:
    """Drain one clinic's queue (`wait`: for the lock, else give up when it is held). 1 when it refreshed."""
    async with uow() as work:
        facts = work.facts
        if wait:
            await facts.lock([tenant])
        elif not await facts.try_lock(tenant):
            return 0
        touched = await facts.take(tenant)
        if touched:
            await facts.refresh(tenant, touched)
        await work.commit()
    return 1 if touched else 0
