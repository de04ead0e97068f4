"""Queries on the clinic's lead-status styles (colour, order, own name)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leads.domain.statuses import StatusStyle
from leads.models import lead_statuses


class StatusStyleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_clinic(self, tenant_id: str) -> dict[str, StatusStyle]:
        rows = (await self.session.execute(select(lead_statuses).where(lead_statuses.c.tenant_id == tenant_id))).all()
        return {r.status: StatusStyle(r.status, r.label, r.color, r.position) for r in rows}

    async def save(self, tenant_id: str, styles: list[StatusStyle]) -> None:
        if not styles:
            return
        now = datetime.now(UTC)
        stmt = insert(lead_statuses).values(
            [
                {
                    "tenant_id": tenant_id,
                    "status": s.status,
                    "label": s.label,
                    "color": s.color,
                    "position": s.position,
                    "updated_at": now,
                }
                for s in styles
            ]
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["tenant_id", "status"],
                set_={
                    "label": stmt.excluded.label,
                    "color": stmt.excluded.color,
                    "position": stmt.excluded.position,
                    "updated_at": stmt.excluded.updated_at,
                },
            )
        )
