"""One conversation per person across channels: addresses, links to the lead, the last inbound per address."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import (
    conversation_addresses,
    conversations,
)
from notifications.repository.rows import _row


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(
        self, tenant_id: str, *, lead_id: str | None, patient_id: str | None, addresses: Sequence[tuple[str, str]]
    ) -> dict[str, Any] | None:
        """The person's conversation: by lead, else by patient, else by any of their addresses."""
        for column, value in ((conversations.c.lead_id, lead_id), (conversations.c.patient_id, patient_id)):
            if value:
                query = select(conversations).where(conversations.c.tenant_id == tenant_id, column == value).limit(1)
                row = (await self.session.execute(query)).first()
                if row:
                    return _row(row)
        if addresses:
            query = (
                select(conversations)
                .join(conversation_addresses, conversation_addresses.c.conversation_id == conversations.c.id)
                .where(
                    conversation_addresses.c.tenant_id == tenant_id,
                    tuple_(conversation_addresses.c.channel, conversation_addresses.c.address).in_(list(addresses)),
                )
                .limit(1)
            )
            row = (await self.session.execute(query)).first()
            if row:
                return _row(row)
        return None

    async def get(self, tenant_id: str, conversation_id: str) -> dict[str, Any] | None:
        query = select(conversations).where(
            conversations.c.tenant_id == tenant_id, conversations.c.id == conversation_id
        )
        row = (await self.session.execute(query)).first()
        return _row(row) if row else None

    async def create(
        self,
        conversation_id: str,
        tenant_id: str,
        *,
        lead_id: str | None,
        patient_id: str | None,
        name: str | None,
        now: datetime,
    ) -> None:
        await self.session.execute(
            conversations.insert().values(
                id=conversation_id,
                tenant_id=tenant_id,
                lead_id=lead_id,
                patient_id=patient_id,
                name=name,
                created_at=now,
                last_message_at=now,
            )
        )

    async def link(
        self, conversation_id: str, *, lead_id: str | None, patient_id: str | None, name: str | None
    ) -> None:
        values = {k: v for k, v in (("lead_id", lead_id), ("patient_id", patient_id), ("name", name)) if v}
        if values:
            await self.session.execute(
                update(conversations).where(conversations.c.id == conversation_id).values(values)
            )

    async def add_addresses(self, tenant_id: str, conversation_id: str, addresses: Sequence[tuple[str, str]]) -> None:
        if not addresses:
            return
        rows = [
            {"tenant_id": tenant_id, "channel": c, "address": a, "conversation_id": conversation_id}
            for c, a in addresses
        ]
        await self.session.execute(insert(conversation_addresses).values(rows).on_conflict_do_nothing())

    async def touch_inbound(
        self, tenant_id: str, channel: str, address: str, conversation_id: str, at: datetime
    ) -> None:
        stmt = insert(conversation_addresses).values(
            tenant_id=tenant_id, channel=channel, address=address, conversation_id=conversation_id, last_inbound_at=at
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["tenant_id", "channel", "address"],
                set_={"last_inbound_at": func.greatest(conversation_addresses.c.last_inbound_at, at)},
            )
        )
        await self.session.execute(
            update(conversations).where(conversations.c.id == conversation_id).values(last_message_at=at)
        )

    async def last_inbound(self, keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], datetime]:
        """(tenant, channel, address) -> when the person last wrote on it: one query for a batch."""
        wanted = list(set(keys))
        if not wanted:
            return {}
        c = conversation_addresses.c
        query = select(c.tenant_id, c.channel, c.address, c.last_inbound_at).where(
            tuple_(c.tenant_id, c.channel, c.address).in_(wanted), c.last_inbound_at.is_not(None)
        )
        return {(str(r[0]), r[1], r[2]): r[3] for r in (await self.session.execute(query)).all()}

    async def addresses(self, conversation_id: str) -> list[dict[str, Any]]:
        query = select(conversation_addresses).where(conversation_addresses.c.conversation_id == conversation_id)
        return [_row(r) for r in (await self.session.execute(query)).all()]

    async def for_person(self, tenant_id: str, *, lead_id: str | None, patient_id: str | None) -> list[dict[str, Any]]:
        conditions = []
        if lead_id:
            conditions.append(conversations.c.lead_id == lead_id)
        if patient_id:
            conditions.append(conversations.c.patient_id == patient_id)
        query = select(conversations).where(conversations.c.tenant_id == tenant_id)
        if conditions:
            query = query.where(or_(*conditions))
        query = query.order_by(conversations.c.last_message_at.desc()).limit(100)
        return [_row(r) for r in (await self.session.execute(query)).all()]
