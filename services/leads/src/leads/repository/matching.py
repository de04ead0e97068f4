"""Candidate queries for matching (leads and patients), and moving a merged lead's history to the survivor.

Each kind of evidence has its index: CPF and e-mail the (tenant_id, cpf|email) b-trees, phones the GIN index on
`phones` (array overlap with every ninth-digit variant); names the (tenant_id, name_search) b-tree for names
sorting next to the key, and the GiST trigram index walked nearest-first (`name_search <-> key`) for the rest.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Table, Text, literal, or_, select, update
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


def _base(table: Table, tenant_id: str) -> Select[Any]:
    """The columns a candidate needs, of the clinic's rows (visible ones, for leads)."""
    columns = [table.c.id, table.c.name, table.c.phones, table.c.email, table.c.cpf]
    where: list[ColumnElement[bool]] = [table.c.tenant_id == tenant_id]
    if table is leads:
        columns += [leads.c.phone, leads.c.status, leads.c.merged_into]
        where.append(leads.c.visible)  # bare, not `IS true`: only so can the partial indexes `WHERE visible` serve
    return select(*columns).where(*where)


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
        kinds: tuple[str, ...] = ("lead", "patient"),
    ) -> list[Candidate]:
        """Visible leads and patients of the clinic sharing a CPF, an e-mail or a phone; each kind of evidence is
        its own indexed query (an OR across them would defeat the indexes)."""
        found: list[Candidate] = []
        for kind in kinds:
            table = leads if kind == "lead" else patients
            queries: list[Select[Any]] = []
            base = _base(table, tenant_id)
            if cpf:
                queries.append(base.where(table.c.cpf == cpf).limit(PER_QUERY))
            if email:
                queries.append(base.where(table.c.email == email).limit(PER_QUERY))
            if phones:
                # Materialised, so the LIMIT cannot talk the planner into a sequential scan betting on an early
                # stop (it over-estimates array-overlap matches): the GIN index on phones is always used.
                by_phone = base.where(table.c.phones.overlap(phones)).cte(f"{table.name}_by_phone")
                queries.append(select(by_phone.prefix_with("MATERIALIZED")).limit(PER_QUERY))
            found.extend(await self._run(kind, queries))
        return found

    async def leads_named_alike(self, tenant_id: str, name_key: str) -> list[Candidate]:
        """Visible leads whose normalised name sorts right next to `name_key` (the b-tree ix_leads_tenant_name):
        the same name, and names that differ only towards their end. Cheap at any size."""
        base = _base(leads, tenant_id)
        after = base.where(leads.c.name_search >= name_key).order_by(leads.c.name_search, leads.c.id)
        before = base.where(leads.c.name_search < name_key).order_by(leads.c.name_search.desc(), leads.c.id.desc())
        return await self._run("lead", [after.limit(PER_QUERY // 2), before.limit(PER_QUERY // 2)])

    async def nearest_names(self, tenant_id: str, name_key: str, *, kinds: tuple[str, ...]) -> list[Candidate]:
        """The PER_QUERY names nearest by trigram distance (`name_search <-> key`, the GiST trigram index):
        finds typos, other word orders and missing words, but walks much of the index on a large clinic."""
        found: list[Candidate] = []
        for kind in kinds:
            table = leads if kind == "lead" else patients
            distance = table.c.name_search.op("<->", return_type=Float)(literal(name_key, Text))
            found.extend(await self._run(kind, [_base(table, tenant_id).order_by(distance).limit(PER_QUERY)]))
        return found

    async def _run(self, kind: str, queries: list[Select[Any]]) -> list[Candidate]:
        to_candidate = _lead if kind == "lead" else _patient
        found: list[Candidate] = []
        for query in queries:
            found.extend(to_candidate(r) for r in (await self.session.execute(query)).all())
        return found

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
