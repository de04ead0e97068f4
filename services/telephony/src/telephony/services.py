"""Use cases of telephony: one unit of work each (publish events with `uow.publish(...)` before commit)."""

from __future__ import annotations

from datetime import UTC, datetime

from kit import context
from kit.auth import Principal
from kit.db import UnitOfWorkFactory
from telephony.domain import Item, clean_title
from telephony.repository import ItemRepository


async def add_item(uow: UnitOfWorkFactory, principal: Principal, title: str) -> Item:
    item = Item(
        id=context.new_id(),
        tenant_id=principal.tenant_id,
        title=clean_title(title),
        created_by=principal.user_id,
        created_at=datetime.now(UTC),
    )
    async with uow() as work:
        await ItemRepository(work.session).add(item)
        await work.commit()
    return item


async def list_items(
    uow: UnitOfWorkFactory, principal: Principal, *, limit: int, offset: int
) -> tuple[list[Item], int]:
    async with uow() as work:
        return await ItemRepository(work.session).page(principal.tenant_id, limit=limit, offset=offset)
