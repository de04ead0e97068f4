"""The only module of funnel that builds queries."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from funnel.domain import Appointment, Facts, ItemFact, Plan, Visit, merge_appointment
from funnel.models import activity, appointments, curators, deals, pipelines, plan_items, plans, stages, tasks, visits

Row = Any


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
        if overdue:
            where.append(
                select(tasks.c.id)
                .where(tasks.c.deal_id == deals.c.id, tasks.c.completed_at.is_(None), tasks.c.due_at < now)
                .exists()
            )
        if plan_state == "none":
            where.append(~select(plans.c.id).where(plans.c.deal_id == deals.c.id).exists())
        elif plan_state:
            where.append(select(plans.c.id).where(plans.c.deal_id == deals.c.id, plans.c.status == plan_state).exists())
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

    async def plan(self, tenant_id: str, plan_id: str) -> Row | None:
        q = select(plans).where(plans.c.tenant_id == tenant_id, plans.c.id == plan_id).with_for_update()
        return (await self.session.execute(q)).first()

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

    async def log(self, tenant_id: str, deal_id: str, at: datetime, kind: str, text: str) -> None:
        await self.session.execute(
            activity.insert().values(tenant_id=tenant_id, deal_id=deal_id, at=at, kind=kind, text=text)
        )

    async def feed(self, deal_id: str, *, limit: int = 100) -> list[Row]:
        q = select(activity).where(activity.c.deal_id == deal_id).order_by(activity.c.at.desc(), activity.c.id.desc())
        return list((await self.session.execute(q.limit(limit))).all())


def _appointment(row: Row) -> Appointment:
    return Appointment(row.id, row.starts_at, row.starts_version, row.cancelled_at, row.done_at)


def _person(table: Any, tenant_id: str, deal: Row) -> Any:
    ids = []
    if deal.patient_id:
        ids.append(table.c.patient_id == deal.patient_id)
    if deal.lead_id:
        ids.append(table.c.lead_id == deal.lead_id)
    return and_(table.c.tenant_id == tenant_id, or_(*ids) if ids else false())
