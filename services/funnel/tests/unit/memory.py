"""The in-memory unit of work of funnel (`FunnelWork` over plain objects) for the use-case tests of this tier.

A test double of funnel's PostgreSQL repository (funnel.repository.Repository) with its observable behaviour:
rows of the models' columns and their defaults, the clinic boundary, one Arrived-and-repeat deal per patient and
one deal per request (a duplicate is refused as the unique indexes refuse it), appointment facts merged in any
order (funnel.domain.merge_appointment), the deal's next due time and overdue flag kept from its open tasks, tasks
past due claimed once. Statements, locks, the board's counters and the valuation, assistant and privacy
repositories are PostgreSQL's: the integration and e2e tiers test those (funnel.services.work).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import Boolean, Integer, Numeric, Table

from devkit.memory import MemoryWork
from funnel import domain
from funnel.domain import Appointment, Facts, ItemFact, Plan, Visit, merge_appointment
from funnel.models import appointments, calls, deals, pipelines, plan_items, plans, stages, tasks, visits
from funnel.repository import Situation
from funnel.services.work import FunnelWorkFactory

Row = SimpleNamespace


def _default(column: Any) -> Any:
    """The Python value of a column's server default (what PostgreSQL would fill in)."""
    if column.server_default is None:
        return None
    raw = str(column.server_default.arg.text).split("::")[0].strip("'")
    if isinstance(column.type, Boolean):
        return raw == "true"
    if isinstance(column.type, Numeric):
        return Decimal(raw)
    if isinstance(column.type, Integer):
        return int(raw)
    if raw in ("[]", "{}"):
        return [] if raw == "[]" else {}
    return raw


def new_row(table: Table, **values: Any) -> Row:
    """A row of `table` as an insert would store it: every column, its default where not given."""
    unknown = set(values) - {c.name for c in table.columns}
    assert not unknown, f"{table.name} has no column {unknown}"
    return Row(**{c.name: values.get(c.name, _default(c)) for c in table.columns})


def _copy(row: Row) -> Row:
    """What a read returns: a snapshot (changing the stored row later does not change it)."""
    return Row(**vars(row))


@dataclass
class FunnelState:
    pipelines: dict[str, Row] = field(default_factory=dict)
    stages: dict[str, Row] = field(default_factory=dict)
    deals: dict[str, Row] = field(default_factory=dict)
    appointments: dict[tuple[str, str], Row] = field(default_factory=dict)
    visits: dict[tuple[str, str], Row] = field(default_factory=dict)
    plans: dict[str, Row] = field(default_factory=dict)
    plan_items: list[Row] = field(default_factory=list)
    tasks: dict[str, Row] = field(default_factory=dict)
    calls: dict[tuple[str, str], Row] = field(default_factory=dict)
    #: (deal id, at, kind, line): the deal's activity feed.
    activity: list[tuple[str, datetime, str, str]] = field(default_factory=list)
    #: tenant -> active staff user ids (the directory funnel keeps from the gateway's events).
    staff: dict[str, set[str]] = field(default_factory=dict)
    settings: dict[str, Row] = field(default_factory=dict)
    curators: dict[tuple[str, str], Row] = field(default_factory=dict)


class MemoryFunnel:
    """The repository's methods the use cases call, over `FunnelState`."""

    def __init__(self, state: FunnelState) -> None:
        self.s = state

    async def flush(self) -> None:
        """Nothing deferred: every write is in `state` at once."""

    def forget_layout(self, tenant_id: str) -> None:
        """No cache to forget."""

    # --- pipelines and stages ------------------------------------------------------------------
    async def pipelines(self, tenant_id: str) -> list[Row]:
        mine = [p for p in self.s.pipelines.values() if p.tenant_id == tenant_id]
        return [_copy(p) for p in sorted(mine, key=lambda p: p.position)]

    async def pipeline(self, tenant_id: str, pipeline_id: str) -> Row | None:
        return next((p for p in await self.pipelines(tenant_id) if p.id == pipeline_id), None)

    async def builtin(self, tenant_id: str, kind: str) -> Row | None:
        return next((p for p in await self.pipelines(tenant_id) if p.kind == kind), None)

    async def add_pipeline(self, **values: Any) -> bool:
        if values["kind"] != domain.CUSTOM and await self.builtin(values["tenant_id"], values["kind"]) is not None:
            return False
        self.s.pipelines[values["id"]] = new_row(pipelines, **values)
        return True

    async def set_pipeline(self, tenant_id: str, pipeline_id: str, **values: Any) -> None:
        found = self.s.pipelines.get(pipeline_id)
        if found is not None and found.tenant_id == tenant_id:
            vars(found).update(values)

    async def stages(self, tenant_id: str, pipeline_ids: list[str]) -> list[Row]:
        mine = [s for s in self.s.stages.values() if s.tenant_id == tenant_id and s.pipeline_id in pipeline_ids]
        return [_copy(s) for s in sorted(mine, key=lambda s: (s.pipeline_id, s.position))]

    async def add_stage(self, **values: Any) -> None:
        self.s.stages[values["id"]] = new_row(stages, **values)

    async def set_stage(self, tenant_id: str, stage_id: str, **values: Any) -> None:
        found = self.s.stages.get(stage_id)
        if found is not None and found.tenant_id == tenant_id:
            vars(found).update(values)

    async def stage_in_use(self, stage_id: str) -> bool:
        return any(d.stage_id == stage_id for d in self.s.deals.values())

    async def delete_stage(self, tenant_id: str, stage_id: str) -> None:
        if (found := self.s.stages.get(stage_id)) is not None and found.tenant_id == tenant_id:
            del self.s.stages[stage_id]

    # --- deals -----------------------------------------------------------------------------------
    async def add_deal(self, **values: Any) -> Row | None:
        row = new_row(deals, **values)
        for d in self.s.deals.values():  # the unique indexes: one arrived deal per patient, one deal per request
            if d.tenant_id != row.tenant_id:
                continue
            if row.kind == domain.ARRIVED and d.kind == domain.ARRIVED and d.patient_id == row.patient_id:
                return None
            if row.request_id is not None and d.request_id == row.request_id:
                return None
        self.s.deals[row.id] = row
        return _copy(row)

    async def deal(self, tenant_id: str, deal_id: str, *, lock: bool = False) -> Row | None:
        found = self.s.deals.get(deal_id)
        return _copy(found) if found is not None and found.tenant_id == tenant_id else None

    async def arrived_deal(self, tenant_id: str, patient_id: str, *, lock: bool = False) -> Row | None:
        return next(
            (
                _copy(d)
                for d in self.s.deals.values()
                if d.tenant_id == tenant_id and d.kind == domain.ARRIVED and d.patient_id == patient_id
            ),
            None,
        )

    async def request_deals(self, tenant_id: str, lead_id: str) -> list[Row]:
        mine = [
            d
            for d in self.s.deals.values()
            if d.tenant_id == tenant_id and d.kind == domain.REQUESTS and d.lead_id == lead_id
        ]
        return [_copy(d) for d in sorted(mine, key=lambda d: d.created_at)]

    async def set_deal(self, deal_id: str, **values: Any) -> None:
        if "next_booking_at" in values:
            values["booked"] = values["next_booking_at"] is not None
        if (found := self.s.deals.get(deal_id)) is not None:
            vars(found).update(values)

    async def claim_lost_due(self, now: datetime, *, limit: int) -> list[Row]:
        due = [
            d
            for d in self.s.deals.values()
            if d.kind == domain.ARRIVED
            and d.stage_key == "interrupted"
            and d.lost_due_at is not None
            and d.lost_due_at <= now
        ]
        return [_copy(d) for d in sorted(due, key=lambda d: d.lost_due_at)][:limit]

    # --- facts -----------------------------------------------------------------------------------
    async def record_appointment(
        self, tenant_id: str, lead_id: str | None, patient_id: str | None, fact: Appointment
    ) -> bool:
        key = (tenant_id, fact.id)
        old = self.s.appointments.get(key)
        merged = merge_appointment(_appointment(old) if old is not None else None, fact)
        facts = {n: getattr(merged, n) for n in ("starts_at", "starts_version", "cancelled_at", "done_at")}
        facts["confirmed_at"] = merged.confirmed_at
        if old is None:
            self.s.appointments[key] = new_row(
                appointments, id=fact.id, tenant_id=tenant_id, lead_id=lead_id, patient_id=patient_id, **facts
            )
            return False
        vars(old).update(facts, lead_id=old.lead_id or lead_id, patient_id=old.patient_id or patient_id)
        return old.confirm_task_at is not None

    async def record_visit(self, tenant_id: str, lead_id: str | None, patient_id: str | None, visit: Visit) -> None:
        self.s.visits.setdefault(
            (tenant_id, visit.appointment_id),
            new_row(
                visits, appointment_id=visit.appointment_id, tenant_id=tenant_id, lead_id=lead_id,
                patient_id=patient_id, completed_at=visit.completed_at, procedures=list(visit.procedures),
            ),
        )  # fmt: skip

    async def person_booked(self, tenant_id: str, lead_id: str) -> bool:
        return any(
            a.tenant_id == tenant_id and a.lead_id == lead_id and a.cancelled_at is None
            for a in self.s.appointments.values()
        )

    def _of_person(self, rows: Any, tenant_id: str, deal: Row) -> list[Row]:
        return [
            r
            for r in rows
            if r.tenant_id == tenant_id
            and ((deal.patient_id and r.patient_id == deal.patient_id) or (deal.lead_id and r.lead_id == deal.lead_id))
        ]

    async def situation(self, tenant_id: str, deal: Row) -> Situation:
        appts = sorted(self._of_person(self.s.appointments.values(), tenant_id, deal), key=lambda r: r.id)
        seen = sorted(self._of_person(self.s.visits.values(), tenant_id, deal), key=lambda r: r.appointment_id)
        plan_rows = sorted((p for p in self.s.plans.values() if p.deal_id == deal.id), key=lambda p: p.id)
        items = sorted(
            (i for i in self.s.plan_items if i.plan_id in {p.id for p in plan_rows}), key=lambda i: i.position
        )
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
        return Situation(facts, [_copy(p) for p in plan_rows], await self.open_tasks(deal.id))

    async def facts(self, tenant_id: str, deal: Row) -> Facts:
        return (await self.situation(tenant_id, deal)).facts

    # --- plans -----------------------------------------------------------------------------------
    async def add_plan(self, plan: dict[str, Any], items: list[dict[str, Any]]) -> None:
        self.s.plans[plan["id"]] = new_row(plans, **plan)
        self.s.plan_items.extend(new_row(plan_items, **i) for i in items)

    async def plan(self, tenant_id: str, plan_id: str, *, lock: bool = True) -> Row | None:
        found = self.s.plans.get(plan_id)
        return _copy(found) if found is not None and found.tenant_id == tenant_id else None

    async def set_plan(self, plan_id: str, **values: Any) -> None:
        if (found := self.s.plans.get(plan_id)) is not None:
            vars(found).update(values)

    async def plans_of(self, deal_id: str) -> tuple[list[Row], list[Row]]:
        found = sorted((p for p in self.s.plans.values() if p.deal_id == deal_id), key=lambda p: p.created_at)
        ids = {p.id for p in found}
        items = sorted((i for i in self.s.plan_items if i.plan_id in ids), key=lambda i: i.position)
        return [_copy(p) for p in found], [_copy(i) for i in items]

    # --- tasks -----------------------------------------------------------------------------------
    async def add_task(self, *, next_due: bool = True, **values: Any) -> None:
        self.s.tasks[values["id"]] = new_row(tasks, **values)
        if next_due:
            await self._next_due(values["deal_id"], values["created_at"])

    async def task(self, tenant_id: str, task_id: str) -> Row | None:
        found = self.s.tasks.get(task_id)
        return _copy(found) if found is not None and found.tenant_id == tenant_id else None

    async def set_task(self, task_id: str, *, now: datetime | None = None, **values: Any) -> None:
        found = self.s.tasks.get(task_id)
        if found is None:
            return
        vars(found).update(values)
        if {"completed_at", "due_at"} & values.keys():
            at = now or values.get("completed_at")
            assert at is not None, "a change of due time says when it was made"
            await self._next_due(found.deal_id, at)

    async def complete_tasks(self, task_ids: list[str], now: datetime) -> None:
        for task_id in task_ids:
            vars(self.s.tasks[task_id]).update(completed_at=now)

    async def open_tasks(self, deal_id: str) -> list[Row]:
        mine = [t for t in self.s.tasks.values() if t.deal_id == deal_id and t.completed_at is None]
        return [_copy(t) for t in sorted(mine, key=lambda t: t.due_at)]

    async def _next_due(self, deal_id: str, now: datetime) -> None:
        due = min((t.due_at for t in await self.open_tasks(deal_id)), default=None)
        await self.set_deal(deal_id, next_due_at=due, overdue=domain.overdue(due, now))

    async def tasks_of(self, deal_id: str) -> list[Row]:
        return [_copy(t) for t in sorted(self.s.tasks.values(), key=lambda t: t.due_at) if t.deal_id == deal_id]

    async def open_automatic_task(self, deal_id: str, title: str) -> bool:
        return any(t.automatic and t.title == title for t in await self.open_tasks(deal_id))

    async def mark_overdue(self, task_ids: list[str], now: datetime) -> None:
        for task_id in task_ids:
            await self.set_task(task_id, overdue_at=now)

    async def claim_overdue(self, now: datetime, *, limit: int) -> list[Row]:
        due = [t for t in self.s.tasks.values() if t.completed_at is None and t.overdue_at is None and t.due_at < now]
        return [_copy(t) for t in sorted(due, key=lambda t: t.due_at)[:limit]]

    async def open_tasks_for(self, deal_id: str, reason: str, ref: str | None = None) -> list[Row]:
        return [t for t in await self.open_tasks(deal_id) if t.reason == reason and (ref is None or t.ref == ref)]

    # --- calls ------------------------------------------------------------------------------------
    async def lock_phone(self, tenant_id: str, phone: str) -> None:
        """One unit of work at a time: nothing to serialise."""

    async def record_call(
        self, tenant_id: str, call_id: str, phone: str, lead_id: str | None, *, missed_at: datetime | None = None,
        answered_at: datetime | None = None,
    ) -> None:  # fmt: skip
        old = self.s.calls.get((tenant_id, call_id))
        if old is None:
            self.s.calls[(tenant_id, call_id)] = new_row(
                calls, tenant_id=tenant_id, call_id=call_id, phone=phone, lead_id=lead_id, missed_at=missed_at,
                answered_at=answered_at,
            )  # fmt: skip
            return
        old.missed_at = old.missed_at or missed_at
        old.answered_at = old.answered_at or answered_at
        old.lead_id = old.lead_id or lead_id

    async def calls_of(self, tenant_id: str, phone: str) -> list[Row]:
        return [_copy(c) for (t, _), c in sorted(self.s.calls.items()) if t == tenant_id and c.phone == phone]

    async def cover_calls(self, tenant_id: str, call_ids: list[str], task_id: str) -> None:
        for call_id in call_ids:
            if (found := self.s.calls.get((tenant_id, call_id))) is not None:
                found.task_id = task_id

    async def open_call_backs(self, tenant_id: str, phone: str) -> list[Row]:
        mine = [
            t
            for t in self.s.tasks.values()
            if t.tenant_id == tenant_id
            and t.phone == phone
            and t.reason == domain.MISSED_CALL
            and t.completed_at is None
        ]
        return [_copy(t) for t in sorted(mine, key=lambda t: t.created_at)]

    async def contact_deals(self, tenant_id: str, lead_id: str | None, phone: str) -> list[Row]:
        mine = [
            d
            for d in self.s.deals.values()
            if d.tenant_id == tenant_id and (d.phone == phone or (lead_id and d.lead_id == lead_id))
        ]
        mine.sort(key=lambda d: d.created_at, reverse=True)
        mine.sort(key=lambda d: d.kind != domain.ARRIVED)
        return [_copy(d) for d in mine[:20]]

    # --- staff, settings, curators, feed ---------------------------------------------------------
    async def active_staff(self, tenant_id: str, user_ids: list[str]) -> set[str]:
        return self.s.staff.get(tenant_id, set()) & set(user_ids)

    async def settings(self, tenant_id: str) -> Row | None:
        found = self.s.settings.get(tenant_id)
        return _copy(found) if found is not None else None

    async def put_settings(self, tenant_id: str, now: datetime, **values: Any) -> None:
        current = vars(self.s.settings[tenant_id]) if tenant_id in self.s.settings else {}
        self.s.settings[tenant_id] = Row(**{**current, "tenant_id": tenant_id, "updated_at": now, **values})

    async def put_curator(self, tenant_id: str, user_id: str, general: Decimal, per_service: dict[str, str]) -> None:
        self.s.curators[(tenant_id, user_id)] = Row(
            tenant_id=tenant_id, user_id=user_id, general_percent=general, per_service=dict(per_service)
        )

    async def curator(self, tenant_id: str, user_id: str) -> Row | None:
        found = self.s.curators.get((tenant_id, user_id))
        return _copy(found) if found is not None else None

    async def curators(self, tenant_id: str) -> list[Row]:
        return [_copy(c) for (t, _), c in sorted(self.s.curators.items()) if t == tenant_id]

    async def log(self, tenant_id: str, deal_id: str, at: datetime, kind: str, line: str) -> None:
        self.s.activity.append((deal_id, at, kind, line))


def _appointment(row: Row) -> Appointment:
    return Appointment(row.id, row.starts_at, row.starts_version, row.cancelled_at, row.done_at, row.confirmed_at)


class MemoryFunnelWork(MemoryWork[FunnelState]):
    """`FunnelWork` in memory: `MemoryFunnelWork().uow()` is what a use case takes as its unit-of-work factory."""

    def __init__(self, state: FunnelState | None = None) -> None:
        super().__init__(state or FunnelState(), source="funnel")

    def opened(self) -> None:
        self.funnel = MemoryFunnel(self.state)
        self.settings = self.curators = self.funnel

    def uow(self) -> FunnelWorkFactory:
        """The factory typed as the use cases want it (the repository is duck-typed: funnel.repository is a class)."""
        return cast(FunnelWorkFactory, self.factory())

    def feed(self, deal_id: str) -> list[str]:
        return [line for d, _, _, line in self.state.activity if d == deal_id]

    def deal_row(self, deal_id: str) -> Row:
        return self.state.deals[deal_id]
