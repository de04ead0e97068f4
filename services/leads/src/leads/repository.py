"""The only module of leads that builds queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from leads.domain import Lead
from leads.models import leads

#: Column keys of `leads`, each a field of `Lead` (iterating `leads.c` would yield Column objects).
_FIELDS: tuple[str, ...] = tuple(leads.c.keys())


def _to_lead(row: Any) -> Lead:
    return Lead(**{c: getattr(row, c) for c in _FIELDS})


class LeadRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, lead: Lead) -> None:
        values = {c: getattr(lead, c) for c in _FIELDS}
        await self.session.execute(leads.insert().values(**values))

    async def get(self, tenant_id: str, lead_id: str) -> Lead | None:
        row = (
            await self.session.execute(select(leads).where(leads.c.tenant_id == tenant_id, leads.c.id == lead_id))
        ).first()
        return _to_lead(row) if row else None

    async def page(self, tenant_id: str, *, limit: int, offset: int) -> tuple[list[Lead], int]:
        query = (
            select(leads)
            .where(leads.c.tenant_id == tenant_id)
            .order_by(leads.c.created_at.desc(), leads.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        rows = (await self.session.execute(query)).all()
        total = (
            await self.session.execute(select(func.count()).select_from(leads).where(leads.c.tenant_id == tenant_id))
        ).scalar_one()
        return [_to_lead(r) for r in rows], int(total)
