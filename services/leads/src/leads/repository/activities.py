"""Queries on activities. Every query joins the lead, so a deleted lead's activities are gone with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from leads.domain.activities import BELL_NEXT, SCHEDULED, Activity, ActivityQuery, Bell
from leads.models import activities, leads

_FIELDS = (
    "id",
    "tenant_id",
    "lead_id",
    "type",
    "title",
    "notes",
    "scheduled_at",
    "responsible_id",
    "state",
    "result",
    "private",
    "created_by",
    "created_at",
    "updated_at",
    "completed_by",
    "completed_at",
)


def _activity(row: Any) -> Activity:
    return Activity(**{f: getattr(row, f) for f in _FIELDS}, lead_name=row.lead_name)


def _select(tenant_id: str) -> Select[Any]:
    """The clinic's activities of leads not deleted, each with its lead's name (the join every query makes
    anyway, so a list names its prospects without a query per lead)."""
    return (
        select(activities, leads.c.name.label("lead_name"))
        .join(leads, leads.c.id == activities.c.lead_id)
        .where(activities.c.tenant_id == tenant_id, leads.c.deleted_at.is_(None))
    )


def _visible_to(viewer: str | None) -> list[ColumnElement[bool]]:
    if viewer is None:
        return []
    return [
        or_(
            activities.c.private.is_(False),
            activities.c.responsible_id == viewer,
        )
    ]


class ActivityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, activity: Activity) -> None:
        await self.session.execute(activities.insert().values({f: getattr(activity, f) for f in _FIELDS}))

    async def get(self, tenant_id: str, activity_id: str, *, for_update: bool = False) -> Activity | None:
        query = _select(tenant_id).where(activities.c.id == activity_id)
        if for_update:
            query = query.with_for_update(of=activities)
        row = (await self.session.execute(query)).first()
        return _activity(row) if row else None

    async def save(self, activity: Activity) -> None:
        values = {f: getattr(activity, f) for f in _FIELDS if f not in ("id", "tenant_id", "lead_id", "created_by")}
        await self.session.execute(
            update(activities)
            .where(activities.c.tenant_id == activity.tenant_id, activities.c.id == activity.id)
            .values(**values)
        )

    async def page(self, tenant_id: str, query: ActivityQuery) -> tuple[list[Activity], int]:
        where: list[ColumnElement[bool]] = _visible_to(query.viewer)
        c = activities.c
        if query.states:
            where.append(c.state.in_(query.states))
        if query.types:
            where.append(c.type.in_(query.types))
        if query.responsible_ids:
            where.append(c.responsible_id.in_(query.responsible_ids))
        if query.lead_id:
            where.append(c.lead_id == query.lead_id)
        if query.scheduled_from:
            where.append(c.scheduled_at >= query.scheduled_from)
        if query.scheduled_to:
            where.append(c.scheduled_at < query.scheduled_to)
        if query.overdue and query.now is not None:
            where.extend([c.state == SCHEDULED, c.scheduled_at < query.now])
        base = _select(tenant_id).where(*where)
        order = (c.scheduled_at.desc(), c.id.desc()) if query.sort.startswith("-") else (c.scheduled_at, c.id)
        rows = (await self.session.execute(base.order_by(*order).limit(query.limit).offset(query.offset))).all()
        total = (await self.session.execute(select(func.count()).select_from(base.subquery()))).scalar_one()
        return [_activity(r) for r in rows], total

    async def bell(self, tenant_id: str, user_id: str, *, now: datetime, day: tuple[datetime, datetime]) -> Bell:
        """The user's scheduled activities: counts, and the soonest few."""
        c = activities.c
        mine = and_(c.responsible_id == user_id, c.state == SCHEDULED)
        start, end = day
        counts = (
            await self.session.execute(
                select(
                    func.count(),
                    func.count().filter(c.scheduled_at < now),
                    func.count().filter(c.scheduled_at >= start, c.scheduled_at < end),
                )
                .select_from(activities.join(leads, leads.c.id == c.lead_id))
                .where(c.tenant_id == tenant_id, leads.c.deleted_at.is_(None), mine)
            )
        ).one()
        soonest = (
            await self.session.execute(_select(tenant_id).where(mine).order_by(c.scheduled_at, c.id).limit(BELL_NEXT))
        ).all()
        return Bell(pending=counts[0], overdue=counts[1], due_today=counts[2], next=[_activity(r) for r in soonest])
