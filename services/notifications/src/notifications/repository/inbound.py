"""What people wrote (and sent): stored once per provider id; media waiting for the worker to fetch them."""

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import (
    inbound_messages,
)
from notifications.repository.rows import _row


class InboundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, **values: Any) -> bool:
        stmt = insert(inbound_messages).values(**values).on_conflict_do_nothing().returning(inbound_messages.c.id)
        return (await self.session.execute(stmt)).first() is not None

    async def for_conversation(self, conversation_id: str) -> list[dict[str, Any]]:
        query = select(inbound_messages).where(inbound_messages.c.conversation_id == conversation_id)
        return [_row(r) for r in (await self.session.execute(query)).all()]

    async def due_media(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        """Messages whose media are due to be fetched, locked for this transaction (another worker skips them)."""
        query = (
            select(inbound_messages)
            .where(inbound_messages.c.pending_event.is_not(None), inbound_messages.c.media_due_at <= now)
            .order_by(inbound_messages.c.media_due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_row(r) for r in (await self.session.execute(query)).all()]

    async def hold_for_media(self, inbound_id: str, pending: dict[str, Any], due_at: datetime) -> None:
        """The message's media are to be fetched by the worker; `pending` is published after."""
        await self.session.execute(
            update(inbound_messages)
            .where(inbound_messages.c.id == inbound_id)
            .values(pending_event=pending, media_attempts=0, media_due_at=due_at)
        )

    async def media_fetched(self, inbound_id: str, media: list[dict[str, Any]]) -> None:
        await self.session.execute(
            update(inbound_messages)
            .where(inbound_messages.c.id == inbound_id)
            .values(media=media, pending_event=None, media_due_at=None)
        )

    async def media_retry(self, inbound_id: str, attempts: int, due_at: datetime) -> None:
        await self.session.execute(
            update(inbound_messages)
            .where(inbound_messages.c.id == inbound_id)
            .values(media_attempts=attempts, media_due_at=due_at)
        )
