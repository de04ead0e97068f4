"""Storing patches: lock the row (made when missing), merge in Python by the domain's rules, write it back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics.domain import Patch, Projection, derive, merge
from analytics.models import PROJECTION_TABLES


class ProjectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, projection: Projection, patch: Patch) -> None:
        table = PROJECTION_TABLES[projection.table]
        key = dict(patch.key)
        # A no-op upsert both makes a missing row and locks an existing one, and returns it: one round trip.
        first = next(iter(key))
        upsert = (
            insert(table)
            .values(**key)
            .on_conflict_do_update(index_elements=list(key), set_={first: key[first]})
            .returning(*table.c)
        )
        row = (await self.session.execute(upsert)).mappings().one()
        current = dict(row)
        merged = derive(projection, merge(projection, current, patch.values))
        changes = {c: v for c, v in merged.items() if current.get(c) != v}
        if changes:
            where = [table.c[k] == v for k, v in key.items()]
            await self.session.execute(table.update().where(*where).values(**changes))

    async def row(self, table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
        table = PROJECTION_TABLES[table_name]
        query = table.select().where(*[table.c[k] == v for k, v in key.items()])
        found = (await self.session.execute(query)).mappings().first()
        return dict(found) if found else None

    async def clear(self, consumers: list[str]) -> None:
        """Empty every projection table and forget what the given consumers handled (the rebuild)."""
        names = ", ".join(PROJECTION_TABLES)
        await self.session.execute(text(f"TRUNCATE {names}"))
        await self.session.execute(text("DELETE FROM inbox WHERE consumer = ANY(:names)"), {"names": consumers})
