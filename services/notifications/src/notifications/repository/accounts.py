"""The clinics' provider accounts that route inbound messages to them."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import (
    channel_accounts,
)
from notifications.repository.rows import _row


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tenant_for(self, channel: str, account_id: str | None) -> str | None:
        if not account_id:
            return None
        query = select(channel_accounts.c.tenant_id).where(
            channel_accounts.c.channel == channel, channel_accounts.c.account_id == account_id
        )
        found = (await self.session.execute(query)).scalar_one_or_none()
        return str(found) if found else None

    async def upsert(self, channel: str, account_id: str, tenant_id: str, now: datetime) -> bool:
        """False when the account already serves another clinic."""
        values = insert(channel_accounts).values(
            channel=channel, account_id=account_id, tenant_id=tenant_id, updated_at=now
        )
        stmt = values.on_conflict_do_update(
            index_elements=["channel", "account_id"],
            set_={"updated_at": now},
            where=channel_accounts.c.tenant_id == tenant_id,
        ).returning(channel_accounts.c.account_id)
        return (await self.session.execute(stmt)).first() is not None

    async def for_tenant(self, tenant_id: str) -> list[dict[str, Any]]:
        query = select(channel_accounts).where(channel_accounts.c.tenant_id == tenant_id)
        return [_row(r) for r in (await self.session.execute(query)).all()]
