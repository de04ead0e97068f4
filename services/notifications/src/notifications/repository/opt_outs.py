"""Channel opt-outs per clinic, channel and address (checked for every batch before sending)."""

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import (
    opt_outs,
)
from notifications.repository.rows import _row


class OptOutRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, tenant_id: str, channel: str, address: str, source: str, now: datetime) -> None:
        stmt = insert(opt_outs).values(
            tenant_id=tenant_id, channel=channel, address=address, source=source, created_at=now
        )
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def remove(self, tenant_id: str, channel: str, address: str) -> bool:
        result = await self.session.execute(
            opt_outs.delete().where(
                opt_outs.c.tenant_id == tenant_id, opt_outs.c.channel == channel, opt_outs.c.address == address
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def list(self, tenant_id: str) -> list[dict[str, Any]]:
        query = select(opt_outs).where(opt_outs.c.tenant_id == tenant_id).order_by(opt_outs.c.created_at)
        return [_row(r) for r in (await self.session.execute(query)).all()]

    async def opted_out(self, keys: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        """Of (tenant, channel, address) triples, those that withdrew consent: one query for a batch."""
        wanted = list(set(keys))
        if not wanted:
            return set()
        query = select(opt_outs.c.tenant_id, opt_outs.c.channel, opt_outs.c.address).where(
            tuple_(opt_outs.c.tenant_id, opt_outs.c.channel, opt_outs.c.address).in_(wanted)
        )
        return {(str(r[0]), r[1], r[2]) for r in (await self.session.execute(query)).all()}
