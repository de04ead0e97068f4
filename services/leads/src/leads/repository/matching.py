"""Candidate queries for matching (leads and patients), and moving a merged lead's history to the survivor.

Each kind of evidence has its index: CPF and e-mail the (tenant_id, cpf|email) b-trees, phones the GIN index on
`phones` (array overlap with every ninth-digit variant); names the (tenant_id, name_search) b-tree and its reversed
twin for names sorting next to the key from either end, the GIN index on the name's words for leads sharing its
words, and (patients) the GiST trigram index walked nearest-first (`name_search <-> key`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Table, Text, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement, Select

from leads.domain.leads import CLOSED_STATUSES
from leads.domain.matching import Candidate
from leads.models import activities, audit_log, intake_receipts, lead_status_changes, leads, patients

#: Candidates fetched per kind of evidence and per table; the scoring ranks them.
PER_QUERY = 20
#: Leads sharing the key's words read per query before the nearest PER_QUERY are kept.
WORD_HITS = 500


def _lead(row: Any) -> Candidate:
    return Candidate(
        kind="lead",
        id=row.id,
        name=row.name,
        phones=tuple(row.phones or ((row.phone,) if row.phone else ())),
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
        the same name, and names that differ only towards their end; and the same read backwards
        (ix_leads_tenant_name_reversed): names that differ only towards their start. Cheap at any size."""
        base = _base(leads, tenant_id)
        after = base.where(leads.c.name_search >= name_key).order_by(leads.c.name_search, leads.c.id)
        before = base.where(leads.c.name_search < name_key).order_by(leads.c.name_search.desc(), leads.c.id.desc())
        backwards = func.reverse(leads.c.name_search)
        key = func.reverse(literal(name_key, Text))
        after_end = base.where(backwards >= key).order_by(backwards, leads.c.id)
        before_end = base.where(backwards < key).order_by(backwards.desc(), leads.c.id.desc())
        half = PER_QUERY // 2
        return await self._run("lead", [q.limit(half) for q in (after, before, after_end, before_end)])

    async def nearest_names(self, tenant_id: str, name_key: str, *, kinds: tuple[str, ...]) -> list[Candidate]:
        """The PER_QUERY names nearest by trigram distance (`name_search <-> key`).

        Patients: the GiST trigram index walked nearest-first (a clinic has far fewer patients than leads).
        Leads: that walk costs seconds at a million leads when no name is near (a typo in the first word, a
        name nobody has), so leads are looked up by their words instead (the GIN index on name_words): leads
        with all the key's words (other order, a missing word) and, for three words or more, with all but one
        (a typo in any one word), at most WORD_HITS per query, the nearest of them kept. Typos towards either
        end of the name are leads_named_alike's."""
        found: list[Candidate] = []
        for kind in kinds:
            table = leads if kind == "lead" else patients
            distance = table.c.name_search.op("<->", return_type=Float)(literal(name_key, Text))
            if kind != "lead":
                found.extend(await self._run(kind, [_base(table, tenant_id).order_by(distance).limit(PER_QUERY)]))
                continue
            words = list(dict.fromkeys(name_key.split()))
            subsets = [words] if len(words) >= 2 else []
            if len(words) >= 3:
                subsets += [words[:i] + words[i + 1 :] for i in range(len(words))]
            queries: list[Select[Any]] = []
            for subset in subsets:
                hits = (
                    _base(leads, tenant_id)
                    .add_columns(leads.c.name_search)
                    .where(leads.c.name_words.contains(subset))
                    .limit(WORD_HITS)
                    .cte(f"word_hits_{len(queries)}")
                    .prefix_with("MATERIALIZED")
                )
                near = hits.c.name_search.op("<->", return_type=Float)(literal(name_key, Text))
                queries.append(select(hits).order_by(near).limit(PER_QUERY))
            found.extend(await self._run(kind, queries))
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
