"""The only module of funnel that builds queries."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import (
    Integer,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
    text,
    true,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ClauseElement

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
COUNTED = frozenset({"stage_id", "curator_id", "plan_state", "booked", "overdue", "inactive", "amount"})
_KEY = ("tenant_id", "pipeline_id", "stage_id", "curator_id", "plan_state", "booked", "overdue", "inactive")


@dataclass(frozen=True)
class Situation:
    """What the rules need of an Arrived-and-repeat deal, read in one statement: the person's facts, the deal's
    plans (id, status, completed_at) and its open tasks (id, title, reason, automatic, due_at)."""

    facts: Facts
    plans: list[Row] = field(default_factory=list)
    open_tasks: list[Row] = field(default_factory=list)


class Repository:
    """`deferred`: the activity lines and the counters' deltas are kept and written by `flush()` in one statement
    each (funnel's unit of work flushes before its commit: one consumer batch, one insert of each); the built-in
    layout (pipelines, stages) is read once per repository, i.e. once per unit of work."""

    def __init__(self, session: AsyncSession, *, deferred: bool = False) -> None:
        self.session = session
        self.deferred = deferred
        self._deltas: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, Decimal(0)])
        self._lines: list[dict[str, Any]] = []
        self._pipelines: dict[str, list[Row]] = {}
        self._stages: dict[tuple[str, str], list[Row]] = {}

    async def flush(self) -> None:
        """Write what was deferred (a no-op when nothing was): the counter deltas summed per key, the lines."""
        deltas = [
            {**dict(zip(_KEY, key, strict=True)), "deals": n, "amount": amount, "pending": True}
            for key, (n, amount) in self._deltas.items()
            if n or amount
        ]
        self._deltas.clear()
        if deltas:
            await self.session.execute(deal_counts.insert(), deltas)
        lines, self._lines = self._lines, []
        if lines:
            await self.session.execute(activity.insert(), lines)

    def forget_layout(self, tenant_id: str) -> None:
        self._pipelines.pop(tenant_id, None)
        for key in [k for k in self._stages if k[0] == tenant_id]:
            del self._stages[key]

    async def snapshot(self) -> None:
        """The rest of this (read-only) transaction sees one snapshot; the first statement of the transaction."""
        await self.session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))

    # --- pipelines and stages -------------------------------------------------------------------
    async def pipelines(self, tenant_id: str) -> list[Row]:
        """The clinic's pipelines (read once per repository: a consumer batch asks for them per event)."""
        if tenant_id not in self._pipelines:
            q = select(pipelines).where(pipelines.c.tenant_id == tenant_id).order_by(pipelines.c.position)
            self._pipelines[tenant_id] = list((await self.session.execute(q)).all())
        return self._pipelines[tenant_id]

    async def pipeline(self, tenant_id: str, pipeline_id: str) -> Row | None:
        return next((p for p in await self.pipelines(tenant_id) if p.id == pipeline_id), None)

    async def builtin(self, tenant_id: str, kind: str) -> Row | None:
        return next((p for p in await self.pipelines(tenant_id) if p.kind == kind), None)

    async def add_pipeline(self, **values: Any) -> bool:
        """False when the clinic already has this built-in pipeline (a concurrent first use)."""
        self.forget_layout(values["tenant_id"])
        q = insert(pipelines).values(**values).on_conflict_do_nothing()
        result = await self.session.execute(q)
        return bool(getattr(result, "rowcount", 0))

    async def lock_pipeline(self, tenant_id: str, pipeline_id: str, *, share: bool = False) -> Row | None:
        """The pipeline's row, locked: removing it (FOR UPDATE) waits for a deal being opened in it (FOR SHARE)."""
        q = select(pipelines).where(pipelines.c.tenant_id == tenant_id, pipelines.c.id == pipeline_id)
        return (await self.session.execute(q.with_for_update(read=share))).first()

    async def deals_held(self, tenant_id: str, pipeline_id: str) -> tuple[int, int]:
        """(open deals, all deals) of a pipeline: an open deal is in a stage whose outcome is open
        (ix_deals_stage_recent's range of the pipeline)."""
        q = (
            select(
                func.count().filter(stages.c.outcome == "open"),
                func.count(),
            )
            .select_from(deals.join(stages, stages.c.id == deals.c.stage_id))
            .where(deals.c.tenant_id == tenant_id, deals.c.pipeline_id == pipeline_id)
        )
        open_deals, held = (await self.session.execute(q)).one()
        return int(open_deals), int(held)

    async def delete_pipeline(self, tenant_id: str, pipeline_id: str) -> None:
        """A pipeline that holds no deal (deals_held): its counters sum to nothing; its stages go with it."""
        self.forget_layout(tenant_id)
        await self.session.execute(
            deal_counts.delete().where(deal_counts.c.tenant_id == tenant_id, deal_counts.c.pipeline_id == pipeline_id)
        )
        await self.session.execute(
            pipelines.delete().where(pipelines.c.tenant_id == tenant_id, pipelines.c.id == pipeline_id)
        )

    async def set_pipeline(self, tenant_id: str, pipeline_id: str, **values: Any) -> None:
        self.forget_layout(tenant_id)
        q = update(pipelines).where(pipelines.c.tenant_id == tenant_id, pipelines.c.id == pipeline_id)
        await self.session.execute(q.values(**values))

    async def stages(self, tenant_id: str, pipeline_ids: list[str]) -> list[Row]:
        key = (tenant_id, ",".join(sorted(pipeline_ids)))
        if key not in self._stages:
            q = (
                select(stages)
                .where(stages.c.tenant_id == tenant_id, stages.c.pipeline_id.in_(pipeline_ids))
                .order_by(stages.c.pipeline_id, stages.c.position)
            )
            self._stages[key] = list((await self.session.execute(q)).all())
        return self._stages[key]

    async def add_stage(self, **values: Any) -> None:
        self.forget_layout(values["tenant_id"])
        await self.session.execute(stages.insert().values(**values))

    async def set_stage(self, tenant_id: str, stage_id: str, **values: Any) -> None:
        self.forget_layout(tenant_id)
        await self.session.execute(
            update(stages).where(stages.c.tenant_id == tenant_id, stages.c.id == stage_id).values(**values)
        )

    async def stage_in_use(self, stage_id: str) -> bool:
        q = select(func.count()).select_from(deals).where(deals.c.stage_id == stage_id)
        return bool((await self.session.execute(q)).scalar_one())

    async def delete_stage(self, tenant_id: str, stage_id: str) -> None:
        self.forget_layout(tenant_id)
        # No deal is in it (stage_in_use): its counter rows sum to nothing.
        await self.session.execute(
            deal_counts.delete().where(deal_counts.c.tenant_id == tenant_id, deal_counts.c.stage_id == stage_id)
        )
        await self.session.execute(stages.delete().where(stages.c.tenant_id == tenant_id, stages.c.id == stage_id))

    # --- deals ------------------------------------------------------------------------------------
    async def add_deal(self, **values: Any) -> Row | None:
        """The new deal's row (the transaction holds it), or None when the database refuses a duplicate (one
        arrived deal per patient, one deal per request)."""
        q = insert(deals).values(**values).on_conflict_do_nothing().returning(deals)
        row = (await self.session.execute(q)).first()
        if row is not None:
            await self._count([(row, 1)])
        return row

    async def deal(self, tenant_id: str, deal_id: str, *, lock: bool = False) -> Row | None:
        q = _deal_statement(lock)
        return (await self.session.execute(q, {"tenant_id": tenant_id, "deal_id": deal_id})).first()

    async def arrived_deal(self, tenant_id: str, patient_id: str, *, lock: bool = False) -> Row | None:
        q = _arrived_deal_statement(lock)
        return (await self.session.execute(q, {"tenant_id": tenant_id, "patient_id": patient_id})).first()

    async def request_deals(self, tenant_id: str, lead_id: str) -> list[Row]:
        q = select(deals).where(deals.c.tenant_id == tenant_id, deals.c.kind == "requests", deals.c.lead_id == lead_id)
        return list((await self.session.execute(q.order_by(deals.c.created_at).with_for_update())).all())

    async def set_deal(self, deal_id: str, **values: Any) -> None:
        """Change a deal; a change of what the board counts (stage, curator, plan state, amount) moves its
        count and amount from the old counter key to the new one in the same transaction."""
        if "next_booking_at" in values:  # only ever set to a future booking or None (reevaluate)
            values["booked"] = values["next_booking_at"] is not None
        # overdue / inactive are given with next_due_at / last_activity_at by the caller (funnel.domain).
        counted = bool(COUNTED & values.keys())
        if any(isinstance(v, ClauseElement) for v in values.values()):  # an SQL expression (_next_due)
            q, params = _set_deal_statement(deal_id, counted, values), None
        else:  # built once per set of columns, the values bound (the event path's most frequent statement)
            q, params = _set_deal_statement(None, counted, tuple(sorted(values))), _bound(deal_id, values)
        if not counted:
            await self.session.execute(q, params)
            return
        row = (await self.session.execute(q, params)).first()
        if row is None:
            return
        before = {c: getattr(row, f"old_{c}") for c in (*_KEY, "amount")}
        after = {c: getattr(row, c) for c in (*_KEY, "amount")}
        if before != after:
            await self._count([(_Key(before), -1), (_Key(after), 1)])

    async def _count(self, changes: list[tuple[Any, int]]) -> None:
        """Insert counter deltas (never an update of a shared row: no lock waits, no deadlocks between moves);
        deferred ones are summed per key and inserted by `flush`."""
        if self.deferred:
            for row, sign in changes:
                delta = self._deltas[tuple(getattr(row, c) for c in _KEY)]
                delta[0] += sign
                delta[1] += sign * row.amount
            return
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
        return await self._flip("booked", False, deals.c.next_booking_at, deals.c.next_booking_at <= now, limit)

    async def pass_overdue(self, now: datetime, *, limit: int) -> int:
        """Deals whose earliest open task's due time has passed start counting as overdue."""
        return await self._flip("overdue", True, deals.c.next_due_at, deals.c.next_due_at < now, limit)

    async def pass_inactive(self, since: datetime, *, limit: int) -> int:
        """Deals whose last activity fell out of the window (before `since`) start counting as inactive."""
        return await self._flip("inactive", True, deals.c.last_activity_at, deals.c.last_activity_at < since, limit)

    async def _flip(self, flag: str, value: bool, order: Any, passed: Any, limit: int) -> int:
        """Set a counted flag of the deals whose time came (ix_deals_*_passing), moving their counts."""
        # `NOT flag` / `flag`, not `flag IS false`: PostgreSQL matches the partial index's predicate only so
        # (with IS it read all deals each round: a 1 s seq scan at 200,000 that held the event handlers' rows).
        was = ~deals.c[flag] if value else deals.c[flag]
        due = (
            select(deals.c.id)
            .where(was, passed)
            .order_by(order)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        q = update(deals).where(deals.c.id.in_(due)).values({flag: value}).returning(*_counted(deals))
        rows = (await self.session.execute(q)).all()
        if rows:
            await self._count(
                [(_Key({**{c: getattr(r, c) for c in (*_KEY, "amount")}, flag: not value}), -1) for r in rows]
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

    async def claim_lost_due(self, now: datetime, *, limit: int) -> list[Row]:
        """Interrupted deals whose Lost due time came, oldest first, locked (rows another worker holds are left
        to it: SKIP LOCKED)."""
        q = (
            select(deals)
            .where(deals.c.lost_due_at <= now, deals.c.kind == "arrived", deals.c.stage_key == "interrupted")
            .order_by(deals.c.lost_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(q)).all())

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

        The counts never scan the clinic's deals: the counters (deal_counts) answer every filter by their keys and
        flags (booked, overdue, inactive); the deals whose flags are stale correct them (docs/funnel.md)."""

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

        def matches(is_booked: Any, is_overdue: Any, is_inactive: Any) -> Any:
            """The time-bound filters over three flags (columns, or what they are as of `now`)."""
            where = []
            if no_future_booking:
                where.append(~is_booked)
            if overdue:
                where.append(is_overdue)
            if activity == "active":
                where.append(or_(~is_inactive, is_booked))
            elif activity == "inactive":
                where += [is_inactive, ~is_booked]
            return and_(true(), *where)

        # The counters by their stored flags, corrected by the deals whose flags are stale (their time passed
        # and the worker has not caught up yet, or another activity window than the flag's): each stale deal
        # counts +1 where its true flags match and -1 where its stored ones did. Normally a handful of deals,
        # found by index ranges (ix_deals_board_*: each flag leads its column).
        c = deal_counts.c
        parts: list[Any] = [
            select(c.stage_id, c.deals.label("n"), c.amount.label("a")).where(
                *dims(deal_counts), matches(c.booked, c.overdue, c.inactive)
            )
        ]
        is_booked = func.coalesce(booked, false())
        is_overdue = func.coalesce(deals.c.next_due_at < now, false())
        is_inactive = ~func.coalesce(recent, false())
        stale = []
        if no_future_booking or activity is not None:
            stale += [and_(deals.c.booked, deals.c.next_booking_at <= now), and_(~deals.c.booked, booked)]
        if overdue:
            stale += [
                and_(deals.c.overdue, or_(deals.c.next_due_at >= now, deals.c.next_due_at.is_(None))),
                and_(~deals.c.overdue, deals.c.next_due_at < now),
            ]
        if activity is not None:
            stale += [and_(deals.c.inactive, recent), and_(~deals.c.inactive, not_recent)]
        if stale:
            n = cast(matches(is_booked, is_overdue, is_inactive), Integer) - cast(
                matches(deals.c.booked, deals.c.overdue, deals.c.inactive), Integer
            )
            parts.append(select(deals.c.stage_id, n.label("n"), (n * deals.c.amount).label("a")).where(
                *dims(deals), or_(*stale)
            ))  # fmt: skip
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
    ) -> bool:
        """Merge the fact into the appointment's row: a first fact is one insert; a later one reads the row
        under lock and writes the merge (funnel.domain.merge_appointment). True when the unconfirmed-appointment
        timer had dealt with it (a confirmation call may be open)."""

        def values(a: Appointment) -> dict[str, Any]:
            return {
                "starts_at": a.starts_at,
                "starts_version": a.starts_version,
                "cancelled_at": a.cancelled_at,
                "done_at": a.done_at,
                "confirmed_at": a.confirmed_at,
            }

        first = (
            insert(appointments)
            .values(id=fact.id, tenant_id=tenant_id, lead_id=lead_id, patient_id=patient_id, **values(fact))
            .on_conflict_do_nothing()
            .returning(appointments.c.id)
        )
        if (await self.session.execute(first)).first() is not None:
            return False  # merge_appointment(None, fact) is the fact
        mine = and_(appointments.c.tenant_id == tenant_id, appointments.c.id == fact.id)
        row = (await self.session.execute(select(appointments).where(mine).with_for_update())).one()
        merged = values(merge_appointment(_appointment(row), fact))
        ids = {"lead_id": row.lead_id or lead_id, "patient_id": row.patient_id or patient_id}
        await self.session.execute(update(appointments).where(mine).values(**merged, **ids))
        return row.confirm_task_at is not None

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
        return (await self.situation(tenant_id, deal)).facts

    async def situation(self, tenant_id: str, deal: Row) -> Situation:
        """The person's appointments and visits, the deal's plans with their items and its open tasks: one
        statement (each part a JSON array), where it was four to six round trips."""

        # A person is matched by patient id or lead id; a missing one (None) matches nothing.
        params = {"tenant_id": tenant_id, "deal_id": deal.id, "patient_id": deal.patient_id, "lead_id": deal.lead_id}
        found = (await self.session.execute(_situation_statement(), params)).one()
        appts, seen, plan_rows, items, open_tasks = (_rows(raw) for raw in found)
        # json_agg keeps its subquery's order in practice; the rules' order is not left to that.
        appts.sort(key=lambda r: r.id)
        seen.sort(key=lambda r: r.appointment_id)
        plan_rows.sort(key=lambda r: r.id)
        items.sort(key=lambda r: r.position)
        open_tasks.sort(key=lambda r: r.due_at)
        facts = Facts(
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
            visits=tuple(Visit(v.appointment_id, v.completed_at, tuple(v.procedures)) for v in seen),
        )
        return Situation(facts, plan_rows, open_tasks)

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
    async def add_task(self, *, next_due: bool = True, **values: Any) -> None:
        """`next_due=False`: the caller writes the deal's next_due_at / overdue with its other changes."""
        await self.session.execute(tasks.insert().values(**values))
        if next_due:
            await self._next_due(values["deal_id"], values["created_at"])

    async def task(self, tenant_id: str, task_id: str) -> Row | None:
        """The task, locked after its deal's row: the order a move takes them in (its deal, then its tasks),
        so completing a task while an event moves its deal waits instead of deadlocking."""
        deal_id = select(tasks.c.deal_id).where(tasks.c.tenant_id == tenant_id, tasks.c.id == task_id)
        await self.session.execute(select(deals.c.id).where(deals.c.id == deal_id.scalar_subquery()).with_for_update())
        q = select(tasks).where(tasks.c.tenant_id == tenant_id, tasks.c.id == task_id).with_for_update()
        return (await self.session.execute(q)).first()

    async def set_task(self, task_id: str, *, now: datetime | None = None, **values: Any) -> None:
        """`now` (or the completion time) for a change of completion or due time: the deal's overdue flag."""
        q = update(tasks).where(tasks.c.id == task_id).values(**values).returning(tasks.c.deal_id)
        deal_id = (await self.session.execute(q)).scalar_one_or_none()
        if deal_id is not None and {"completed_at", "due_at"} & values.keys():
            at = now or values.get("completed_at")
            assert at is not None, "a change of due time says when it was made"
            await self._next_due(deal_id, at)

    async def complete_tasks(self, task_ids: list[str], now: datetime) -> None:
        """Several tasks of one deal done at once; the caller writes the deal's next_due_at / overdue."""
        if task_ids:
            await self.session.execute(update(tasks).where(tasks.c.id.in_(task_ids)).values(completed_at=now))

    async def open_tasks(self, deal_id: str) -> list[Row]:
        q = select(tasks).where(tasks.c.deal_id == deal_id, tasks.c.completed_at.is_(None)).order_by(tasks.c.due_at)
        return list((await self.session.execute(q)).all())

    async def _next_due(self, deal_id: str, now: datetime) -> None:
        """deals.next_due_at: the earliest due time of the deal's open tasks, and whether that is past `now`
        (the board's overdue filter, counted)."""
        due = select(func.min(tasks.c.due_at)).where(tasks.c.deal_id == deal_id, tasks.c.completed_at.is_(None))
        due_at = due.scalar_subquery()
        await self.set_deal(deal_id, next_due_at=due_at, overdue=func.coalesce(due_at < now, false()))

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

    async def mark_overdue(self, task_ids: list[str], now: datetime) -> None:
        """The claimed tasks announced as overdue, in one statement."""
        if task_ids:
            await self.session.execute(update(tasks).where(tasks.c.id.in_(task_ids)).values(overdue_at=now))

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
        """The person's deals by lead or phone: the Arrived-and-repeat one first, then the newest requests, then
        deals staff opened by hand in the clinic's own pipelines (a missed call is the built-in pipelines' work)."""
        who = [deals.c.phone == phone]
        if lead_id:
            who.append(deals.c.lead_id == lead_id)
        q = (
            select(deals)
            .where(deals.c.tenant_id == tenant_id, or_(*who))
            .order_by(
                case((deals.c.kind == "arrived", 0), (deals.c.kind == "requests", 1), else_=2),
                deals.c.created_at.desc(),
            )
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
        result = await self.session.execute(_ADD_MONEY, values)  # the columns are the values' keys
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
        values = {"tenant_id": tenant_id, "deal_id": deal_id, "at": at, "kind": kind, "text": line}
        if self.deferred:
            self._lines.append(values)
            return
        await self.session.execute(activity.insert().values(**values))

    async def feed(self, deal_id: str, *, limit: int = 100) -> list[Row]:
        q = select(activity).where(activity.c.deal_id == deal_id).order_by(activity.c.at.desc(), activity.c.id.desc())
        return list((await self.session.execute(q.limit(limit))).all())


def _counted(table: Any) -> list[Any]:
    return [table.c.id, *(table.c[c] for c in _KEY), table.c.amount]


# --- statements of the event path, built once -------------------------------------------------------
# Building a statement and its cache key costs more CPU than PostgreSQL spends running it; these are built
# once and run with their values bound.
@cache
def _deal_statement(lock: bool) -> Any:
    q = select(deals).where(deals.c.tenant_id == bindparam("tenant_id"), deals.c.id == bindparam("deal_id"))
    return q.with_for_update() if lock else q


@cache
def _arrived_deal_statement(lock: bool) -> Any:
    q = select(deals).where(
        deals.c.tenant_id == bindparam("tenant_id"),
        deals.c.kind == "arrived",
        deals.c.patient_id == bindparam("patient_id"),
    )
    return q.with_for_update() if lock else q


def _bound(deal_id: str, values: dict[str, Any]) -> dict[str, Any]:
    return {"deal_id": deal_id, **{f"v_{k}": v for k, v in values.items()}}


def _set_deal_statement(deal_id: str | None, counted: bool, values: Any) -> Any:
    """The update of a deal: `values` a dict of SQL expressions (built now) or a tuple of column names (built
    once, bound by `_bound`); `counted` also returns the counted columns before and after."""
    if deal_id is None:
        return _set_deal_bound(counted, values)
    return _set_deal(deals.c.id == deal_id, counted, values)


@cache
def _set_deal_bound(counted: bool, columns: tuple[str, ...]) -> Any:
    return _set_deal(deals.c.id == bindparam("deal_id"), counted, {c: bindparam(f"v_{c}") for c in columns})


def _set_deal(which: Any, counted: bool, values: dict[str, Any]) -> Any:
    if not counted:
        return update(deals).where(which).values(values)
    # The values before the change, read under the row's lock (a stale read would count a move twice).
    old = select(*_counted(deals)).where(which).with_for_update().subquery("old")
    return (
        update(deals)
        .where(deals.c.id == old.c.id)
        .values(values)
        .returning(*(c.label(f"old_{c.name}") for c in old.c), *_counted(deals))
    )


_ADD_MONEY = insert(money).on_conflict_do_nothing()


def _person_bound(table: Any) -> Any:
    return and_(
        table.c.tenant_id == bindparam("tenant_id"),
        or_(table.c.patient_id == bindparam("patient_id"), table.c.lead_id == bindparam("lead_id")),
    )


@cache
def _situation_statement() -> Any:
    def part(q: Any) -> Any:
        rows = q.subquery()
        return select(func.coalesce(func.json_agg(rows.table_valued()), text("'[]'::json"))).scalar_subquery()

    deal_id: Any = bindparam("deal_id")
    plan_ids = select(plans.c.id).where(plans.c.deal_id == deal_id)
    return select(
        part(select(appointments).where(_person_bound(appointments)).order_by(appointments.c.id)),
        part(select(visits).where(_person_bound(visits)).order_by(visits.c.appointment_id)),
        part(
            select(plans.c.id, plans.c.status, plans.c.created_at, plans.c.signed_at, plans.c.completed_at)
            .where(plans.c.deal_id == deal_id)
            .order_by(plans.c.id)
        ),
        part(
            select(plan_items.c.plan_id, plan_items.c.position, plan_items.c.procedure_id, plan_items.c.quantity,
                   plan_items.c.manual_done)
            .where(plan_items.c.plan_id.in_(plan_ids))
            .order_by(plan_items.c.position)
        ),
        part(
            select(tasks.c.id, tasks.c.tenant_id, tasks.c.deal_id, tasks.c.title, tasks.c.reason,
                   tasks.c.automatic, tasks.c.due_at)
            .where(tasks.c.deal_id == deal_id, tasks.c.completed_at.is_(None))
            .order_by(tasks.c.due_at)
        ),
    )  # fmt: skip


class _Key:
    """A counter key and amount taken from a RETURNING row's old_ or new values."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


_COLUMNS = ", ".join(_KEY)
_FOLD = f"""
WITH keys AS (
    SELECT DISTINCT {_COLUMNS}
    FROM (SELECT * FROM deal_counts WHERE pending ORDER BY id LIMIT :limit) AS oldest
), gone AS (
    DELETE FROM deal_counts c USING keys k
    WHERE c.tenant_id = k.tenant_id AND c.pipeline_id = k.pipeline_id AND c.stage_id = k.stage_id
      AND c.curator_id IS NOT DISTINCT FROM k.curator_id AND c.plan_state = k.plan_state AND c.booked = k.booked
      AND c.overdue = k.overdue AND c.inactive = k.inactive
    RETURNING {", ".join(f"c.{k}" for k in _KEY)}, c.deals, c.amount
), folded AS (
    INSERT INTO deal_counts ({_COLUMNS}, deals, amount, pending)
    SELECT {_COLUMNS}, sum(deals), sum(amount), false
    FROM gone GROUP BY {_COLUMNS}
    HAVING sum(deals) <> 0 OR sum(amount) <> 0
)
SELECT count(*) FROM keys
"""

#: The counters of one clinic from its deals.
_RECOUNT = f"""
INSERT INTO deal_counts ({_COLUMNS}, deals, amount, pending)
SELECT {_COLUMNS}, count(*), sum(amount), false
FROM deals WHERE tenant_id = :tenant_id
GROUP BY {_COLUMNS}
"""


def _rows(raw: Any) -> list[Row]:
    """A JSON array of rows (json_agg) as rows: timestamps back to datetimes."""
    items = json.loads(raw) if isinstance(raw, str | bytes) else raw
    return [SimpleNamespace(**{k: _value(k, v) for k, v in item.items()}) for item in items]


def _value(key: str, value: Any) -> Any:
    if isinstance(value, str) and (key.endswith("_at") or key == "starts_version"):
        return datetime.fromisoformat(value)
    return value


def _appointment(row: Row) -> Appointment:
    return Appointment(row.id, row.starts_at, row.starts_version, row.cancelled_at, row.done_at, row.confirmed_at)


def _person(table: Any, tenant_id: str, deal: Row) -> Any:
    ids = []
    if deal.patient_id:
        ids.append(table.c.patient_id == deal.patient_id)
    if deal.lead_id:
        ids.append(table.c.lead_id == deal.lead_id)
    return and_(table.c.tenant_id == tenant_id, or_(*ids) if ids else false())
