"""Storing patches: lock the row (made when missing), merge in Python by the domain's rules, write it back."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from analytics.domain import Patch, Projection, derive, merge, merge_all
from analytics.models import DERIVED_TABLES, PROJECTION_TABLES
from analytics.repository import bulk

Row = dict[str, Any]


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

    async def apply_many(self, projection: Projection, patches: list[Patch]) -> list[tuple[Row, Row]]:
        """A batch's patches of one table: one statement locks (or makes) all their rows, one writes the merged
        ones back. Patches of one row are merged first (the rules are associative). Returns (old, new) of each
        row that changed."""
        if not patches:
            return []
        table = PROJECTION_TABLES[projection.table]
        keys = projection.key
        by_key: dict[tuple[Any, ...], list[Patch]] = {}
        for patch in patches:
            by_key.setdefault(tuple(patch.key[k] for k in keys), []).append(patch)
        ordered = sorted(by_key)  # one lock order for every batch
        found = await bulk.upsert(
            self.session,
            table,
            [dict(zip(keys, k, strict=True)) for k in ordered],
            conflict=keys,
            update=f"{keys[0]} = EXCLUDED.{keys[0]}",  # a no-op that locks the row
            returning=True,
        )
        current = {tuple(r[k] for k in keys): r for r in found}
        changed: list[tuple[Row, Row]] = []
        for k in ordered:
            old = current[k]
            combined = merge_all(projection, [p.values for p in by_key[k]])
            new = {**old, **derive(projection, merge(projection, old, combined))}
            if any(old.get(c) != v for c, v in new.items()):
                changed.append((old, new))
        await bulk.upsert(self.session, table, [new for _, new in changed], conflict=keys)
        return changed

    async def row(self, table_name: str, key: dict[str, Any]) -> dict[str, Any] | None:
        table = PROJECTION_TABLES[table_name]
        query = table.select().where(*[table.c[k] == v for k, v in key.items()])
        found = (await self.session.execute(query)).mappings().first()
        return dict(found) if found else None

    async def clear(self, consumers: list[str]) -> None:
        """Empty every projection table and forget what the given consumers handled (the rebuild)."""
        names = ", ".join([*PROJECTION_TABLES, *DERIVED_TABLES])
        await self.session.execute(text(f"TRUNCATE {names}"))
        await self.session.execute(text("DELETE FROM inbox WHERE consumer = ANY(:names)"), {"names": consumers})
