"""notifications' copy of the people leads describes (name, phones, e-mail, locale, owner)."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import (
    contacts,
)
from notifications.repository.rows import _row


class ContactRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, tenant_id: str, lead_id: str, now: datetime, **values: Any) -> None:
        values = {k: v for k, v in values.items() if v is not None}
        stmt = insert(contacts).values(lead_id=lead_id, tenant_id=tenant_id, updated_at=now, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["lead_id"], set_={**values, "updated_at": now})
        )

    async def set_owner(self, tenant_id: str, lead_id: str, owner_id: str | None, now: datetime) -> None:
        stmt = insert(contacts).values(lead_id=lead_id, tenant_id=tenant_id, owner_id=owner_id, updated_at=now)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["lead_id"], set_={"owner_id": owner_id, "updated_at": now})
        )

    async def get(self, tenant_id: str, lead_id: str) -> dict[str, Any] | None:
        query = select(contacts).where(contacts.c.tenant_id == tenant_id, contacts.c.lead_id == lead_id)
        row = (await self.session.execute(query)).first()
        return _row(row) if row else None
