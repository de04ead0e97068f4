"""The only module of funnel that builds queries."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, false, func, not_, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from funnel.domain import Appointment, Facts, ItemFact, Plan, Visit, merge_appointment
from funnel.models import (
    activity,
    appointments,
    calls,
    curators,
    deals,
    messages,
    money,
    pipelines,
    plan_items,
    plans,
    settings,
    stages,
    tasks,
    visits,
)
from funnel.models.valuation import valuation_staff

Row = Any


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def snapshot(self) -> None:
        """The rest of this (read-only) transaction sees one snapshot; the first statement of the transaction."""
        await self.session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))

    # --- pipelines and stages -------------------------------------------------------------------
    async def pipelines(self, tenant_id: str) -> list[Row]:
        q = select(pipelines).where(pipelines.c.tenant_id == tenant_id).order_by(pipelines.c.position)
        return list((await self.session.execute(q)).all())

    async def pipeline(self, tenant_id: str, pipeline_id: str) -> Row | None:
        q = select(pipelines).where(pipelines.c.tenant_id == tenant_id, pipelines.c.id == pipeline_id)
        return (await self.session.execute(q)).first()

    async def builtin(self, tenant_id: str, kind: str) -> Row | None:
        q = select(pipelines).where(pipelines.c.tenant_id == tenant_id, pipelines.c.kind == kind)
        return (await self.session.execute(q)).first()

    async def add_pipeline(self, **values: Any) -> bool:
        """False when the clinic already has this built-in pipeline (a concurrent first use)."""
        q = insert(pipelines).values(**values).on_conflict_do_nothing()
        result = await self.session.execute(q)
        return bool(getattr(result, "rowcount", 0))

    async def set_pipeline(self, tenant_id: str, pipeline_id: str, **values: Any) -> None:
        q = update(pipelines).where(pipelines.c.tenant_id == tenant_id, pipelines.c.id == pipeline_id)
        await self.session.execute(q.values(**values))

    async def stages(self, tenant_id: str, pipeline_ids: list[str]) -> list[Row]:
        q = (
            select(stages)
            .where(stages.c.tenant_id == tenant_id, stages.c.pipeline_id.in_(pipeline_ids))
            .order_by(stages.c.pipeline_id, stages.c.position)
        )
        return list((await self.session.execute(q)).all())

    async def add_stage(self, **values: Any) -> None:
        await self.session.execute(stages.insert().values(**values))

    async def set_stage(self, tenant_id: str, stage_id: str, **values: Any) -> None:
        await self.session.execute(
            update(stages).where(stages.c.tenant_id == tenant_id, stages.c.id == stage_id).values(**values)
        )

    async def stage_in_use(self, stage_id: str) -> bool:
        q = select(func.count()).select_from(deals).where(deals.c.stage_id == stage_id)
        return bool((await self.session.execute(q)).scalar_one())

    async def delete_stage(self, tenant_id: str, stage_id: str) -> None:
        await self.session.execute(stages.delete().where(stages.c.tenant_id == tenant_id, stages.c.id == stage_id))

    # --- deals ------------------------------------------------------------------------------------
    async def add_deal(self, **values: Any) -> bool:
        """False when the database refuses a duplicate (one arrived deal per patient, one deal per request)."""
        q = insert(deals).values(**values).on_conflict_do_nothing()
        result = await self.session.execute(q)
        return bool(getattr(result, "rowcount", 0))

    async def deal(self, tenant_id: str, deal_id: str, *, lock: bool = False) -> Row | None:
        q = select(deals).where(deals.c.tenant_id == tenant_id, deals.c.id == deal_id)
        return (await self.session.execute(q.with_for_update() if lock else q)).first()

    async def arrived_deal(self, tenant_id: str, patient_id: str, *, lock: bool = False) -> Row | None:
        q = select(deals).where(
            deals.c.tenant_id == tenant_id, deals.c.kind == "arrived", deals.c.patient_id == patient_id
        )
        return (await self.session.execute(q.with_for_update() if lock else q)).first()

    async def request_deals(self, tenant_id: str, lead_id: str) -> list[Row]:
        q = select(deals).where(deals.c.tenant_id == tenant_id, deals.c.kind == "requests", deals.c.lead_id == lead_id)
        return list((await self.session.execute(q.order_by(deals.c.created_at).with_for_update())).all())

    async def set_deal(self, deal_id: str, **values: Any) -> None:
        await self.session.execute(update(deals).where(deals.c.id == deal_id).values(**values))

    async def deals_in_stage(self, stage_key: str, *, limit: int) -> list[Row]:
        q = select(deals.c.id, deals.c.tenant_id).where(deals.c.kind == "arrived", deals.c.stage_key == stage_key)
        return list((await self.session.execute(q.limit(limit))).all())

    async def board(
        self,
        tenant_id: str,
        pipeline_id: str,
        *,
        now: datetime,
        curator_id: str | None,
        stage_id: str | None,
        overdue: bool,
        no_future_booking: bool,
        mine_only: str | None,
        per_stage: int,
        plan_state: str | None = None,
        activity: str | None = None,
        active_since: datetime | None = None,
    ) -> tuple[list[Row], list[Row]]:
        """(count and sum per stage, the first `per_stage` deals of each stage with their task counts)."""
        where = [deals.c.tenant_id == tenant_id, deals.c.pipeline_id == pipeline_id]
        if curator_id:
            where.append(deals.c.curator_id == curator_id)
        if stage_id:
            where.append(deals.c.stage_id == stage_id)
        if mine_only:
            where.append(or_(deals.c.curator_id == mine_only, deals.c.curator_id.is_(None)))
        if no_future_booking:
            where.append(or_(deals.c.next_booking_at.is_(None), deals.c.next_booking_at <= now))
        if plan_state:
            where.append(deals.c.plan_state == plan_state)
        if activity and active_since is not None:
            active = or_(deals.c.last_activity_at >= active_since, deals.c.next_booking_at > now)
            where.append(active if activity == "active" else not_(func.coalesce(active, false())))
        if overdue:
            where.append(
                select(tasks.c.id)
                .where(tasks.c.deal_id == deals.c.id, tasks.c.completed_at.is_(None), tasks.c.due_at < now)
                .exists()
            )
        totals = (
            await self.session.execute(
                select(
                    deals.c.stage_id,
                    func.count().label("count"),
                    func.coalesce(func.sum(deals.c.amount), 0).label("sum"),
                )
                .where(*where)
                .group_by(deals.c.stage_id)
            )
        ).all()
        # The first deals of each stage one index range each (ix_deals_stage_recent), not a sort of them all.
        stage_ids = [str(r.stage_id) for r in totals]
        rows: list[Row] = []
        for one in stage_ids:
            page = select(deals).where(*where, deals.c.stage_id == one).order_by(deals.c.updated_at.desc())
            shown = page.limit(per_stage).subquery()
            # Task indicators only for the deals shown, not for every deal that matched.
            open_task = and_(tasks.c.deal_id == shown.c.id, tasks.c.completed_at.is_(None))
            red = select(func.count()).where(open_task, tasks.c.due_at < now).scalar_subquery()
            green = select(func.count()).where(open_task, tasks.c.due_at >= now).scalar_subquery()
            rows += (await self.session.execute(select(shown, red.label("red"), green.label("green")))).all()
        return list(totals), list(rows)

    # --- facts --------------------------------------------------------------------------------------
    async def record_appointment(
        self, tenant_id: str, lead_id: str | None, patient_id: str | None, fact: Appointment
    ) -> None:
        mine = and_(appointments.c.tenant_id == tenant_id, appointments.c.id == fact.id)
        q = select(appointments).where(mine).with_for_update()
        row = (await self.session.execute(q)).first()
        old = None if row is None else _appointment(row)
        merged = merge_appointment(old, fact)
        values = {
            "starts_at": merged.starts_at,
            "starts_version": merged.starts_version,
            "cancelled_at": merged.cancelled_at,
            "done_at": merged.done_at,
            "confirmed_at": merged.confirmed_at,
        }
        if row is None:
            await self.session.execute(
                insert(appointments)
                .values(id=fact.id, tenant_id=tenant_id, lead_id=lead_id, patient_id=patient_id, **values)
                .on_conflict_do_nothing()
            )
        else:
            ids = {"lead_id": row.lead_id or lead_id, "patient_id": row.patient_id or patient_id}
            await self.session.execute(update(appointments).where(mine).values(**values, **ids))

    async def record_visit(self, tenant_id: str, lead_id: str | None, patient_id: str | None, visit: Visit) -> None:
        await self.session.execute(
            insert(visits)
            .values(
                appointment_id=visit.appointment_id,
                tenant_id=tenant_id,
                lead_id=lead_id,
                patient_id=patient_id,
                completed_at=visit.completed_at,
                procedures=list(visit.procedures),
            )
            .on_conflict_do_nothing()
        )

    async def person_booked(self, tenant_id: str, lead_id: str) -> bool:
        q = (
            select(func.count())
            .select_from(appointments)
            .where(
                appointments.c.tenant_id == tenant_id,
                appointments.c.lead_id == lead_id,
                appointments.c.cancelled_at.is_(None),
            )
        )
        return bool((await self.session.execute(q)).scalar_one())

    async def facts(self, tenant_id: str, deal: Row) -> Facts:
        person = _person(appointments, tenant_id, deal)
        appts = (await self.session.execute(select(appointments).where(person).order_by(appointments.c.id))).all()
        seen = (await self.session.execute(select(visits).where(_person(visits, tenant_id, deal)))).all()
        plan_rows = (
            await self.session.execute(select(plans).where(plans.c.deal_id == deal.id).order_by(plans.c.id))
        ).all()
        items = (
            await self.session.execute(
                select(plan_items)
                .where(plan_items.c.plan_id.in_([p.id for p in plan_rows]))
                .order_by(plan_items.c.position)
            )
        ).all()
        return Facts(
            arrived_at=deal.created_at,
            appointments=tuple(_appointment(a) for a in appts),
            plans=tuple(
                Plan(
                    p.id,
                    created_at=p.created_at,
                    signed_at=p.signed_at,
                    items=tuple(
                        ItemFact(i.procedure_id, i.quantity, i.manual_done) for i in items if i.plan_id == p.id
                    ),
                )
                for p in plan_rows
            ),
            visits=tuple(
                sorted(
                    (Visit(v.appointment_id, v.completed_at, tuple(v.procedures)) for v in seen),
                    key=lambda v: v.appointment_id,
                )
            ),
        )

    async def visit_history(self, tenant_id: str, deal: Row) -> list[Row]:
        q = select(visits).where(_person(visits, tenant_id, deal)).order_by(visits.c.completed_at.desc())
        return list((await self.session.execute(q)).all())

    async def bookings(self, tenant_id: str, deal: Row) -> list[Row]:
        q = select(appointments).where(_person(appointments, tenant_id, deal)).order_by(appointments.c.starts_at.desc())
        return list((await self.session.execute(q)).all())

    # --- plans -------------------------------------------------------------------------------------
    async def add_plan(self, plan: dict[str, Any], items: list[dict[str, Any]]) -> None:
        await self.session.execute(plans.insert().values(**plan))
        await self.session.execute(plan_items.insert(), items)

    async def plan(self, tenant_id: str, plan_id: str, *, lock: bool = True) -> Row | None:
        q = select(plans).where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id)
        return (await self.session.execute(q.with_for_update() if lock else q)).first()

    async def set_plan(self, plan_id: str, **values: Any) -> None:
        await self.session.execute(update(plans).where(plans.c.id == plan_id).values(**values))

    async def plans_of(self, deal_id: str) -> tuple[list[Row], list[Row]]:
        found = (
            await self.session.execute(select(plans).where(plans.c.deal_id == deal_id).order_by(plans.c.created_at))
        ).all()
        items = (
            await self.session.execute(
                select(plan_items)
                .where(plan_items.c.plan_id.in_([p.id for p in found]))
                .order_by(plan_items.c.position)
            )
        ).all()
        return list(found), list(items)

    # --- tasks -------------------------------------------------------------------------------------
    async def add_task(self, **values: Any) -> None:
        await self.session.execute(tasks.insert().values(**values))

    async def task(self, tenant_id: str, task_id: str) -> Row | None:
        q = select(tasks).where(tasks.c.tenant_id == tenant_id, tasks.c.id == task_id).with_for_update()
        return (await self.session.execute(q)).first()

    async def set_task(self, task_id: str, **values: Any) -> None:
        await self.session.execute(update(tasks).where(tasks.c.id == task_id).values(**values))

    async def tasks_of(self, deal_id: str) -> list[Row]:
        return list(
            (await self.session.execute(select(tasks).where(tasks.c.deal_id == deal_id).order_by(tasks.c.due_at))).all()
        )

    async def open_automatic_task(self, deal_id: str, title: str) -> bool:
        q = (
            select(func.count())
            .select_from(tasks)
            .where(
                tasks.c.deal_id == deal_id, tasks.c.automatic, tasks.c.title == title, tasks.c.completed_at.is_(None)
            )
        )
        return bool((await self.session.execute(q)).scalar_one())

    async def claim_overdue(self, now: datetime, *, limit: int) -> list[Row]:
        """Open tasks past due not yet announced, locked so two workers never announce one twice."""
        q = (
            select(tasks)
            .where(tasks.c.completed_at.is_(None), tasks.c.overdue_at.is_(None), tasks.c.due_at < now)
            .order_by(tasks.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(q)).all())

    async def open_tasks_for(self, deal_id: str, reason: str, ref: str | None = None) -> list[Row]:
        q = select(tasks).where(tasks.c.deal_id == deal_id, tasks.c.reason == reason, tasks.c.completed_at.is_(None))
        if ref is not None:
            q = q.where(tasks.c.ref == ref)
        return list((await self.session.execute(q.with_for_update())).all())

    async def open_ref_tasks(self, tenant_id: str, reason: str, ref: str) -> list[Row]:
        q = select(tasks).where(
            tasks.c.tenant_id == tenant_id, tasks.c.reason == reason, tasks.c.ref == ref, tasks.c.completed_at.is_(None)
        )
        return list((await self.session.execute(q.with_for_update())).all())

    async def queue(self, tenant_id: str, *, mine_only: str | None, limit: int) -> list[Row]:
        """Open tasks nobody is responsible for (the clinic's queue), soonest due first."""
        q = (
            select(tasks, deals.c.name.label("deal_name"), deals.c.kind.label("deal_kind"))
            .join(deals, deals.c.id == tasks.c.deal_id)
            .where(tasks.c.tenant_id == tenant_id, tasks.c.completed_at.is_(None), tasks.c.responsible_id.is_(None))
        )
        if mine_only:
            q = q.where(or_(deals.c.curator_id == mine_only, deals.c.curator_id.is_(None)))
        return list((await self.session.execute(q.order_by(tasks.c.due_at).limit(limit))).all())

    async def set_owner(self, tenant_id: str, lead_id: str, owner_id: str | None) -> list[str]:
        q = (
            update(deals)
            .where(deals.c.tenant_id == tenant_id, deals.c.lead_id == lead_id)
            .values(owner_id=owner_id)
            .returning(deals.c.id)
        )
        return [r.id for r in (await self.session.execute(q)).all()]

    async def hand_open_tasks(self, deal_ids: list[str], reason: str, responsible_id: str | None) -> None:
        """Automatic tasks of these deals nobody has taken yet go to the new responsible."""
        await self.session.execute(
            update(tasks)
            .where(
                tasks.c.deal_id.in_(deal_ids), tasks.c.reason == reason, tasks.c.completed_at.is_(None),
                tasks.c.responsible_id.is_(None),
            )
            .values(responsible_id=responsible_id)
        )  # fmt: skip

    # --- calls --------------------------------------------------------------------------------------
    async def lock_phone(self, tenant_id: str, phone: str) -> None:
        """Serialises the call-back rule per phone (a call event and the lead's deal may come at once)."""
        await self.session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(f"funnel:phone:{tenant_id}:{phone}", 0)))
        )

    async def record_call(
        self, tenant_id: str, call_id: str, phone: str, lead_id: str | None, *, missed_at: datetime | None = None,
        answered_at: datetime | None = None,
    ) -> None:  # fmt: skip
        q = insert(calls).values(
            tenant_id=tenant_id, call_id=call_id, phone=phone, lead_id=lead_id, missed_at=missed_at,
            answered_at=answered_at,
        )  # fmt: skip
        q = q.on_conflict_do_update(
            index_elements=[calls.c.tenant_id, calls.c.call_id],
            set_={
                "missed_at": func.coalesce(calls.c.missed_at, q.excluded.missed_at),
                "answered_at": func.coalesce(calls.c.answered_at, q.excluded.answered_at),
                "lead_id": func.coalesce(calls.c.lead_id, q.excluded.lead_id),
            },
        )
        await self.session.execute(q)

    async def calls_of(self, tenant_id: str, phone: str) -> list[Row]:
        q = select(calls).where(calls.c.tenant_id == tenant_id, calls.c.phone == phone).order_by(calls.c.call_id)
        return list((await self.session.execute(q)).all())

    async def cover_calls(self, tenant_id: str, call_ids: list[str], task_id: str) -> None:
        await self.session.execute(
            update(calls).where(calls.c.tenant_id == tenant_id, calls.c.call_id.in_(call_ids)).values(task_id=task_id)
        )

    async def open_call_backs(self, tenant_id: str, phone: str) -> list[Row]:
        q = select(tasks).where(
            tasks.c.tenant_id == tenant_id, tasks.c.phone == phone, tasks.c.reason == "missed_call",
            tasks.c.completed_at.is_(None),
        )  # fmt: skip
        return list((await self.session.execute(q.order_by(tasks.c.created_at).with_for_update())).all())

    async def contact_deals(self, tenant_id: str, lead_id: str | None, phone: str) -> list[Row]:
        """The person's deals by lead or phone: the Arrived-and-repeat one first, then the newest requests."""
        who = [deals.c.phone == phone]
        if lead_id:
            who.append(deals.c.lead_id == lead_id)
        q = (
            select(deals)
            .where(deals.c.tenant_id == tenant_id, or_(*who))
            .order_by(case((deals.c.kind == "arrived", 0), else_=1), deals.c.created_at.desc())
        )
        return list((await self.session.execute(q.limit(20))).all())

    # --- settings and the unconfirmed-appointment timer ------------------------------------------------
    async def settings(self, tenant_id: str) -> Row | None:
        return (await self.session.execute(select(settings).where(settings.c.tenant_id == tenant_id))).first()

    async def put_settings(self, tenant_id: str, now: datetime, **values: Any) -> None:
        q = insert(settings).values(tenant_id=tenant_id, updated_at=now, **values)
        await self.session.execute(
            q.on_conflict_do_update(index_elements=[settings.c.tenant_id], set_={**values, "updated_at": now})
        )

    async def claim_unconfirmed(self, now: datetime, *, default_hours: int, limit: int) -> list[Row]:
        """Future appointments not confirmed, inside their clinic's call window, not dealt with yet (locked)."""
        hours = func.coalesce(settings.c.confirm_call_hours, default_hours)
        q = (
            select(appointments)
            .select_from(appointments.outerjoin(settings, settings.c.tenant_id == appointments.c.tenant_id))
            .where(
                appointments.c.confirmed_at.is_(None), appointments.c.cancelled_at.is_(None),
                appointments.c.done_at.is_(None), appointments.c.confirm_task_at.is_(None),
                appointments.c.starts_at > now,
                appointments.c.starts_at - func.make_interval(0, 0, 0, 0, hours) <= now,
            )
            .order_by(appointments.c.starts_at)
            .limit(limit)
            .with_for_update(of=appointments, skip_locked=True)
        )  # fmt: skip
        return list((await self.session.execute(q)).all())

    async def set_appointment(self, tenant_id: str, appointment_id: str, **values: Any) -> None:
        await self.session.execute(
            update(appointments)
            .where(appointments.c.tenant_id == tenant_id, appointments.c.id == appointment_id)
            .values(**values)
        )

    # --- money --------------------------------------------------------------------------------------
    async def add_money(self, **values: Any) -> bool:
        """False when this payment or refund step is already recorded."""
        result = await self.session.execute(insert(money).values(**values).on_conflict_do_nothing())
        return bool(getattr(result, "rowcount", 0))

    async def money_row(self, tenant_id: str, entry_id: str) -> Row | None:
        q = select(money).where(money.c.tenant_id == tenant_id, money.c.id == entry_id)
        return (await self.session.execute(q)).first()

    async def money_of(self, deal_id: str) -> list[Row]:
        q = select(money).where(money.c.deal_id == deal_id).order_by(money.c.at.desc())
        return list((await self.session.execute(q.limit(200))).all())

    async def earnings(self, tenant_id: str, start: datetime, end: datetime, curator_id: str | None) -> list[Row]:
        where = [money.c.tenant_id == tenant_id, money.c.curator_id.is_not(None), money.c.at >= start, money.c.at < end]
        if curator_id is not None:
            where.append(money.c.curator_id == curator_id)
        q = (
            select(
                money.c.curator_id,
                money.c.currency,
                func.coalesce(func.sum(money.c.amount).filter(money.c.kind == "payment"), 0).label("paid"),
                func.coalesce(-func.sum(money.c.amount).filter(money.c.kind == "refund"), 0).label("refunded"),
                func.sum(money.c.earned).label("earned"),
                func.count().filter(money.c.kind == "payment").label("payments"),
            )
            .where(*where)
            .group_by(money.c.curator_id, money.c.currency)
            .order_by(money.c.curator_id, money.c.currency)
        )
        return list((await self.session.execute(q)).all())

    # --- messages sent -----------------------------------------------------------------------------
    async def add_message(self, **values: Any) -> None:
        await self.session.execute(insert(messages).values(**values).on_conflict_do_nothing())

    async def messages_of(self, tenant_id: str, deal: Row) -> list[Row]:
        who = []
        if deal.lead_id:
            who.append(messages.c.lead_id == deal.lead_id)
        if deal.phone:
            who.append(messages.c.to == deal.phone)
        if not who:
            return []
        q = select(messages).where(messages.c.tenant_id == tenant_id, or_(*who)).order_by(messages.c.sent_at.desc())
        return list((await self.session.execute(q.limit(100))).all())

    # --- curators and activity ---------------------------------------------------------------------
    async def put_curator(self, tenant_id: str, user_id: str, general: Decimal, per_service: dict[str, str]) -> None:
        q = insert(curators).values(
            tenant_id=tenant_id, user_id=user_id, general_percent=general, per_service=per_service
        )
        q = q.on_conflict_do_update(
            index_elements=[curators.c.tenant_id, curators.c.user_id],
            set_={"general_percent": general, "per_service": per_service},
        )
        await self.session.execute(q)

    async def curator(self, tenant_id: str, user_id: str) -> Row | None:
        q = select(curators).where(curators.c.tenant_id == tenant_id, curators.c.user_id == user_id)
        return (await self.session.execute(q)).first()

    async def curators(self, tenant_id: str) -> list[Row]:
        return list((await self.session.execute(select(curators).where(curators.c.tenant_id == tenant_id))).all())

    async def active_staff(self, tenant_id: str, user_ids: list[str]) -> set[str]:
        """Which of `user_ids` are active staff of the clinic (the directory kept from the gateway's events)."""
        q = select(valuation_staff.c.user_id).where(
            valuation_staff.c.tenant_id == tenant_id,
            valuation_staff.c.user_id.in_(user_ids),
            valuation_staff.c.active,
        )
        return set((await self.session.execute(q)).scalars())

    async def log(self, tenant_id: str, deal_id: str, at: datetime, kind: str, line: str) -> None:
        await self.session.execute(
            activity.insert().values(tenant_id=tenant_id, deal_id=deal_id, at=at, kind=kind, text=line)
        )

    async def feed(self, deal_id: str, *, limit: int = 100) -> list[Row]:
        q = select(activity).where(activity.c.deal_id == deal_id).order_by(activity.c.at.desc(), activity.c.id.desc())
        return list((await self.session.execute(q.limit(limit))).all())


def _appointment(row: Row) -> Appointment:
    return Appointment(row.id, row.starts_at, row.starts_version, row.cancelled_at, row.done_at, row.confirmed_at)


def _person(table: Any, tenant_id: str, deal: Row) -> Any:
    ids = []
    if deal.patient_id:
        ids.append(table.c.patient_id == deal.patient_id)
    if deal.lead_id:
        ids.append(table.c.lead_id == deal.lead_id)
    return and_(table.c.tenant_id == tenant_id, or_(*ids) if ids else false())
