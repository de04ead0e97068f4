"""The only module of funnel that builds queries."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, false, func, literal, literal_column, or_, select, text, true, union_all, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession

from funnel.domain import Appointment, Facts, ItemFact, Plan, Visit, merge_appointment
from funnel.models import (
    activity,
    appointments,
    calls,
    curators,
    deal_counts,
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
#: The deal columns the board's counters are keyed by or sum (deal_counts).
COUNTED = frozenset({"stage_id", "curator_id", "plan_state", "booked", "amount"})
_KEY = ("tenant_id", "pipeline_id", "stage_id", "curator_id", "plan_state", "booked")


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
        # No deal is in it (stage_in_use): its counter rows sum to nothing.
        await self.session.execute(
            deal_counts.delete().where(deal_counts.c.tenant_id == tenant_id, deal_counts.c.stage_id == stage_id)
        )
        await self.session.execute(stages.delete().where(stages.c.tenant_id == tenant_id, stages.c.id == stage_id))

    # --- deals ------------------------------------------------------------------------------------
    async def add_deal(self, **values: Any) -> bool:
        """False when the database refuses a duplicate (one arrived deal per patient, one deal per request)."""
        q = insert(deals).values(**values).on_conflict_do_nothing().returning(*_counted(deals))
        row = (await self.session.execute(q)).first()
        if row is not None:
            await self._count([(row, 1)])
        return row is not None

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
        """Change a deal; a change of what the board counts (stage, curator, plan state, amount) moves its
        count and amount from the old counter key to the new one in the same transaction."""
        if "next_booking_at" in values:  # only ever set to a future booking or None (reevaluate)
            values["booked"] = values["next_booking_at"] is not None
        if not COUNTED & values.keys():
            await self.session.execute(update(deals).where(deals.c.id == deal_id).values(**values))
            return
        # The values before the change, read under the row's lock (a stale read would count a move twice).
        old = select(*_counted(deals)).where(deals.c.id == deal_id).with_for_update().subquery("old")
        q = (
            update(deals)
            .where(deals.c.id == old.c.id)
            .values(**values)
            .returning(*(c.label(f"old_{c.name}") for c in old.c), *_counted(deals))
        )
        row = (await self.session.execute(q)).first()
        if row is None:
            return
        before = {c: getattr(row, f"old_{c}") for c in (*_KEY, "amount")}
        after = {c: getattr(row, c) for c in (*_KEY, "amount")}
        if before != after:
            await self._count([(_Key(before), -1), (_Key(after), 1)])

    async def _count(self, changes: list[tuple[Any, int]]) -> None:
        """Insert counter deltas (never an update of a shared row: no lock waits, no deadlocks between moves)."""
        await self.session.execute(
            deal_counts.insert(),
            [
                {**{c: getattr(row, c) for c in _KEY}, "deals": sign, "amount": sign * row.amount, "pending": True}
                for row, sign in changes
            ],
        )

    async def pass_bookings(self, now: datetime, *, limit: int) -> int:
        """Deals whose next booking's time has come stop counting as booked (the rows another transaction
        holds are left to the next round)."""
        due = (
            select(deals.c.id)
            .where(deals.c.booked, deals.c.next_booking_at <= now)
            .order_by(deals.c.next_booking_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        q = update(deals).where(deals.c.id.in_(due)).values(booked=False).returning(*_counted(deals))
        rows = (await self.session.execute(q)).all()
        if rows:
            await self._count(
                [(_Key({**{c: getattr(r, c) for c in (*_KEY, "amount")}, "booked": True}), -1) for r in rows]
                + [(r, 1) for r in rows]
            )
        return len(rows)

    async def fold_counts(self, *, limit: int) -> int:
        """Fold the pending counter deltas of up to `limit` keys into one row per key (rows summing to nothing
        go away). One statement: a board's snapshot sees the rows before or after, never half. One folder at a
        time (an advisory lock); writers keep inserting meanwhile, their rows wait for the next round."""
        locked = await self.session.execute(
            select(func.pg_try_advisory_xact_lock(func.hashtextextended("funnel:deal_counts", 0)))
        )
        if not locked.scalar_one():
            return 0
        result = await self.session.execute(text(_FOLD), {"limit": limit})
        return int(result.scalar_one() or 0)

    async def recount(self, tenant_id: str) -> None:
        """Rebuild a clinic's counters from its deals (after a bulk load; the migration did it for every clinic).
        The table lock waits for writers in flight and holds new ones until the recount commits."""
        await self.session.execute(text("LOCK TABLE deal_counts IN EXCLUSIVE MODE"))
        await self.session.execute(deal_counts.delete().where(deal_counts.c.tenant_id == tenant_id))
        await self.session.execute(text(_RECOUNT), {"tenant_id": tenant_id})

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
        """(count and sum per stage, the first `per_stage` deals of each stage with their task counts).

        The counts never scan the clinic's deals: the counters (deal_counts) answer the stage, curator and plan
        filters; a time-bound filter adds or takes away one index-only range of deals (docs/funnel.md)."""

        def dims(table: Any) -> list[Any]:
            where = [table.c.tenant_id == tenant_id, table.c.pipeline_id == pipeline_id]
            if curator_id:
                where.append(table.c.curator_id == curator_id)
            if stage_id:
                where.append(table.c.stage_id == stage_id)
            if mine_only:
                where.append(or_(table.c.curator_id == mine_only, table.c.curator_id.is_(None)))
            if plan_state:
                where.append(table.c.plan_state == plan_state)
            return where

        if activity not in ("active", "inactive") or active_since is None:
            activity = None
        booked = deals.c.next_booking_at > now
        recent = deals.c.last_activity_at >= active_since if active_since is not None else false()
        not_recent = or_(deals.c.last_activity_at < active_since, deals.c.last_activity_at.is_(None))
        no_booking = or_(deals.c.next_booking_at.is_(None), deals.c.next_booking_at <= now)

        def counters(sign: int) -> Any:
            c = deal_counts.c
            return select(c.stage_id, (sign * c.deals).label("n"), (sign * c.amount).label("a")).where(
                *dims(deal_counts)
            )

        def deal_range(sign: int, *where: Any) -> Any:
            return select(
                deals.c.stage_id, literal_column(str(sign)).label("n"), (sign * deals.c.amount).label("a")
            ).where(*dims(deals), *where)

        def unbooked(sign: int) -> list[Any]:
            """No future booking: the counters of the deals not counted as booked, corrected by the two ranges
            of deals whose flag the worker has not caught up with (bookings just passed; normally none else)."""
            return [
                counters(sign).where(deal_counts.c.booked.is_(False)),
                deal_range(sign, deals.c.booked.is_(True), deals.c.next_booking_at <= now),
                deal_range(-sign, deals.c.booked.is_(False), booked),
            ]

        # Each part is an index range (ix_deals_board_*) or the counters; + and - compose the filter.
        if overdue:
            more = [no_booking] if no_future_booking else []
            if activity == "active":
                more.append(or_(recent, booked))
            elif activity == "inactive":
                more += [not_recent, no_booking]
            parts = [deal_range(1, deals.c.next_due_at < now, *more)]
        elif activity == "active":
            parts = [deal_range(1, recent, *([no_booking] if no_future_booking else []))]
            if not no_future_booking:
                parts.append(deal_range(1, booked, not_recent))
        elif activity == "inactive":  # no future booking, less the recently active among them
            parts = [*unbooked(1), deal_range(-1, recent, no_booking)]
        elif no_future_booking:
            parts = unbooked(1)
        else:
            parts = [counters(1)]
        every = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
        totals = (
            await self.session.execute(
                select(
                    every.c.stage_id,
                    func.sum(every.c.n).label("count"),
                    func.coalesce(func.sum(every.c.a), 0).label("sum"),
                )
                .group_by(every.c.stage_id)
                .having(func.sum(every.c.n) > 0)
            )
        ).all()
        where = dims(deals)
        if no_future_booking:
            where.append(no_booking)
        if activity == "active":
            where.append(or_(recent, booked))
        elif activity == "inactive":
            where += [not_recent, no_booking]
        if overdue:
            where.append(deals.c.next_due_at < now)
        stage_ids = [str(r.stage_id) for r in totals]
        if not stage_ids:
            return list(totals), []
        # The first deals of every stage in one statement, one index range each (ix_deals_stage_recent, or
        # ix_deals_curator_recent for a curator), not a sort of all that matched.
        wanted = select(func.unnest(literal(stage_ids, ARRAY(UUID(as_uuid=False)))).label("sid")).subquery()
        page = (
            select(deals)
            .where(*where, deals.c.stage_id == wanted.c.sid)
            .order_by(deals.c.updated_at.desc())
            .limit(per_stage)
            .lateral("page")
        )
        shown = select(page).select_from(wanted.join(page, true())).subquery()
        # Task indicators only for the deals shown, not for every deal that matched.
        open_task = and_(tasks.c.deal_id == shown.c.id, tasks.c.completed_at.is_(None))
        red = select(func.count()).where(open_task, tasks.c.due_at < now).scalar_subquery()
        green = select(func.count()).where(open_task, tasks.c.due_at >= now).scalar_subquery()
        rows = (await self.session.execute(select(shown, red.label("red"), green.label("green")))).all()
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
        await self._next_due(values["deal_id"])

    async def task(self, tenant_id: str, task_id: str) -> Row | None:
        """The task, locked after its deal's row: the order a move takes them in (its deal, then its tasks),
        so completing a task while an event moves its deal waits instead of deadlocking."""
        deal_id = select(tasks.c.deal_id).where(tasks.c.tenant_id == tenant_id, tasks.c.id == task_id)
        await self.session.execute(select(deals.c.id).where(deals.c.id == deal_id.scalar_subquery()).with_for_update())
        q = select(tasks).where(tasks.c.tenant_id == tenant_id, tasks.c.id == task_id).with_for_update()
        return (await self.session.execute(q)).first()

    async def set_task(self, task_id: str, **values: Any) -> None:
        q = update(tasks).where(tasks.c.id == task_id).values(**values).returning(tasks.c.deal_id)
        deal_id = (await self.session.execute(q)).scalar_one_or_none()
        if deal_id is not None and {"completed_at", "due_at"} & values.keys():
            await self._next_due(deal_id)

    async def _next_due(self, deal_id: str) -> None:
        """deals.next_due_at: the earliest due time of the deal's open tasks (the board's overdue filter)."""
        due = select(func.min(tasks.c.due_at)).where(tasks.c.deal_id == deal_id, tasks.c.completed_at.is_(None))
        await self.session.execute(update(deals).where(deals.c.id == deal_id).values(next_due_at=due.scalar_subquery()))

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


def _counted(table: Any) -> list[Any]:
    return [table.c.id, *(table.c[c] for c in _KEY), table.c.amount]


class _Key:
    """A counter key and amount taken from a RETURNING row's old_ or new values."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


_FOLD = """
WITH keys AS (
    SELECT DISTINCT tenant_id, pipeline_id, stage_id, curator_id, plan_state, booked
    FROM (SELECT * FROM deal_counts WHERE pending ORDER BY id LIMIT :limit) AS oldest
), gone AS (
    DELETE FROM deal_counts c USING keys k
    WHERE c.tenant_id = k.tenant_id AND c.pipeline_id = k.pipeline_id AND c.stage_id = k.stage_id
      AND c.curator_id IS NOT DISTINCT FROM k.curator_id AND c.plan_state = k.plan_state AND c.booked = k.booked
    RETURNING c.tenant_id, c.pipeline_id, c.stage_id, c.curator_id, c.plan_state, c.booked, c.deals, c.amount
), folded AS (
    INSERT INTO deal_counts (tenant_id, pipeline_id, stage_id, curator_id, plan_state, booked, deals, amount, pending)
    SELECT tenant_id, pipeline_id, stage_id, curator_id, plan_state, booked, sum(deals), sum(amount), false
    FROM gone GROUP BY tenant_id, pipeline_id, stage_id, curator_id, plan_state, booked
    HAVING sum(deals) <> 0 OR sum(amount) <> 0
)
SELECT count(*) FROM keys
"""

#: The counters of one clinic (or, in the migration, of all) from its deals.
_RECOUNT = """
INSERT INTO deal_counts (tenant_id, pipeline_id, stage_id, curator_id, plan_state, booked, deals, amount, pending)
SELECT tenant_id, pipeline_id, stage_id, curator_id, plan_state, booked, count(*), sum(amount), false
FROM deals WHERE tenant_id = :tenant_id
GROUP BY tenant_id, pipeline_id, stage_id, curator_id, plan_state, booked
"""


def _appointment(row: Row) -> Appointment:
    return Appointment(row.id, row.starts_at, row.starts_version, row.cancelled_at, row.done_at, row.confirmed_at)


def _person(table: Any, tenant_id: str, deal: Row) -> Any:
    ids = []
    if deal.patient_id:
        ids.append(table.c.patient_id == deal.patient_id)
    if deal.lead_id:
        ids.append(table.c.lead_id == deal.lead_id)
    return and_(table.c.tenant_id == tenant_id, or_(*ids) if ids else false())
