"""Staff's in-app notifications and who read them."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import (
    inapp_notifications,
    inapp_reads,
)
from notifications.repository.rows import _row


class InAppRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            await self.session.execute(insert(inapp_notifications).values(list(rows)).on_conflict_do_nothing())

    @staticmethod
    def _audiences(user_id: str, roles: Sequence[str]) -> list[str]:
        return [f"user:{user_id}", *(f"role:{r}" for r in roles)]

    async def list(
        self, tenant_id: str, user_id: str, roles: Sequence[str], *, unread_only: bool, limit: int
    ) -> list[dict[str, Any]]:
        read = (
            select(inapp_reads.c.read_at)
            .where(inapp_reads.c.notification_id == inapp_notifications.c.id, inapp_reads.c.user_id == user_id)
            .scalar_subquery()
        )
        query = select(inapp_notifications, read.label("read_at")).where(
            inapp_notifications.c.tenant_id == tenant_id,
            inapp_notifications.c.audience.in_(self._audiences(user_id, roles)),
        )
        if unread_only:
            query = query.where(read.is_(None))
        query = query.order_by(inapp_notifications.c.created_at.desc()).limit(limit)
        return [_row(r) for r in (await self.session.execute(query)).all()]

    async def unread(self, tenant_id: str, user_id: str, roles: Sequence[str]) -> int:
        read = select(literal(1)).where(
            inapp_reads.c.notification_id == inapp_notifications.c.id, inapp_reads.c.user_id == user_id
        )
        query = select(func.count()).where(
            inapp_notifications.c.tenant_id == tenant_id,
            inapp_notifications.c.audience.in_(self._audiences(user_id, roles)),
            ~read.exists(),
        )
        return int((await self.session.execute(query)).scalar_one())

    async def mark_read(
        self, tenant_id: str, user_id: str, roles: Sequence[str], ids: Sequence[str] | None, now: datetime
    ) -> int:
        visible = select(
            inapp_notifications.c.id,
            literal(user_id, type_=inapp_reads.c.user_id.type),
            literal(now, type_=inapp_reads.c.read_at.type),
        ).where(
            inapp_notifications.c.tenant_id == tenant_id,
            inapp_notifications.c.audience.in_(self._audiences(user_id, roles)),
        )
        if ids is not None:
            visible = visible.where(inapp_notifications.c.id.in_(list(ids)))
        stmt = (
            insert(inapp_reads)
            .from_select(["notification_id", "user_id", "read_at"], visible)
            .on_conflict_do_nothing()
            .returning(inapp_reads.c.notification_id)
        )
        return len((await self.session.execute(stmt)).all())
