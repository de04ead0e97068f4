"""Use cases of privacy: one unit of work each (publish events with `uow.publish(...)` before commit).

The repositories hang off the unit of work (`work.items`), so the use cases run against PostgreSQL
(`PrivacyUnitOfWork`) and, in the unit tests, an in-memory unit of work (docs/architecture.md, "Unit of work").
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from kit import context
from kit.auth import Principal
from kit.db import UnitOfWork, Work
from privacy.domain import Item, clean_title
from privacy.repository import ItemRepository


class ItemStore(Protocol):
    async def add(self, item: Item) -> None: ...
    async def page(self, tenant_id: str, *, limit: int, offset: int) -> tuple[list[Item], int]: ...


class PrivacyWork(Work, Protocol):
    items: ItemStore


PrivacyWorkFactory = Callable[[], PrivacyWork]


class PrivacyUnitOfWork(UnitOfWork):
    """kit's unit of work (PostgreSQL, the outbox) with privacy's repositories on its session."""

    items: ItemStore

    def opened(self, session: AsyncSession) -> None:
        self.items = ItemRepository(session)


async def add_item(uow: PrivacyWorkFactory, principal: Principal, title: str) -> Item:
    item = Item(
        id=context.new_id(),
        tenant_id=principal.tenant_id,
        title=clean_title(title),
        created_by=principal.user_id,
        created_at=datetime.now(UTC),
    )
    async with uow() as work:
        await work.items.add(item)
        await work.commit()
    return item


async def list_items(
    uow: PrivacyWorkFactory, principal: Principal, *, limit: int, offset: int
) -> tuple[list[Item], int]:
    async with uow() as work:
        return await work.items.page(principal.tenant_id, limit=limit, offset=offset)
