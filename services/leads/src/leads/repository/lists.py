"""Queries on the clinic-configurable lists and the clinic's intake settings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.context import new_id
from leads.domain.lists import DEFAULTS, ListItem
from leads.models import lead_requests, leads, list_items, settings

_IN_USE = {  # which column holds a slug of each kind
    "source": (leads, leads.c.source),
    "group": (lead_requests, lead_requests.c.group),
    "treatment": (lead_requests, lead_requests.c.treatment),
    "channel": (lead_requests, lead_requests.c.channel),
    "request_status": (lead_requests, lead_requests.c.status),
}


def _item(row: Any) -> ListItem:
    return ListItem(
        id=row.id,
        tenant_id=row.tenant_id,
        kind=row.kind,
        slug=row.slug,
        label=row.label,
        color=row.color,
        position=row.position,
        active=row.active,
    )


class ListRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def seed(self, tenant_id: str) -> None:
        """A clinic's lists start as the defaults, written on its first use (idempotent)."""
        seeded = (await self.session.execute(select(exists().where(list_items.c.tenant_id == tenant_id)))).scalar()
        if seeded:
            return
        now = datetime.now(UTC)
        rows = [
            {
                "id": new_id(),
                "tenant_id": tenant_id,
                "kind": kind,
                "slug": slug,
                "label": label,
                "color": color,
                "position": position,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for kind, items in DEFAULTS.items()
            for position, (slug, label, color) in enumerate(items)
        ]
        await self.session.execute(insert(list_items).values(rows).on_conflict_do_nothing())

    async def items(self, tenant_id: str, kind: str, *, active_only: bool = False) -> list[ListItem]:
        await self.seed(tenant_id)
        query = select(list_items).where(list_items.c.tenant_id == tenant_id, list_items.c.kind == kind)
        if active_only:
            query = query.where(list_items.c.active.is_(True))
        query = query.order_by(list_items.c.position, list_items.c.label)
        return [_item(r) for r in (await self.session.execute(query)).all()]

    async def labels(self, tenant_id: str, kind: str) -> dict[str, str]:
        """slug -> label of the active items: what new data may use."""
        return {i.slug: i.label for i in await self.items(tenant_id, kind, active_only=True)}

    async def get(self, tenant_id: str, kind: str, item_id: str) -> ListItem | None:
        row = (
            await self.session.execute(
                select(list_items).where(
                    list_items.c.tenant_id == tenant_id, list_items.c.kind == kind, list_items.c.id == item_id
                )
            )
        ).first()
        return _item(row) if row else None

    async def slug_taken(self, tenant_id: str, kind: str, slug: str) -> bool:
        return bool(
            (
                await self.session.execute(
                    select(
                        exists().where(
                            list_items.c.tenant_id == tenant_id, list_items.c.kind == kind, list_items.c.slug == slug
                        )
                    )
                )
            ).scalar()
        )

    async def next_position(self, tenant_id: str, kind: str) -> int:
        top = (
            await self.session.execute(
                select(func.max(list_items.c.position)).where(
                    list_items.c.tenant_id == tenant_id, list_items.c.kind == kind
                )
            )
        ).scalar()
        return 0 if top is None else int(top) + 1

    async def add(self, item: ListItem) -> None:
        now = datetime.now(UTC)
        await self.session.execute(
            list_items.insert().values(
                id=item.id,
                tenant_id=item.tenant_id,
                kind=item.kind,
                slug=item.slug,
                label=item.label,
                color=item.color,
                position=item.position,
                active=item.active,
                created_at=now,
                updated_at=now,
            )
        )

    async def save(self, item: ListItem) -> None:
        await self.session.execute(
            update(list_items)
            .where(list_items.c.id == item.id)
            .values(
                label=item.label,
                color=item.color,
                position=item.position,
                active=item.active,
                updated_at=datetime.now(UTC),
            )
        )

    async def reorder(self, tenant_id: str, kind: str, ids: list[str]) -> None:
        for position, item_id in enumerate(ids):
            await self.session.execute(
                update(list_items)
                .where(
                    list_items.c.tenant_id == tenant_id,
                    list_items.c.kind == kind,
                    list_items.c.id == item_id,
                )
                .values(position=position, updated_at=datetime.now(UTC))
            )

    async def in_use(self, tenant_id: str, kind: str, slug: str) -> bool:
        if kind not in _IN_USE:
            return False
        table, column = _IN_USE[kind]
        return bool(
            (
                await self.session.execute(select(exists().where(table.c.tenant_id == tenant_id, column == slug)))
            ).scalar()
        )

    async def delete(self, item: ListItem) -> None:
        await self.session.execute(list_items.delete().where(list_items.c.id == item.id))

    async def dedupe_window_days(self, tenant_id: str) -> int:
        value = (
            await self.session.execute(select(settings.c.dedupe_window_days).where(settings.c.tenant_id == tenant_id))
        ).scalar()
        return 30 if value is None else int(value)

    async def set_dedupe_window_days(self, tenant_id: str, days: int) -> None:
        stmt = insert(settings).values(tenant_id=tenant_id, dedupe_window_days=days, updated_at=datetime.now(UTC))
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["tenant_id"], set_={"dedupe_window_days": days, "updated_at": datetime.now(UTC)}
            )
        )
