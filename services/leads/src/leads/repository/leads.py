"""Queries on leads, their status history and the per-day statistics."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, and_, bindparam, func, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement, Select

from leads.domain.leads import CLOSED_STATUSES, Lead, StatusChange, search_key
from leads.domain.queries import TOTAL_CAP, LeadQuery, Metrics
from leads.models import lead_stats, lead_status_changes, leads

_LEAD_FIELDS = (
    "id",
    "tenant_id",
    "name",
    "phone",
    "email",
    "source",
    "locale",
    "status",
    "created_by",
    "created_at",
    "updated_at",
    "cpf",
    "birth_date",
    "city",
    "urgency",
    "owner_id",
    "next_follow_up",
    "notes",
    "consents",
    "attribution",
    "channel",
    "patient_id",
    "merged_into",
    "updated_by",
    "next_appointment_id",
    "next_appointment_at",
    "next_appointment_procedure",
    "next_appointment_branch",
    "contacts",
)


def to_lead(row: Any) -> Lead:
    values = {f: getattr(row, f) for f in _LEAD_FIELDS}
    return Lead(**values, phones=tuple(row.phones or ((row.phone,) if row.phone else ())))


def _row(lead: Lead) -> dict[str, Any]:
    values = {f: getattr(lead, f) for f in _LEAD_FIELDS}
    values["phones"] = list(lead.phones)
    values["name_search"] = search_key(lead.name)
    values["name_words"] = values["name_search"].split()
    return values


#: Literal, as in the partial index ix_leads_tenant_open_follow_up, so the planner can match the two.
_STILL_WORKED = text("status NOT IN ('NOT_INTERESTED', 'VISIT_COMPLETED')")
assert {"NOT_INTERESTED", "VISIT_COMPLETED"} == CLOSED_STATUSES

#: Sort names to column names.
_SORT_COLUMNS = {
    "created_at": "created_at",
    "updated_at": "updated_at",
    "name": "name_search",
    "next_follow_up": "next_follow_up",
}
_NULLABLE_SORTS = frozenset({"next_follow_up"})


# The statements of the intake path, built once: building one per call cost more CPU than running it.
_INSERT_LEAD = leads.insert()
_INSERT_STATUS_CHANGE = lead_status_changes.insert()
_BUMP_STATS = text(
    "INSERT INTO lead_stats (tenant_id, day, dimension, value, n) "
    "SELECT :tenant_id, :day, d, v, :n FROM unnest(CAST(:dimensions AS text[]), CAST(:values AS text[])) AS x(d, v) "
    "ON CONFLICT (tenant_id, day, dimension, value) DO UPDATE SET n = lead_stats.n + excluded.n"
).bindparams(bindparam("tenant_id", type_=UUID(as_uuid=False)), bindparam("day", type_=Date()))
#: An empty phone list overlaps nothing and `email = NULL` is never true, so one statement serves all.
_OPEN_BY_CONTACT = (
    select(leads)
    .where(
        leads.c.tenant_id == bindparam("tenant_id"),
        leads.c.visible,
        leads.c.status.not_in(CLOSED_STATUSES),
        leads.c.updated_at >= bindparam("since"),
        or_(
            leads.c.phones.overlap(bindparam("phones", type_=leads.c.phones.type)), leads.c.email == bindparam("email")
        ),
    )
    .order_by(leads.c.updated_at.desc())
    .limit(20)
)


class LeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, lead: Lead, *, stats_day: date) -> None:
        await self.session.execute(_INSERT_LEAD, {**_row(lead), "stats_day": stats_day})
        await self.bump_stats(lead.tenant_id, stats_day, lead, +1)

    async def get(
        self, tenant_id: str, lead_id: str, *, for_update: bool = False, include_deleted: bool = False
    ) -> Lead | None:
        query = select(leads).where(leads.c.tenant_id == tenant_id, leads.c.id == lead_id)
        if not include_deleted:
            query = query.where(leads.c.deleted_at.is_(None))
        if for_update:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return to_lead(row) if row else None

    async def stats_day(self, lead_id: str) -> date | None:
        return (await self.session.execute(select(leads.c.stats_day).where(leads.c.id == lead_id))).scalar()

    async def save(self, before: Lead, after: Lead) -> None:
        """Write the lead and move its statistics bucket if status, source or urgency changed."""
        values = _row(after)
        del values["id"], values["tenant_id"]
        await self.session.execute(update(leads).where(leads.c.id == after.id).values(**values))
        changed = tuple(d for d in ("status", "source", "urgency") if getattr(before, d) != getattr(after, d))
        if changed:
            day = await self.stats_day(after.id)
            if day is not None:
                await self.bump_stats(after.tenant_id, day, before, -1, changed)
                await self.bump_stats(after.tenant_id, day, after, +1, changed)

    async def hide(self, lead: Lead, *, deleted_at: datetime | None = None, merged_into: str | None = None) -> None:
        """Deleted or merged away: out of lists, search and metrics."""
        values: dict[str, Any] = {"visible": False}
        if deleted_at is not None:
            values["deleted_at"] = deleted_at
        if merged_into is not None:
            values["merged_into"] = merged_into
        await self.session.execute(update(leads).where(leads.c.id == lead.id).values(**values))
        day = await self.stats_day(lead.id)
        if day is not None:
            await self.bump_stats(lead.tenant_id, day, lead, -1)

    async def bump_stats(
        self,
        tenant_id: str,
        day: date,
        lead: Lead,
        delta: int,
        dimensions: tuple[str, ...] = ("status", "source", "urgency"),
    ) -> None:
        # One statement for every dimension (the rows never share a key, so one upsert can take them all).
        await self.session.execute(
            _BUMP_STATS,
            {
                "tenant_id": tenant_id,
                "day": day,
                "dimensions": list(dimensions),
                "values": [getattr(lead, d) for d in dimensions],
                "n": delta,
            },
        )

    # --- status history -----------------------------------------------------------------
    async def add_status_change(self, tenant_id: str, change: StatusChange) -> None:
        await self.session.execute(
            _INSERT_STATUS_CHANGE,
            {
                "tenant_id": tenant_id,
                "lead_id": change.lead_id,
                "from_status": change.from_status,
                "to_status": change.to_status,
                "comment": change.comment,
                "changed_by": change.changed_by,
                "changed_at": change.changed_at,
            },
        )

    async def status_history(self, tenant_id: str, lead_id: str) -> list[StatusChange]:
        query = (
            select(lead_status_changes)
            .where(lead_status_changes.c.tenant_id == tenant_id, lead_status_changes.c.lead_id == lead_id)
            .order_by(lead_status_changes.c.changed_at, lead_status_changes.c.id)
        )
        return [
            StatusChange(r.lead_id, r.from_status, r.to_status, r.comment, r.changed_by, r.changed_at)
            for r in (await self.session.execute(query)).all()
        ]

    # --- lists ----------------------------------------------------------------------------
    def _filters(self, tenant_id: str, q: LeadQuery) -> list[ColumnElement[bool]]:
        """Everything but the name (see page)."""
        where: list[ColumnElement[bool]] = [leads.c.tenant_id == tenant_id, leads.c.visible]
        if q.created_from:
            where.append(leads.c.created_at >= q.created_from)
        if q.created_to:
            where.append(leads.c.created_at < q.created_to)
        if q.statuses:
            where.append(leads.c.status.in_(q.statuses))
        if q.sources:
            where.append(leads.c.source.in_(q.sources))
        owners: list[ColumnElement[bool]] = []
        if q.owner_ids:
            owners.append(leads.c.owner_id.in_(q.owner_ids))
        if q.unassigned:
            owners.append(leads.c.owner_id.is_(None))
        if owners:
            where.append(or_(*owners))
        if q.urgencies:
            where.append(leads.c.urgency.in_(q.urgencies))
        if q.follow_up_from:
            where.append(leads.c.next_follow_up >= q.follow_up_from)
        if q.follow_up_to:
            where.append(leads.c.next_follow_up <= q.follow_up_to)
        texts: list[ColumnElement[bool]] = []
        if q.phone:
            texts.append(leads.c.phones.contains([q.phone]))
        if q.cpf:
            texts.append(leads.c.cpf == q.cpf)
        if q.email:
            texts.append(leads.c.email == q.email)
        if texts:
            where.append(or_(*texts))
        return where

    @staticmethod
    def _order(q: LeadQuery, columns: Any = leads.c) -> list[ColumnElement[Any]]:
        column = columns[_SORT_COLUMNS[q.sort.lstrip("-")]]
        descending = q.sort.startswith("-")
        if descending:
            # NULLS LAST only where there can be nulls: on a NOT NULL column it stops PostgreSQL from walking the
            # (tenant_id, column) index backwards, and the list of a million leads is sorted instead (1 s vs 1 ms).
            first = column.desc().nulls_last() if column.name in _NULLABLE_SORTS else column.desc()
            return [first, columns["id"].desc()]
        return [column.asc().nulls_last(), columns["id"].asc()]

    async def page(self, tenant_id: str, q: LeadQuery) -> tuple[list[Lead], int]:
        """A name is first looked up as whole words (the GIN index on name_words, any order); only when no lead
        has them all, as a fragment of the name (someone still typing: the GIN trigram index)."""
        where = self._filters(tenant_id, q)
        if q.name:
            words = q.name.split()
            found, total = await self._name_page(q, where, lambda c: c.name_words.contains(words))
            if total:
                return found, total
            pattern = f"%{_escape_like(q.name)}%"
            return await self._name_page(q, where, lambda c: c.name_search.ilike(pattern))
        order = self._order(q)
        if q.phone or q.cpf or q.email:
            # Free text finds few rows but costs an index search: rows and total in one pass.
            total_column = func.count().over().label("total_found")
            rows = (
                await self.session.execute(
                    select(leads, total_column).where(*where).order_by(*order).limit(q.limit).offset(q.offset)
                )
            ).all()
            if rows:
                return [to_lead(r) for r in rows], int(rows[0].total_found)
            if q.offset == 0:
                return [], 0
        else:
            rows = (
                await self.session.execute(select(leads).where(*where).order_by(*order).limit(q.limit).offset(q.offset))
            ).all()
            if q.offset == 0 and len(rows) < q.limit:
                return [to_lead(r) for r in rows], len(rows)  # the whole answer is on this page
        return [to_lead(r) for r in rows], await self._capped_total(where)

    async def _name_page(
        self, q: LeadQuery, where: list[ColumnElement[bool]], name: Callable[[Any], ColumnElement[bool]]
    ) -> tuple[list[Lead], int]:
        """A page of the leads whose name matches, with bounded work whatever the name (left to choose, the
        planner misjudges name conditions by orders of magnitude: seconds at a million leads).

        At most TOTAL_CAP + 1 matches by the name's own index, sorted: exact up to the cap. Past it (a common
        name, a short fragment), the list's order with the name as a filter, which fills a page soon because the
        name is common."""
        order = self._order(q)
        rows, found = await self._sorted_hits(q, select(leads).where(*where, name(leads.c)))
        if found <= TOTAL_CAP and (rows or q.offset == 0):
            return rows, found
        # The ids first, so that the walk can stay in the order's index when it carries the name (newest first:
        # ix_leads_tenant_created_names; by name: ix_leads_tenant_name) and reads no row it does not show.
        ids = select(leads.c.id).where(*where, name(leads.c)).order_by(*order).limit(q.limit).offset(q.offset)
        page = (await self.session.execute(select(leads).where(leads.c.id.in_(ids)).order_by(*order))).all()
        total = TOTAL_CAP + 1 if found > TOTAL_CAP else await self._capped_total([*where, name(leads.c)])
        return [to_lead(r) for r in page], total

    async def _sorted_hits(self, q: LeadQuery, matches: Select[Any]) -> tuple[list[Lead], int]:
        """At most TOTAL_CAP + 1 of `matches`, materialised (so the cap holds), then sorted and paged; and how
        many there were (0 when the page is past them all)."""
        hits = matches.limit(TOTAL_CAP + 1).cte("name_hits").prefix_with("MATERIALIZED")
        total_column = func.count().over().label("total_found")
        rows = (
            await self.session.execute(
                select(hits, total_column).order_by(*self._order(q, hits.c)).limit(q.limit).offset(q.offset)
            )
        ).all()
        return [to_lead(r) for r in rows], int(rows[0].total_found) if rows else 0

    async def _capped_total(self, where: list[ColumnElement[bool]]) -> int:
        capped = select(literal(1)).select_from(leads).where(*where).limit(TOTAL_CAP + 1).subquery()
        return int((await self.session.execute(select(func.count()).select_from(capped))).scalar_one())

    async def metrics(self, tenant_id: str, day_from: date, day_to: date, today: date) -> Metrics:
        in_period = and_(lead_stats.c.tenant_id == tenant_id, lead_stats.c.day >= day_from, lead_stats.c.day <= day_to)
        counts: dict[str, dict[str, int]] = {"status": {}, "source": {}, "urgency": {}}
        rows = await self.session.execute(
            select(lead_stats.c.dimension, lead_stats.c.value, func.sum(lead_stats.c.n))
            .where(in_period)
            .group_by(lead_stats.c.dimension, lead_stats.c.value)
        )
        for dimension, value, n in rows.tuples():
            if n:
                counts[dimension][value] = int(n)
        by_status, by_source = counts["status"], counts["source"]
        high = counts["urgency"].get("high", 0)
        visible = and_(leads.c.tenant_id == tenant_id, leads.c.visible)
        today_count = (
            await self.session.execute(
                select(func.count()).select_from(leads).where(visible, leads.c.next_follow_up == today)
            )
        ).scalar_one()
        overdue = (
            await self.session.execute(
                select(func.count()).select_from(leads).where(visible, leads.c.next_follow_up < today, _STILL_WORKED)
            )
        ).scalar_one()
        return Metrics(
            period_from=day_from,
            period_to=day_to,
            total=int(sum(by_status.values())),
            high_urgency=int(high),
            follow_ups_today=int(today_count),
            follow_ups_overdue=int(overdue),
            by_status=by_status,
            by_source=by_source,
        )

    async def open_by_handle(self, tenant_id: str, channel: str, address: str) -> list[Lead]:
        """Open, visible leads reached at `address` on `channel` (Lead.contacts), newest first."""
        query = (
            select(leads)
            .where(
                leads.c.tenant_id == tenant_id,
                leads.c.visible,
                leads.c.status.not_in(CLOSED_STATUSES),
                leads.c.contacts.contains({channel: address}),
            )
            .order_by(leads.c.updated_at.desc())
            .limit(5)
        )
        return [to_lead(r) for r in (await self.session.execute(query)).all()]

    async def open_by_contact(
        self, tenant_id: str, *, phones: list[str], email: str | None, since: datetime
    ) -> list[Lead]:
        """Open, visible leads updated since `since` that share a phone or the e-mail."""
        if not phones and not email:
            return []
        params = {"tenant_id": tenant_id, "since": since, "phones": phones, "email": email}
        return [to_lead(r) for r in (await self.session.execute(_OPEN_BY_CONTACT, params)).all()]


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
