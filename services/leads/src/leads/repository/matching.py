"""Candidate queries for matching (leads and patients), and moving a merged lead's history to the survivor.

Each kind of evidence has its index: CPF and e-mail (tenant_id, cpf|email) b-trees, phones the GIN index on
`phones` (array overlap with every ninth-digit variant), names the GiST trigram index on
(tenant_id, name_search), walked nearest-first (`name_search <-> key`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement, Select

from leads.domain.leads import CLOSED_STATUSES
from leads.domain.matching import Candidate
from leads.models import activities, audit_log, intake_receipts, lead_status_changes, leads, patients

#: Candidates fetched per kind of evidence and per table; the scoring ranks them.
PER_QUERY = 20


def _lead(row: Any) -> Candidate:
    return Candidate(
        kind="lead",
        id=row.id,
        name=row.name,
        phones=tuple(row.phones or (row.phone,)),
        email=row.email,
        cpf=row.cpf,
        status=row.status,
        is_open=row.status not in CLOSED_STATUSES and row.merged_into is None,
    )


def _patient(row: Any) -> Candidate:
    return Candidate(
        kind="patient",
        id=row.id,
        name=row.name,
        phones=tuple(row.phones or ()),
        email=row.email,
        cpf=row.cpf,
        status=None,
    )


class MatchRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def candidates(
        self,
        tenant_id: str,
        *,
        phones: list[str],
        email: str | None,
        cpf: str | None,
        name_key: str | None,
        kinds: tuple[str, ...] = ("lead", "patient"),
    ) -> list[Candidate]:
        """Visible leads and patients of the clinic sharing a CPF, an e-mail or a phone, or with the nearest
        names; each kind of evidence is its own indexed query (an OR across them would defeat the indexes)."""
        found: list[Candidate] = []
        for kind in kinds:
            table = leads if kind == "lead" else patients
            to_candidate = _lead if kind == "lead" else _patient
            for query in self._queries(table, tenant_id, phones=phones, email=email, cpf=cpf, name_key=name_key):
                found.extend(to_candidate(r) for r in (await self.session.execute(query)).all())
        return found

    def _queries(
        self,
        table: Table,
        tenant_id: str,
        *,
        phones: list[str],
        email: str | None,
        cpf: str | None,
        name_key: str | None,
    ) -> list[Select[Any]]:
        where: list[ColumnElement[bool]] = [table.c.tenant_id == tenant_id]
        if table is leads:
            where.append(leads.c.visible.is_(True))
        base = select(table).where(*where)
        queries: list[Select[Any]] = []
        if cpf:
            queries.append(base.where(table.c.cpf == cpf).limit(PER_QUERY))
        if email:
            queries.append(base.where(table.c.email == email).limit(PER_QUERY))
        if phones:
            queries.append(base.where(table.c.phones.overlap(phones)).limit(PER_QUERY))
        if name_key:
            queries.append(base.order_by(table.c.name_search.op("<->")(name_key)).limit(PER_QUERY))
        return queries

    # --- merging ---------------------------------------------------------------------------------
    async def move_history(self, tenant_id: str, from_lead: str, to_lead: str) -> dict[str, int]:
        """Activities, status history, audit entries and intake receipts of `from_lead` now belong to
        `to_lead` (rows keep their ids, authors and times); leads merged into `from_lead` earlier now point
        at `to_lead`, and so do patients converted from it. Returns how many rows of each moved."""
        moved: dict[str, int] = {}
        for name, table in (
            ("activities", activities),
            ("status_changes", lead_status_changes),
            ("audit_entries", audit_log),
            ("intake_receipts", intake_receipts),
        ):
            result = await self.session.execute(
                update(table)
                .where(table.c.tenant_id == tenant_id, table.c.lead_id == from_lead)
                .values(lead_id=to_lead)
            )
            moved[name] = int(getattr(result, "rowcount", 0) or 0)
        await self.session.execute(
            update(leads)
            .where(leads.c.tenant_id == tenant_id, leads.c.merged_into == from_lead)
            .values(merged_into=to_lead)
        )
        await self.session.execute(
            update(patients)
            .where(patients.c.tenant_id == tenant_id, patients.c.lead_id == from_lead)
            .values(lead_id=to_lead)
        )
        return moved

    async def lock_pair(self, tenant_id: str, first: str, second: str) -> None:
        """Lock both leads' rows in a fixed order, so two merges of the same pair cannot deadlock."""
        await self.session.execute(
            select(leads.c.id)
            .where(leads.c.tenant_id == tenant_id, or_(leads.c.id == first, leads.c.id == second))
            .order_by(leads.c.id)
            .with_for_update()
        )
