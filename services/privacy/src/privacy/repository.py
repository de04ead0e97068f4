"""The only module of privacy that builds queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from privacy.domain import Item
from privacy.models import items


def _to_item(row: Any) -> Item:
    return Item(
        id=row.id, tenant_id=row.tenant_id, title=row.title, created_by=row.created_by, created_at=row.created_at
    )


class ItemRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, item: Item) -> None:
        await self.session.execute(
            items.insert().values(
                id=item.id,
                tenant_id=item.tenant_id,
                title=item.title,
                created_by=item.created_by,
                created_at=item.created_at,
            )
        )

    async def page(self, tenant_id: str, *, limit: int, offset: int) -> tuple[list[Item], int]:
        mine = items.c.tenant_id == tenant_id
        total = (await self.session.execute(select(func.count()).select_from(items).where(mine))).scalar_one()
        query = select(items).where(mine).order_by(items.c.created_at.desc(), items.c.id).limit(limit).offset(offset)
        return [_to_item(r) for r in (await self.session.execute(query)).all()], total
