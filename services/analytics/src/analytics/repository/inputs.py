"""What staff enter in analytics: source corrections, campaign spend, commission rates (kept by a rebuild)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics.models import campaign_spend, commission_rates, leads, names, source_corrections


class InputRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lead(self, tenant_id: str, lead_id: str) -> dict[str, Any] | None:
        fix = source_corrections
        joined = leads.outerjoin(fix, (fix.c.tenant_id == leads.c.tenant_id) & (fix.c.lead_id == leads.c.lead_id))
        query = (
            select(
                leads.c.lead_id,
                leads.c.source,
                leads.c.owner_id,
                leads.c.created_at,
                fix.c.source.label("corrected"),
                fix.c.corrected_by,
                fix.c.corrected_at,
                fix.c.note,
            )
            .select_from(joined)
            .where(leads.c.tenant_id == tenant_id, leads.c.lead_id == lead_id, leads.c.created_at.is_not(None))
        )
        row = (await self.session.execute(query)).mappings().first()
        return dict(row) if row else None

    async def correct_source(
        self, tenant_id: str, lead_id: str, source: str, note: str | None, by: str, at: datetime
    ) -> None:
        values = {"source": source, "note": note, "corrected_by": by, "corrected_at": at}
        await self.session.execute(
            insert(source_corrections)
            .values(tenant_id=tenant_id, lead_id=lead_id, **values)
            .on_conflict_do_update(index_elements=["tenant_id", "lead_id"], set_=values)
        )

    async def clear_correction(self, tenant_id: str, lead_id: str) -> bool:
        result = await self.session.execute(
            delete(source_corrections).where(
                source_corrections.c.tenant_id == tenant_id, source_corrections.c.lead_id == lead_id
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def add_spend(self, row: dict[str, Any]) -> None:
        await self.session.execute(campaign_spend.insert().values(**row))

    async def spend(self, tenant_id: str, *, limit: int, offset: int) -> list[dict[str, Any]]:
        query = (
            select(campaign_spend)
            .where(campaign_spend.c.tenant_id == tenant_id)
            .order_by(campaign_spend.c.period_start.desc(), campaign_spend.c.id)
            .limit(limit)
            .offset(offset)
        )
        return [dict(r) for r in (await self.session.execute(query)).mappings()]

    async def spend_count(self, tenant_id: str) -> int:
        query = select(func.count()).select_from(campaign_spend).where(campaign_spend.c.tenant_id == tenant_id)
        return int((await self.session.execute(query)).scalar_one())

    async def delete_spend(self, tenant_id: str, spend_id: str) -> bool:
        result = await self.session.execute(
            delete(campaign_spend).where(campaign_spend.c.tenant_id == tenant_id, campaign_spend.c.id == spend_id)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def set_commission(self, tenant_id: str, curator_id: str, percent: Decimal, by: str, at: datetime) -> None:
        values = {"percent": percent, "set_by": by, "set_at": at}
        await self.session.execute(
            insert(commission_rates)
            .values(tenant_id=tenant_id, curator_id=curator_id, **values)
            .on_conflict_do_update(index_elements=["tenant_id", "curator_id"], set_=values)
        )

    async def is_staff(self, tenant_id: str, user_id: str) -> bool:
        """A member of the clinic's staff directory (the gateway's staff events, kept as names), active or not:
        a former curator's rate still prices the periods they worked."""
        query = select(names.c.id).where(names.c.tenant_id == tenant_id, names.c.kind == "staff", names.c.id == user_id)
        return (await self.session.execute(query.limit(1))).first() is not None

    async def commissions(self, tenant_id: str) -> list[dict[str, Any]]:
        query = (
            select(commission_rates)
            .where(commission_rates.c.tenant_id == tenant_id)
            .order_by(commission_rates.c.curator_id)
        )
        return [dict(r) for r in (await self.session.execute(query)).mappings()]
