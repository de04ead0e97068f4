"""The facts and rollups (analytics.domain.facts): computed from the projections with the reports' resolution
of people to leads, stored, and the rollups moved by the difference.

The consumers' batches only *queue* what they touched (`enqueue`: rows of `fact_queue`, insert-only, so the
batches of different partitions never wait for one another). The fact refresher drains a clinic's queue
(`take`) and refreshes what it names, under the clinic's transaction-scoped advisory lock (`try_lock`; a source
correction waits for it with `lock`), held until it commits: the refreshes of one clinic run one after another,
each from everything committed before it began. A queue row is committed with the projection rows of its batch,
so the refresh that takes it sees them; a batch committed after the refresh took the queue is refreshed by the
next one. A rollup therefore always equals the sum of its facts, and once the queue is drained every fact is what
the projections give. Only fact and rollup rows are written under the lock, and only under it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics.domain import facts as rules
from analytics.models import (
    fact_queue,
    lead_facts,
    lead_rollups,
    lead_staff_rollups,
    payment_facts,
    revenue_rollups,
    revenue_staff_rollups,
)
from analytics.repository import bulk


def resolved(source: str) -> str:
    """Rows of `source` (a table or CTE with lead_id, patient_id, phone) with `r_lead` and `r_patient`: the lead
    each row resolves to (a merged lead counts for the one it was merged into), else the first lead converted to
    that patient, else the first lead with that phone. Rows naming their lead join `leads` by key; only rows
    without a lead id look theirs up one by one."""
    return f"""(
        SELECT t.*, COALESCE(l.merged_into, l.lead_id) AS r_lead, l.patient_id AS r_patient
        FROM {source} t
        LEFT JOIN leads l ON l.tenant_id = t.tenant_id AND l.lead_id = t.lead_id AND l.created_at IS NOT NULL
        WHERE t.lead_id IS NOT NULL
        UNION ALL
        SELECT t.*, x.lead_id, x.patient_id
        FROM {source} t
        LEFT JOIN LATERAL (
            SELECT COALESCE(l.merged_into, l.lead_id) AS lead_id, l.patient_id
            FROM leads l
            WHERE l.tenant_id = t.tenant_id AND l.created_at IS NOT NULL AND (
                  l.patient_id = t.patient_id OR (t.patient_id IS NULL AND l.phone = t.phone))
            ORDER BY l.created_at, l.lead_id
            LIMIT 1) x ON TRUE
        WHERE t.lead_id IS NULL)"""


def _candidates(table: str) -> str:
    """The rows of `table` that can resolve to a lead of `fam` (the targets and the leads merged into them)."""
    return f"""
    SELECT t.* FROM {table} t
    WHERE t.tenant_id = :tenant AND t.lead_id = ANY(ARRAY(SELECT lead_id FROM fam) || CAST(:ids AS text[]))
    UNION ALL
    SELECT t.* FROM {table} t
    WHERE t.tenant_id = :tenant AND t.lead_id IS NULL
      AND t.patient_id = ANY(ARRAY(SELECT patient_id FROM fam WHERE patient_id IS NOT NULL))
    UNION ALL
    SELECT t.* FROM {table} t
    WHERE t.tenant_id = :tenant AND t.lead_id IS NULL AND t.patient_id IS NULL
      AND t.phone = ANY(ARRAY(SELECT phone FROM fam WHERE phone IS NOT NULL))"""


def lead_facts_sql(*, only: bool) -> str:
    """Each counted lead of the clinic `:tenant` (`only`: of the ids `:ids`) as its fact row."""
    if only:
        scope = """
        fam AS (
            SELECT l.lead_id, l.patient_id, l.phone FROM leads l
            WHERE l.tenant_id = :tenant AND l.created_at IS NOT NULL
              AND (l.lead_id = ANY(CAST(:ids AS text[])) OR l.merged_into = ANY(CAST(:ids AS text[])))
        ),"""
        scope += ",".join(f"\n        c_{t} AS ({_candidates(t)})" for t in ("appointments", "payments", "deals"))
        scope += ","
        src = {t: f"c_{t}" for t in ("appointments", "payments", "deals")}
        target = "AND l.lead_id = ANY(CAST(:ids AS text[]))"
    else:
        scope, src, target = "", {t: t for t in ("appointments", "payments", "deals")}, ""
    return f"""
    WITH {scope}
    base AS (
        SELECT l.tenant_id, l.lead_id, l.created_at, l.channel, COALESCE(sc.source, l.source) AS source,
               l.source AS original_source, (sc.lead_id IS NOT NULL) AS corrected, l.owner_id,
               l.first_contact_at, l.first_contact_by
        FROM leads l
        LEFT JOIN source_corrections sc ON sc.tenant_id = l.tenant_id AND sc.lead_id = l.lead_id
        WHERE l.tenant_id = :tenant {target}
          AND l.created_at IS NOT NULL AND l.deleted_at IS NULL AND l.merged_into IS NULL
    ),
    appts AS (
        SELECT COALESCE(a.r_lead, a.lead_id) AS lead_id, a.appointment_id, a.booked_at, a.arrived_at,
               a.completed_at, a.slot_professional_id, a.slot_branch_id
        FROM {resolved(src["appointments"])} a
        WHERE a.tenant_id = :tenant AND a.booked_at IS NOT NULL
    ),
    first_appt AS (
        SELECT DISTINCT ON (lead_id) lead_id, slot_professional_id AS professional_id, slot_branch_id AS branch_id
        FROM appts ORDER BY lead_id, booked_at, appointment_id
    ),
    stages AS (
        SELECT lead_id, min(booked_at) AS booked_at, min(arrived_at) AS arrived_at,
               min(completed_at) AS completed_at
        FROM appts GROUP BY lead_id
    ),
    planned AS (
        SELECT COALESCE(d.r_lead, d.lead_id) AS lead_id, min(p.created_at) AS plan_at
        FROM plans p JOIN {resolved(src["deals"])} d ON d.tenant_id = p.tenant_id AND d.deal_id = p.deal_id
        WHERE p.tenant_id = :tenant AND p.created_at IS NOT NULL
        GROUP BY 1
    ),
    paid AS (
        SELECT COALESCE(p.r_lead, p.lead_id) AS lead_id, min(p.paid_at) AS paid_at,
               sum(p.paid_amount - COALESCE(p.refunded_total, 0)) AS revenue
        FROM {resolved(src["payments"])} p
        WHERE p.tenant_id = :tenant AND p.paid_at IS NOT NULL
        GROUP BY 1
    )
    SELECT b.tenant_id, b.lead_id, b.created_at, CAST(b.created_at AT TIME ZONE 'UTC' AS date) AS day, b.channel,
           b.source, b.original_source, b.corrected, b.owner_id, b.first_contact_at, b.first_contact_by,
           f.professional_id, f.branch_id, s.booked_at, s.arrived_at,
           LEAST(s.completed_at, pl.plan_at) AS treated_at, pd.paid_at, COALESCE(pd.revenue, 0) AS revenue
    FROM base b
    LEFT JOIN first_appt f ON f.lead_id = b.lead_id
    LEFT JOIN stages s ON s.lead_id = b.lead_id
    LEFT JOIN planned pl ON pl.lead_id = b.lead_id
    LEFT JOIN paid pd ON pd.lead_id = b.lead_id"""


def payment_facts_sql(*, only: bool) -> str:
    """Each confirmed payment of `:tenant` (`only`: of the ids `:pids`) with its lead's attribution."""
    target = "AND payment_id = ANY(CAST(:pids AS text[]))" if only else ""
    return f"""
    WITH src AS (SELECT * FROM payments WHERE tenant_id = :tenant {target} AND paid_at IS NOT NULL),
    pay AS (
        SELECT p.tenant_id, p.payment_id, p.paid_at, p.paid_amount, COALESCE(p.refunded_total, 0) AS refunded,
               p.appointment_id, p.procedure_id, COALESCE(p.r_lead, p.lead_id) AS lead_id
        FROM {resolved("src")} p
    )
    SELECT pay.tenant_id, pay.payment_id, pay.lead_id, pay.paid_at,
           CAST(pay.paid_at AT TIME ZONE 'UTC' AS date) AS day, COALESCE(pay.paid_amount, 0) AS gross,
           pay.refunded, l.channel, COALESCE(sc.source, l.source) AS source, l.owner_id,
           a.slot_professional_id AS professional_id, a.slot_branch_id AS branch_id,
           COALESCE(pay.procedure_id, a.procedure_id) AS procedure_id
    FROM pay
    LEFT JOIN leads l ON l.tenant_id = pay.tenant_id AND l.lead_id = pay.lead_id
    LEFT JOIN source_corrections sc ON sc.tenant_id = pay.tenant_id AND sc.lead_id = pay.lead_id
    LEFT JOIN appointments a ON a.tenant_id = pay.tenant_id AND a.appointment_id = pay.appointment_id"""


ROLLUP_TABLES = {t.name: t for t in (lead_rollups, lead_staff_rollups, revenue_rollups, revenue_staff_rollups)}

_LEAD_COLUMNS = [c.name for c in lead_facts.c]
_PAYMENT_COLUMNS = [c.name for c in payment_facts.c]


def _rollup_sql(rollup: rules.Rollup, facts: str) -> str:
    dims = ", ".join(rollup.dims)
    groups = ", ".join(str(n) for n in range(1, len(rollup.dims) + 3))
    if rollup.counts is rules.lead_counts:
        counts = ("leads, booked, arrived, treated, paid, revenue, corrected",
                  "count(*), count(booked_at), count(arrived_at), count(treated_at), count(paid_at), "
                  "COALESCE(sum(revenue), 0), count(*) FILTER (WHERE corrected)")  # fmt: skip
    else:
        counts = ("payments, gross, refunds", "count(*), COALESCE(sum(gross), 0), COALESCE(sum(refunded), 0)")
    return f"""INSERT INTO {rollup.table} (tenant_id, day, {dims}, {counts[0]})
       SELECT tenant_id, day, {dims}, {counts[1]} FROM {facts} WHERE tenant_id = :tenant GROUP BY {groups}"""


#: Rebuilding every fact and rollup of one clinic from its projections (the migration and the benchmark's seed).
FULL_REFRESH = [
    "DELETE FROM fact_queue WHERE tenant_id = :tenant",
    "DELETE FROM lead_facts WHERE tenant_id = :tenant",
    "DELETE FROM payment_facts WHERE tenant_id = :tenant",
    *(f"DELETE FROM {r.table} WHERE tenant_id = :tenant" for r in (*rules.LEAD_ROLLUPS, *rules.REVENUE_ROLLUPS)),
    f"INSERT INTO lead_facts ({', '.join(_LEAD_COLUMNS)}) {lead_facts_sql(only=False)}",
    f"INSERT INTO payment_facts ({', '.join(_PAYMENT_COLUMNS)}) {payment_facts_sql(only=False)}",
    *(_rollup_sql(r, "lead_facts") for r in rules.LEAD_ROLLUPS),
    *(_rollup_sql(r, "payment_facts") for r in rules.REVENUE_ROLLUPS),
]
TENANTS = "SELECT tenant_id FROM leads UNION SELECT tenant_id FROM payments"


@dataclass
class Touched:
    """What a batch changed that facts depend on: people named (by lead id, patient id, phone), deals, payments
    and appointments."""

    leads: set[str] = field(default_factory=set)
    patients: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    deals: set[str] = field(default_factory=set)
    payments: set[str] = field(default_factory=set)
    appointments: set[str] = field(default_factory=set)

    def person(self, row: dict[str, Any] | None) -> None:
        if not row:
            return
        for name, into in (("lead_id", self.leads), ("patient_id", self.patients), ("phone", self.phones)):
            if row.get(name):
                into.add(row[name])

    def __bool__(self) -> bool:
        return any((self.leads, self.patients, self.phones, self.deals, self.payments, self.appointments))

    def rows(self, tenant: str) -> list[dict[str, str]]:
        """As rows of `fact_queue`."""
        return [
            {"tenant_id": tenant, "kind": kind, "ref": ref} for kind in KINDS for ref in sorted(getattr(self, kind))
        ]

    def add(self, kind: str, ref: str) -> None:
        getattr(self, kind).add(ref)


#: What a queue row may name (the fields of Touched).
KINDS = ("leads", "patients", "phones", "deals", "payments", "appointments")


def _ids(values: Iterable[str | None]) -> list[str]:
    return sorted({v for v in values if v})


class FactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, tenants: Iterable[str]) -> None:
        """The clinics' fact lock until the transaction ends (in one order, so two holders never deadlock)."""
        for tenant in sorted(set(tenants)):
            await self.session.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended('analytics.facts:' || :t, 0))"), {"t": tenant}
            )

    async def try_lock(self, tenant: str) -> bool:
        """The clinic's fact lock until the transaction ends, if no one else holds it (another refresher)."""
        granted = await self.session.execute(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended('analytics.facts:' || :t, 0))"), {"t": tenant}
        )
        return bool(granted.scalar())

    async def enqueue(self, touched: dict[str, Touched]) -> None:
        """Queue what a batch touched, for the refresher (insert-only: no lock shared with other batches)."""
        rows = [r for tenant in sorted(touched) for r in touched[tenant].rows(tenant)]
        if rows:
            await self.session.execute(fact_queue.insert(), rows)

    async def queued(self) -> list[str]:
        """The clinics with something queued."""
        return [r["tenant_id"] for r in await self._all("SELECT DISTINCT tenant_id FROM fact_queue", {})]

    async def take(self, tenant: str) -> Touched:
        """Everything queued for the clinic (committed so far), removed from the queue."""
        touched = Touched()
        for r in await self._all("DELETE FROM fact_queue WHERE tenant_id = :tenant RETURNING kind, ref",
                                 {"tenant": tenant}):  # fmt: skip
            touched.add(r["kind"], r["ref"])
        return touched

    async def _all(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return [dict(r) for r in (await self.session.execute(text(sql), params)).mappings().all()]

    async def refresh(self, tenant: str, touched: Touched) -> None:
        """Recompute the facts of every lead and payment `touched` may reach; move the rollups by the change."""
        if touched.deals:
            for d in await self._all(
                "SELECT lead_id, patient_id, phone FROM deals WHERE tenant_id = :tenant AND deal_id = ANY(:ids)",
                {"tenant": tenant, "ids": _ids(touched.deals)},
            ):
                touched.person(d)
        leads = set(touched.leads)
        if touched.leads or touched.patients or touched.phones:
            # The leads these people resolve to, in the state after the batch: the named leads themselves and
            # what they were merged into, and every lead of the same patient or phone (the first one of them
            # takes the rows that name only the patient or the phone, and which one is first may have changed).
            rows = await self._all(
                """SELECT COALESCE(merged_into, lead_id) AS root FROM leads
                   WHERE tenant_id = :tenant AND lead_id = ANY(CAST(:leads AS text[]))
                   UNION SELECT COALESCE(merged_into, lead_id) FROM leads
                   WHERE tenant_id = :tenant AND patient_id = ANY(CAST(:patients AS text[]))
                   UNION SELECT COALESCE(merged_into, lead_id) FROM leads
                   WHERE tenant_id = :tenant AND phone = ANY(CAST(:phones AS text[]))""",
                {
                    "tenant": tenant,
                    "leads": _ids(touched.leads),
                    "patients": _ids(touched.patients),
                    "phones": _ids(touched.phones),
                },
            )
            leads |= {r["root"] for r in rows}
        ids = _ids(leads)
        if ids:
            await self._lead_facts(tenant, ids)
        payments = set(touched.payments)
        if ids or touched.appointments:
            rows = await self._all(
                f"""WITH fam AS (
                        SELECT l.lead_id, l.patient_id, l.phone FROM leads l
                        WHERE l.tenant_id = :tenant
                          AND (l.lead_id = ANY(CAST(:ids AS text[])) OR l.merged_into = ANY(CAST(:ids AS text[])))
                    )
                    SELECT payment_id FROM ({_candidates("payments")}) c
                    UNION SELECT payment_id FROM payment_facts
                    WHERE tenant_id = :tenant AND lead_id = ANY(CAST(:ids AS text[]))
                    UNION SELECT payment_id FROM payments
                    WHERE tenant_id = :tenant AND appointment_id = ANY(CAST(:appts AS text[]))""",
                {"tenant": tenant, "ids": ids, "appts": _ids(touched.appointments)},
            )
            payments |= {r["payment_id"] for r in rows}
        if payments:
            await self._payment_facts(tenant, _ids(payments))

    async def _lead_facts(self, tenant: str, ids: list[str]) -> None:
        new = await self._all(lead_facts_sql(only=True), {"tenant": tenant, "ids": ids})
        old = await self._all(
            "SELECT * FROM lead_facts WHERE tenant_id = :tenant AND lead_id = ANY(CAST(:ids AS text[]))",
            {"tenant": tenant, "ids": ids},
        )
        await self._store(lead_facts, "lead_id", old, new, rules.LEAD_ROLLUPS, tenant)

    async def _payment_facts(self, tenant: str, pids: list[str]) -> None:
        new = await self._all(payment_facts_sql(only=True), {"tenant": tenant, "pids": pids})
        old = await self._all(
            "SELECT * FROM payment_facts WHERE tenant_id = :tenant AND payment_id = ANY(CAST(:ids AS text[]))",
            {"tenant": tenant, "ids": pids},
        )
        await self._store(payment_facts, "payment_id", old, new, rules.REVENUE_ROLLUPS, tenant)

    async def _store(
        self, table: Any, key: str, old: list[dict[str, Any]], new: list[dict[str, Any]],
        rollups: tuple[rules.Rollup, ...], tenant: str,
    ) -> None:  # fmt: skip
        before = {r[key]: r for r in old}
        after = {r[key]: r for r in new}
        changes = [(before.get(k), after.get(k)) for k in sorted(before.keys() | after.keys())]
        changes = [(o, n) for o, n in changes if o != n]
        if not changes:
            return
        upserts = [n for _, n in changes if n is not None]
        await bulk.upsert(self.session, table, upserts, conflict=("tenant_id", key))
        gone = [o[key] for o, n in changes if n is None and o is not None]
        if gone:
            await self.session.execute(
                table.delete().where(table.c.tenant_id == tenant, table.c[key].in_(gone)),
            )
        for rollup in rollups:
            moved = rules.deltas(changes, rollup)
            if not moved:
                continue
            keys = ("tenant_id", "day", *rollup.dims)
            rows = [
                dict(zip(keys, k, strict=True)) | v
                for k, v in sorted(moved.items(), key=lambda kv: tuple(str(x) for x in kv[0][1:]))
            ]
            names = sorted({n for r in rows for n in r} - set(keys))
            for r in rows:  # every row names every count (a missing one moves by 0)
                for n in names:
                    r.setdefault(n, 0)
            await bulk.upsert(
                self.session,
                ROLLUP_TABLES[rollup.table],
                rows,
                conflict=keys,
                update=", ".join(f"{n} = {rollup.table}.{n} + EXCLUDED.{n}" for n in names),
            )

    async def refresh_all(self, tenant: str) -> None:
        """Every fact and rollup of the clinic computed again from its projections."""
        for sql in FULL_REFRESH:
            await self.session.execute(text(sql), {"tenant": tenant})

    async def tenants(self) -> list[str]:
        return [r["tenant_id"] for r in await self._all(TENANTS, {})]
