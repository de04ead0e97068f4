"""The only module of notifications that builds queries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.domain import QUEUED, SENDING, Message
from notifications.models import messages, templates

#: Column keys of `messages`, each a field of `Message` (iterating `messages.c` would yield Column objects).
_FIELDS: tuple[str, ...] = tuple(messages.c.keys())


def _to_message(row: Any) -> Message:
    return Message(**{c: getattr(row, c) for c in _FIELDS})


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, message: Message) -> None:
        await self.session.execute(messages.insert().values({c: getattr(message, c) for c in _FIELDS}))

    async def save(self, message: Message) -> None:
        values = {c: getattr(message, c) for c in _FIELDS if c not in ("id", "tenant_id")}
        await self.session.execute(update(messages).where(messages.c.id == message.id).values(values))

    async def claim_due(self, now: datetime, *, limit: int, stale_after: timedelta) -> list[Message]:
        """Lock due messages; SKIP LOCKED lets several workers dispatch side by side.

        A message left `sending` by a worker that died is due again after `stale_after`.
        """
        due = or_(
            and_(messages.c.status == QUEUED, messages.c.next_attempt_at <= now),
            and_(messages.c.status == SENDING, messages.c.updated_at <= now - stale_after),
        )
        query = (
            select(messages)
            .where(due)
            .order_by(messages.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [_to_message(r) for r in (await self.session.execute(query)).all()]

    async def get(self, message_id: str) -> Message | None:
        row = (await self.session.execute(select(messages).where(messages.c.id == message_id))).first()
        return _to_message(row) if row else None

    async def for_lead(self, tenant_id: str, lead_id: str) -> list[Message]:
        query = (
            select(messages)
            .where(messages.c.tenant_id == tenant_id, messages.c.lead_id == lead_id)
            .order_by(messages.c.created_at)
        )
        return [_to_message(r) for r in (await self.session.execute(query)).all()]


class TemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def body(self, tenant_id: str, name: str, locale: str, channel: str) -> str | None:
        query = select(templates.c.body).where(
            templates.c.tenant_id == tenant_id,
            templates.c.name == name,
            templates.c.locale == locale,
            templates.c.channel == channel,
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def all_for(self, tenant_id: str) -> dict[tuple[str, str, str], str]:
        rows = (await self.session.execute(select(templates).where(templates.c.tenant_id == tenant_id))).all()
        return {(r.name, r.locale, r.channel): r.body for r in rows}

    async def upsert(
        self, *, tenant_id: str, name: str, locale: str, channel: str, body: str, user_id: str, now: datetime
    ) -> None:
        stmt = insert(templates).values(
            tenant_id=tenant_id,
            name=name,
            locale=locale,
            channel=channel,
            body=body,
            updated_by=user_id,
            updated_at=now,
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["tenant_id", "name", "locale", "channel"],
                set_={"body": body, "updated_by": user_id, "updated_at": now},
            )
        )

    async def delete(self, *, tenant_id: str, name: str, locale: str, channel: str) -> bool:
        result = await self.session.execute(
            templates.delete().where(
                templates.c.tenant_id == tenant_id,
                templates.c.name == name,
                templates.c.locale == locale,
                templates.c.channel == channel,
            )
        )
        return bool(getattr(result, "rowcount", 0))
