"""The reply assistant's settings, its suggestions and the past answers it learns from."""

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import (
    assistant_settings,
    reply_suggestions,
)
from notifications.repository.rows import _row


class AssistantRepository:
    """The clinic's reply assistant settings and the suggestions it made."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def settings(self, tenant_id: str) -> dict[str, Any] | None:
        query = select(assistant_settings).where(assistant_settings.c.tenant_id == tenant_id)
        row = (await self.session.execute(query)).first()
        return _row(row) if row else None

    async def put_settings(self, tenant_id: str, values: dict[str, Any]) -> None:
        stmt = insert(assistant_settings).values(tenant_id=tenant_id, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id"], set_=values))

    async def add_suggestion(self, **values: Any) -> None:
        await self.session.execute(insert(reply_suggestions).values(**values))

    async def suggestion(self, tenant_id: str, suggestion_id: str) -> dict[str, Any] | None:
        query = select(reply_suggestions).where(
            reply_suggestions.c.tenant_id == tenant_id, reply_suggestions.c.id == suggestion_id
        )
        row = (await self.session.execute(query)).first()
        return _row(row) if row else None

    async def past_answers(
        self, tenant_id: str, conversation_id: str, asked: str, *, limit: int, threshold: float
    ) -> list[dict[str, Any]]:
        """The clinic's messages from people most like `asked` (pg_trgm similarity of the lowercased texts, at
        least `threshold`), other conversations only, each with the first staff reply that followed it within two
        days, the names its conversation knows (to redact), and whether a booking confirmation came after."""
        await self.session.execute(text("SELECT set_config('pg_trgm.similarity_threshold', :t, true)"),
                                   {"t": str(threshold)})  # fmt: skip
        rows = await self.session.execute(_PAST_ANSWERS, {"tenant": tenant_id, "conversation": conversation_id,
                                                           "asked": asked.lower(), "limit": limit})  # fmt: skip
        return [dict(r) for r in rows.mappings().all()]


_PAST_ANSWERS = text(
    """
    SELECT i.id, i.text AS asked, i.sender_name, c.name AS conversation_name, o.body AS answer,
           similarity(lower(i.text), :asked) AS score,
           EXISTS (SELECT 1 FROM messages b
                   WHERE b.tenant_id = i.tenant_id AND b.conversation_id = i.conversation_id
                     AND b.template = 'appointment_booked' AND b.created_at >= o.created_at) AS booked
    FROM inbound_messages i
    JOIN conversations c ON c.id = i.conversation_id AND c.tenant_id = i.tenant_id
    JOIN LATERAL (
        SELECT m.body, m.created_at FROM messages m
        WHERE m.tenant_id = i.tenant_id AND m.conversation_id = i.conversation_id AND m.template = 'staff_reply'
          AND m.status NOT IN ('cancelled', 'failed') AND m.created_at > i.received_at
          AND m.created_at < i.received_at + interval '2 days'
        ORDER BY m.created_at LIMIT 1
    ) o ON TRUE
    WHERE i.tenant_id = CAST(:tenant AS uuid) AND i.conversation_id <> CAST(:conversation AS uuid)
      AND i.text IS NOT NULL AND lower(i.text) % :asked
    ORDER BY score DESC, i.received_at DESC
    LIMIT :limit
    """
)
