"""The console's dashboard panels: one count and one detail query each, scoped like the reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from analytics.repository.reports import _resolved


def _owner(column: str) -> str:
    return f"(CAST(:owner AS text) IS NULL OR {column} = :owner)"


def _lead_of(table: str) -> str:
    return f"""{_resolved(table)} a
    LEFT JOIN leads l ON l.tenant_id = a.tenant_id AND l.lead_id = COALESCE(a.r_lead, a.lead_id)"""


#: panel -> (FROM ... WHERE ..., the detail's columns, its order). :day_start/:day_end is today,
#: :tomorrow_start/:tomorrow_end tomorrow (the clinic's days), :now the instant.
PANELS: dict[str, tuple[str, str, str]] = {
    "new_leads": (
        f"""FROM leads l WHERE l.tenant_id = :tenant AND l.created_at >= :day_start AND l.created_at < :day_end
            AND l.deleted_at IS NULL AND l.merged_into IS NULL AND {_owner("l.owner_id")}""",
        "l.lead_id, l.name, l.channel, l.source, l.status, l.created_at AS at",
        "l.created_at DESC, l.lead_id",
    ),
    "follow_ups_today": (
        f"""FROM tasks t WHERE t.tenant_id = :tenant AND t.due_at >= :day_start AND t.due_at < :day_end
            AND t.completed_at IS NULL AND t.cancelled_at IS NULL AND t.created_at IS NOT NULL
            AND {_owner("t.responsible_id")}""",
        "t.task_id, t.lead_id, t.deal_id, t.origin, t.kind, t.title, t.responsible_id, t.due_at AS at",
        "t.due_at, t.task_id",
    ),
    "overdue_tasks": (
        f"""FROM tasks t WHERE t.tenant_id = :tenant AND t.due_at < :now
            AND t.completed_at IS NULL AND t.cancelled_at IS NULL AND t.created_at IS NOT NULL
            AND {_owner("t.responsible_id")}""",
        "t.task_id, t.lead_id, t.deal_id, t.origin, t.kind, t.title, t.responsible_id, t.due_at AS at",
        "t.due_at, t.task_id",
    ),
    "unconfirmed_tomorrow": (
        f"""FROM {_lead_of("appointments")}
            WHERE a.tenant_id = :tenant AND a.starts_at >= :tomorrow_start AND a.starts_at < :tomorrow_end
            AND a.booked_at IS NOT NULL AND a.confirmed_at IS NULL AND a.cancelled_at IS NULL
            AND {_owner("l.owner_id")}""",
        "a.appointment_id, COALESCE(a.r_lead, a.lead_id) AS lead_id, l.name, a.phone, "
        "a.slot_professional_id AS professional_id, a.starts_at AS at",
        "a.starts_at, a.appointment_id",
    ),
    "patients_waiting": (
        f"""FROM {_lead_of("appointments")}
            WHERE a.tenant_id = :tenant AND a.arrived_at >= :day_start AND a.arrived_at < :day_end
            AND a.visit_started_at IS NULL AND a.completed_at IS NULL AND a.cancelled_at IS NULL
            AND a.no_show_at IS NULL AND {_owner("l.owner_id")}""",
        "a.appointment_id, COALESCE(a.r_lead, a.lead_id) AS lead_id, l.name, "
        "a.slot_professional_id AS professional_id, a.arrived_at AS at",
        "a.arrived_at, a.appointment_id",
    ),
    "payments_today": (
        f"""FROM {_lead_of("payments")}
            WHERE a.tenant_id = :tenant AND a.paid_at >= :day_start AND a.paid_at < :day_end
            AND {_owner("l.owner_id")}""",
        "a.payment_id, COALESCE(a.r_lead, a.lead_id) AS lead_id, l.name, a.paid_amount AS amount, a.currency, "
        "a.method, a.paid_at AS at",
        "a.paid_at DESC, a.payment_id",
    ),
}


class DashboardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def counts(self, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
        parts = []
        for name, (source, _, _) in PANELS.items():
            amount = "COALESCE(sum(a.paid_amount), 0)" if name == "payments_today" else "CAST(NULL AS numeric)"
            parts.append(f"SELECT '{name}' AS panel, count(*) AS count, {amount} AS amount {source}")
        rows = (await self.session.execute(text(" UNION ALL ".join(parts)), params)).mappings().all()
        return {r["panel"]: {"count": r["count"], "amount": r["amount"]} for r in rows}

    async def detail(self, panel: str, params: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        source, columns, order = PANELS[panel]
        sql = f"SELECT {columns} {source} ORDER BY {order} LIMIT :limit"
        return [dict(r) for r in (await self.session.execute(text(sql), {**params, "limit": limit})).mappings()]


def window(tenant_id: str, owner: str | None, now: datetime, today: tuple[datetime, datetime],
           tomorrow: tuple[datetime, datetime]) -> dict[str, Any]:  # fmt: skip
    return {
        "tenant": tenant_id,
        "owner": owner,
        "now": now,
        "day_start": today[0],
        "day_end": today[1],
        "tomorrow_start": tomorrow[0],
        "tomorrow_end": tomorrow[1],
    }
