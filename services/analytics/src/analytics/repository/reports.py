"""The reports' queries over the projections (docs/analytics.md has each one's definition).

Events name people by lead id, patient id or phone, whichever the producer knew, so each query resolves them
to the lead they came in as (`_resolved`): the lead id itself (a merged lead counts for the one it was merged
into), else the lead converted to that patient, else the lead with that phone. Resolving at query time keeps
the projections order-free: a payment projected before its lead is counted once the lead is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics.domain import facts as rollups
from analytics.repository.facts import resolved


@dataclass(frozen=True)
class Scope:
    tenant_id: str
    start: datetime
    end: datetime
    branch_id: str | None = None
    #: An agent's own figures: only leads they own (curators: their patients).
    owner_id: str | None = None


_resolved = resolved


_LEAD_BASE = """
    SELECT l.lead_id, l.created_at, l.channel, COALESCE(sc.source, l.source) AS source,
           l.source AS original_source, (sc.lead_id IS NOT NULL) AS corrected, l.owner_id, l.name,
           l.first_contact_at, l.first_contact_by
    FROM leads l
    LEFT JOIN source_corrections sc ON sc.tenant_id = l.tenant_id AND sc.lead_id = l.lead_id
    WHERE l.tenant_id = :tenant AND l.created_at >= :start AND l.created_at < :end
      AND l.deleted_at IS NULL AND l.merged_into IS NULL
      AND (CAST(:owner AS text) IS NULL OR l.owner_id = :owner)
"""

_AI_DIMS = {"staff": "staff_id", "channel": "channel", "model": "model"}

_LEAD_DIMS = {"channel": "channel", "source": "source", "doctor": "professional_id", "branch": "branch_id"}
_REVENUE_DIMS = {
    "channel": "channel",
    "source": "source",
    "doctor": "professional_id",
    "procedure": "procedure_id",
    "branch": "branch_id",
}


def _rollup(scope: Scope, dims: tuple[str, ...], families: tuple[rollups.Rollup, ...],
            columns: dict[str, str]) -> rollups.Rollup | None:  # fmt: skip
    """The family of daily rollups that answers `dims` for `scope`: one kept by (at least) those dimensions, and
    by the branch when the report is filtered by one; an agent's own figures read the facts."""
    if scope.owner_id is not None:
        return None
    wanted = {columns[d] for d in dims} | ({"branch_id"} if scope.branch_id is not None else set())
    return next((f for f in families if wanted <= set(f.dims)), None)


def _edges(edges: rollups.Split) -> dict[str, Any]:
    return {
        "first_day": edges.first_day,
        "end_day": edges.end_day,
        "head_end": edges.head_end,
        "tail_start": edges.tail_start,
    }


def _params(scope: Scope, **extra: Any) -> dict[str, Any]:
    return {
        "tenant": scope.tenant_id,
        "start": scope.start,
        "end": scope.end,
        "branch": scope.branch_id,
        "owner": scope.owner_id,
        **extra,
    }


def _group(dims: tuple[str, ...], columns: dict[str, str]) -> tuple[str, str]:
    select = ", ".join(f"{columns[d]} AS {d}" for d in dims)
    group = ", ".join(str(n + 1) for n in range(len(dims)))
    return select, group


_NO_NESTED_LOOPS = text("SET LOCAL enable_nestloop = off")


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _rows(self, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        # The planner cannot estimate the per-lead aggregates (it assumes 200 groups) and would pick nested
        # loops over tens of thousands of rows; hash joins are right for every report (the per-row lookups of
        # rows without a lead id are LATERAL and stay nested loops regardless).
        await self.session.execute(_NO_NESTED_LOOPS)
        return [dict(r) for r in (await self.session.execute(text(sql), params)).mappings().all()]

    async def conversion(self, scope: Scope, dims: tuple[str, ...]) -> list[dict[str, Any]]:
        """Leads of the period and how many reached each step, by `dims`. By channel and source, or by doctor and
        branch (also for one branch): a family of rollups' whole days plus the facts of the partial days at the
        edges; otherwise (an agent's own figures, mixed dimensions) the facts."""
        select, group = _group(dims, _LEAD_DIMS)
        counts = """sum(leads) AS leads, sum(booked) AS booked, sum(arrived) AS arrived, sum(treated) AS treated,
                    sum(paid) AS paid, COALESCE(sum(revenue), 0) AS revenue, sum(corrected) AS corrected"""
        one = """1 AS leads, CAST(booked_at IS NOT NULL AS int) AS booked,
                 CAST(arrived_at IS NOT NULL AS int) AS arrived, CAST(treated_at IS NOT NULL AS int) AS treated,
                 CAST(paid_at IS NOT NULL AS int) AS paid,
                 revenue, CAST(corrected AS int) AS corrected"""
        branch = "AND (CAST(:branch AS text) IS NULL OR branch_id = :branch)"
        family = _rollup(scope, dims, rollups.LEAD_ROLLUPS, _LEAD_DIMS)
        if family is not None:
            edges = rollups.split(scope.start, scope.end)
            keys = ", ".join(family.dims)
            on_branch = branch if "branch_id" in family.dims else ""
            sql = f"""
                WITH parts AS (
                    SELECT {keys}, leads, booked, arrived, treated, paid, revenue, corrected
                    FROM {family.table} WHERE tenant_id = :tenant AND day >= :first_day AND day < :end_day {on_branch}
                    UNION ALL
                    SELECT {keys}, {one} FROM lead_facts
                    WHERE tenant_id = :tenant AND ((created_at >= :start AND created_at < :head_end)
                                                   OR (created_at >= :tail_start AND created_at < :end)) {on_branch}
                )
                SELECT {select}, {counts} FROM parts GROUP BY {group} HAVING sum(leads) > 0"""
            return await self._rows(sql, _params(scope, **_edges(edges)))
        sql = f"""
            WITH parts AS (
                SELECT channel, source, professional_id, branch_id, {one} FROM lead_facts
                WHERE tenant_id = :tenant AND created_at >= :start AND created_at < :end
                  AND (CAST(:owner AS text) IS NULL OR owner_id = :owner) {branch}
            )
            SELECT {select}, {counts} FROM parts GROUP BY {group}"""
        return await self._rows(sql, _params(scope))

    async def lead_list(self, scope: Scope, *, limit: int) -> list[dict[str, Any]]:
        """The period's leads one by one (the export of the leads report)."""
        sql = """
            SELECT f.lead_id, l.name, f.created_at, f.channel, f.source, f.original_source, f.owner_id,
                   f.professional_id, f.branch_id, f.booked_at, f.arrived_at, f.treated_at, f.paid_at,
                   COALESCE(f.revenue, 0) AS revenue
            FROM lead_facts f JOIN leads l ON l.tenant_id = f.tenant_id AND l.lead_id = f.lead_id
            WHERE f.tenant_id = :tenant AND f.created_at >= :start AND f.created_at < :end
              AND (CAST(:owner AS text) IS NULL OR f.owner_id = :owner)
              AND (CAST(:branch AS text) IS NULL OR f.branch_id = :branch)
            ORDER BY f.created_at, f.lead_id LIMIT :limit"""
        return await self._rows(sql, _params(scope, limit=limit))

    async def revenue(self, scope: Scope, dims: tuple[str, ...]) -> list[dict[str, Any]]:
        """Payments of the period (by when they were paid) by `dims`: a family of rollups and the edge days' facts
        by channel and source, or by doctor, branch and procedure (also for one branch); else the payment facts."""
        select, group = _group(dims, _REVENUE_DIMS)
        counts = "sum(payments) AS payments, sum(gross) AS gross, sum(refunds) AS refunds"
        branch = "AND (CAST(:branch AS text) IS NULL OR branch_id = :branch)"
        family = _rollup(scope, dims, rollups.REVENUE_ROLLUPS, _REVENUE_DIMS)
        if family is not None:
            edges = rollups.split(scope.start, scope.end)
            keys = ", ".join(family.dims)
            on_branch = branch if "branch_id" in family.dims else ""
            sql = f"""
                WITH parts AS (
                    SELECT {keys}, payments, gross, refunds
                    FROM {family.table} WHERE tenant_id = :tenant AND day >= :first_day AND day < :end_day {on_branch}
                    UNION ALL
                    SELECT {keys}, 1, gross, refunded FROM payment_facts
                    WHERE tenant_id = :tenant AND ((paid_at >= :start AND paid_at < :head_end)
                                                   OR (paid_at >= :tail_start AND paid_at < :end)) {on_branch}
                )
                SELECT {select}, {counts}, sum(gross) - sum(refunds) AS revenue
                FROM parts GROUP BY {group} HAVING sum(payments) > 0"""
            return await self._rows(sql, _params(scope, **_edges(edges)))
        sql = f"""
            WITH parts AS (
                SELECT channel, source, professional_id, branch_id, procedure_id, 1 AS payments, gross,
                       refunded AS refunds
                FROM payment_facts
                WHERE tenant_id = :tenant AND paid_at >= :start AND paid_at < :end
                  AND (CAST(:owner AS text) IS NULL OR owner_id = :owner) {branch}
            )
            SELECT {select}, {counts}, sum(gross) - sum(refunds) AS revenue FROM parts GROUP BY {group}"""
        return await self._rows(sql, _params(scope))

    async def spend(self, scope: Scope) -> list[dict[str, Any]]:
        sql = """SELECT source, channel, amount, period_start, period_end FROM campaign_spend
                 WHERE tenant_id = :tenant AND period_start < :end AND period_end > :start"""
        return await self._rows(sql, _params(scope))

    async def visits(self, scope: Scope) -> list[dict[str, Any]]:
        """One row per patient with a curator: plans and payments of the period, open debt of all time."""
        sql = f"""
            WITH dl AS (
                SELECT d.deal_id, d.curator_id, d.curator_at,
                       COALESCE(d.patient_id, d.r_patient, d.r_lead, d.lead_id, 'phone:' || d.phone) AS person,
                       COALESCE(d.r_lead, d.lead_id) AS lead_id
                FROM {_resolved("deals")} d
                WHERE d.tenant_id = :tenant
            ),
            cur AS (
                SELECT DISTINCT ON (person) person, curator_id, lead_id FROM dl WHERE curator_id IS NOT NULL
                ORDER BY person, curator_at DESC, deal_id
            ),
            pl AS (
                SELECT dl.person,
                       sum(p.total) FILTER (WHERE p.created_at >= :start AND p.created_at < :end) AS total,
                       sum(p.total_before_discount)
                           FILTER (WHERE p.created_at >= :start AND p.created_at < :end) AS before,
                       count(*) FILTER (WHERE p.created_at >= :start AND p.created_at < :end) AS plans,
                       sum(p.total) AS all_total
                FROM plans p JOIN dl ON dl.deal_id = p.deal_id
                WHERE p.tenant_id = :tenant AND p.created_at IS NOT NULL
                GROUP BY dl.person
            ),
            pay AS (
                SELECT COALESCE(p.patient_id, p.r_patient, p.r_lead, p.lead_id, 'phone:' || p.phone) AS person,
                       sum(p.paid_amount - COALESCE(p.refunded_total, 0))
                           FILTER (WHERE p.paid_at >= :start AND p.paid_at < :end) AS paid,
                       sum(p.paid_amount - COALESCE(p.refunded_total, 0)) AS all_paid
                FROM {_resolved("payments")} p
                WHERE p.tenant_id = :tenant AND p.paid_at IS NOT NULL
                GROUP BY 1
            )
            SELECT cur.person, cur.curator_id, cur.lead_id, l.name, COALESCE(pl.plans, 0) AS plans,
                   COALESCE(pl.total, 0) AS treatment_sum, COALESCE(pl.before, 0) AS before_discounts,
                   COALESCE(pay.paid, 0) AS payments,
                   GREATEST(COALESCE(pl.all_total, 0) - COALESCE(pay.all_paid, 0), 0) AS open_debt
            FROM cur
            LEFT JOIN pl ON pl.person = cur.person
            LEFT JOIN pay ON pay.person = cur.person
            LEFT JOIN leads l ON l.tenant_id = :tenant AND l.lead_id = cur.lead_id
            WHERE (COALESCE(pl.plans, 0) > 0 OR COALESCE(pay.paid, 0) <> 0)
              AND (CAST(:owner AS text) IS NULL OR cur.curator_id = :owner)"""
        return await self._rows(sql, _params(scope))

    async def commission_rates(self, tenant_id: str) -> dict[str, Decimal]:
        sql = "SELECT curator_id, percent FROM commission_rates WHERE tenant_id = :tenant"
        return {r["curator_id"]: r["percent"] for r in await self._rows(sql, {"tenant": tenant_id})}

    async def attendance(self, scope: Scope, now: datetime) -> list[dict[str, Any]]:
        """Appointments of the period that were due by now and not cancelled before: channel, last reminder step."""
        sql = f"""
            SELECT a.appointment_id, (a.no_show_at IS NOT NULL) AS no_show, (a.arrived_at IS NOT NULL) AS arrived,
                   COALESCE(l.channel, 'none') AS channel,
                   (SELECT rm.offset_minutes FROM reminders rm
                     WHERE rm.tenant_id = a.tenant_id AND rm.appointment_id = a.appointment_id
                     ORDER BY rm.due_at DESC, rm.reminder_id LIMIT 1) AS last_step
            FROM {_resolved("appointments")} a
            LEFT JOIN leads l ON l.tenant_id = a.tenant_id AND l.lead_id = COALESCE(a.r_lead, a.lead_id)
            WHERE a.tenant_id = :tenant AND a.starts_at >= :start AND a.starts_at < :end AND a.starts_at < :now
              AND a.booked_at IS NOT NULL AND a.cancelled_at IS NULL
              AND (CAST(:branch AS text) IS NULL OR a.slot_branch_id = :branch)
              AND (CAST(:owner AS text) IS NULL OR l.owner_id = :owner)"""
        return await self._rows(sql, _params(scope, now=now))

    async def reminders(self, scope: Scope) -> list[dict[str, Any]]:
        """Each reminder of the period: its step, the lead's channel, and whether it got the confirmation
        (the appointment was confirmed after it and before the next reminder)."""
        sql = f"""
            SELECT rm.reminder_id, rm.offset_minutes AS step, COALESCE(l.channel, 'none') AS channel,
                   a.confirmed_via,
                   (a.confirmed_at IS NOT NULL AND a.confirmed_at >= rm.due_at AND NOT EXISTS (
                        SELECT 1 FROM reminders nx
                        WHERE nx.tenant_id = rm.tenant_id AND nx.appointment_id = rm.appointment_id
                          AND (nx.due_at, nx.reminder_id) > (rm.due_at, rm.reminder_id)
                          AND nx.due_at <= a.confirmed_at)) AS confirmed
            FROM reminders rm
            JOIN {_resolved("appointments")} a ON a.tenant_id = rm.tenant_id AND a.appointment_id = rm.appointment_id
            LEFT JOIN leads l ON l.tenant_id = a.tenant_id AND l.lead_id = COALESCE(a.r_lead, a.lead_id)
            WHERE rm.tenant_id = :tenant AND rm.due_at >= :start AND rm.due_at < :end
              AND (CAST(:branch AS text) IS NULL OR a.slot_branch_id = :branch)
              AND (CAST(:owner AS text) IS NULL OR l.owner_id = :owner)"""
        return await self._rows(sql, _params(scope))

    async def response_times(self, scope: Scope) -> list[dict[str, Any]]:
        """Leads of the period: who contacted them first and how many seconds after they arrived."""
        sql = f"""
            WITH base AS ({_LEAD_BASE})
            SELECT lead_id, COALESCE(first_contact_by, owner_id) AS agent_id, channel,
                   EXTRACT(EPOCH FROM (first_contact_at - created_at)) AS seconds
            FROM base"""
        return await self._rows(sql, _params(scope))

    async def ai_usage(self, scope: Scope, dims: tuple[str, ...]) -> list[dict[str, Any]]:
        """The reply assistant's requests of the period (agents: their own), how their suggestions were used,
        the tokens and cost, and how many used ones were followed by the person writing again in the conversation, a
        booking / a payment of the person's lead."""
        select, group = _group(dims, _AI_DIMS)
        sql = f"""
            WITH s AS (
                SELECT s.*, COALESCE(l.merged_into, s.lead_id) AS r_lead
                FROM suggestions s
                LEFT JOIN leads l ON l.tenant_id = s.tenant_id AND l.lead_id = s.lead_id
                WHERE s.tenant_id = :tenant AND s.suggested_at >= :start AND s.suggested_at < :end
                  AND (CAST(:owner AS text) IS NULL OR s.staff_id = :owner)
            ),
            appts AS (
                SELECT COALESCE(a.r_lead, a.lead_id) AS lead_id, max(a.booked_at) AS last_booked
                FROM {_resolved("appointments")} a
                WHERE a.tenant_id = :tenant AND a.booked_at IS NOT NULL
                GROUP BY 1
            ),
            paid AS (
                SELECT COALESCE(p.r_lead, p.lead_id) AS lead_id, max(p.paid_at) AS last_paid
                FROM {_resolved("payments")} p
                WHERE p.tenant_id = :tenant AND p.paid_at IS NOT NULL
                GROUP BY 1
            )
            SELECT {select}, count(*) AS requests, COALESCE(sum(s.offered), 0) AS suggestions,
                   count(s.used_at) AS used, count(*) FILTER (WHERE s."use" = 'as_is') AS as_is,
                   count(*) FILTER (WHERE s."use" = 'edited') AS edited,
                   COALESCE(sum(s.prompt_tokens), 0) AS prompt_tokens,
                   COALESCE(sum(s.completion_tokens), 0) AS completion_tokens, sum(s.cost) AS cost,
                   count(*) FILTER (WHERE s.used_at IS NOT NULL AND ap.last_booked >= s.used_at) AS booked,
                   count(*) FILTER (WHERE s.used_at IS NOT NULL AND pd.last_paid >= s.used_at) AS paid,
                   count(*) FILTER (WHERE s.used_at IS NOT NULL AND cv.last_received_at > s.used_at) AS replied
            FROM s
            LEFT JOIN appts ap ON ap.lead_id = s.r_lead
            LEFT JOIN paid pd ON pd.lead_id = s.r_lead
            LEFT JOIN conversations cv ON cv.tenant_id = s.tenant_id AND cv.conversation_id = s.conversation_id
            GROUP BY {group}"""
        return await self._rows(sql, _params(scope))

    async def names(self, tenant_id: str) -> dict[tuple[str, str], str]:
        sql = "SELECT kind, id, name FROM names WHERE tenant_id = :tenant"
        return {(r["kind"], r["id"]): r["name"] for r in await self._rows(sql, {"tenant": tenant_id})}
