"""The clinic's time zone, locale and quiet hours."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.domain import QuietHours
from notifications.models import (
    clinic_settings,
)
from notifications.repository.rows import _row


class SettingsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, tenant_id: str) -> dict[str, Any] | None:
        row = (
            await self.session.execute(select(clinic_settings).where(clinic_settings.c.tenant_id == tenant_id))
        ).first()
        return _row(row) if row else None

    async def upsert(
        self, tenant_id: str, *, timezone: str, locale: str, quiet: QuietHours | None, now: datetime
    ) -> None:
        values = {
            "timezone": timezone,
            "locale": locale,
            "quiet_start": quiet.start.strftime("%H:%M") if quiet else None,
            "quiet_end": quiet.end.strftime("%H:%M") if quiet else None,
            "updated_at": now,
        }
        stmt = insert(clinic_settings).values(tenant_id=tenant_id, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id"], set_=values))
