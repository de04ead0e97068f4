"""Outbound messages: add once per dedupe key, save, lease the due ones (`SKIP LOCKED`), cancel, find."""

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from kit.dispatch import claim_due
from notifications.domain import CANCELLED, QUEUED, SENDING, Message
from notifications.models import (
    messages,
)
from notifications.repository.rows import _MUTABLE, _SAVE, _to_message, _values


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, message: Message) -> bool:
        """False when the event already made this rule's message for this recipient (the unique dedupe key)."""
        stmt = insert(messages).values(_values(message)).on_conflict_do_nothing().returning(messages.c.id)
        return (await self.session.execute(stmt)).first() is not None

    async def save(self, message: Message) -> None:
        await self.save_many([message])

    async def save_many(self, batch: Sequence[Message]) -> None:
        """One round trip for a whole batch of outcomes (executemany)."""
        if not batch:
            return
        rows = []
        for message in batch:
            values = _values(message)
            rows.append({"b_id": message.id, **{f"b_{c}": values[c] for c in _MUTABLE}})
        await self.session.execute(_SAVE, rows)

    async def claim_due(self, now: datetime, *, limit: int, lease: timedelta) -> list[Message]:
        """Lease a batch of due messages and mark them `sending` (the attempt counted) in one statement.

        kit.dispatch.claim_due: SKIP LOCKED and the lease keep other workers off them; a message whose round
        died (still `sending`) is due again when its lease has run out.
        """
        due = or_(and_(messages.c.status == QUEUED, messages.c.next_attempt_at <= now), messages.c.status == SENDING)
        rows = await claim_due(
            self.session,
            messages,
            due=due,
            now=now,
            lease=lease,
            limit=limit,
            order_by=[messages.c.next_attempt_at],
            values={"status": SENDING, "attempts": messages.c.attempts + 1, "updated_at": now},
        )
        return [_to_message(r) for r in rows]

    async def by_dedupe_key(self, tenant_id: str, dedupe_key: str) -> Message | None:
        """The message a key already made (ux_messages_dedupe): a repeated request answers with it."""
        query = select(messages).where(messages.c.tenant_id == tenant_id, messages.c.dedupe_key == dedupe_key)
        row = (await self.session.execute(query)).first()
        return _to_message(row) if row else None

    async def get(self, message_id: str) -> Message | None:
        row = (await self.session.execute(select(messages).where(messages.c.id == message_id))).first()
        return _to_message(row) if row else None

    async def by_provider_ids(self, ids: Iterable[str]) -> dict[str, Message]:
        wanted = list(set(ids))
        if not wanted:
            return {}
        query = select(messages).where(messages.c.provider_message_id.in_(wanted)).with_for_update()
        return {r.provider_message_id: _to_message(r) for r in (await self.session.execute(query)).all()}

    async def for_lead(self, tenant_id: str, lead_id: str) -> list[Message]:
        query = (
            select(messages)
            .where(messages.c.tenant_id == tenant_id, messages.c.lead_id == lead_id)
            .order_by(messages.c.created_at)
        )
        return [_to_message(r) for r in (await self.session.execute(query)).all()]

    async def for_conversation(self, tenant_id: str, conversation_id: str) -> list[Message]:
        query = select(messages).where(messages.c.tenant_id == tenant_id, messages.c.conversation_id == conversation_id)
        return [_to_message(r) for r in (await self.session.execute(query)).all()]

    async def cancel_waiting(self, tenant_id: str, subject: str, event_type: str, now: datetime) -> list[str]:
        """Cancel the delayed messages about `subject` whose rule is cancelled by `event_type`."""
        stmt = (
            update(messages)
            .where(
                messages.c.tenant_id == tenant_id,
                messages.c.cancel_key == subject,
                messages.c.status == QUEUED,
                messages.c.cancel_on.contains([event_type]),
            )
            .values(status=CANCELLED, updated_at=now, last_error=f"cancelled by {event_type}")
            .returning(messages.c.id)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def last_reminder(self, tenant_id: str, subject: str) -> Message | None:
        query = (
            select(messages)
            .where(
                messages.c.tenant_id == tenant_id,
                messages.c.cancel_key == subject,
                messages.c.event_type == "reminder.due",
                messages.c.sent_at.is_not(None),
                messages.c.recipient == "person",
            )
            .order_by(messages.c.sent_at.desc())
            .limit(1)
        )
        row = (await self.session.execute(query)).first()
        return _to_message(row) if row else None
