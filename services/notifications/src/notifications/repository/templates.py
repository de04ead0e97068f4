"""The clinic's own template texts per name, locale and channel."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.models import (
    templates,
)
from notifications.repository.rows import _row


class TemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, tenant_id: str, name: str, locales: Sequence[str], channel: str) -> dict[str, Any] | None:
        """The clinic's own text for the first of `locales` it has, on this channel."""
        query = select(templates).where(
            templates.c.tenant_id == tenant_id,
            templates.c.name == name,
            templates.c.locale.in_(list(locales)),
            templates.c.channel == channel,
        )
        found = {r.locale: _row(r) for r in (await self.session.execute(query)).all()}
        return next((found[loc] for loc in locales if loc in found), None)

    async def body(self, tenant_id: str, name: str, locale: str, channel: str) -> str | None:
        row = await self.find(tenant_id, name, [locale], channel)
        return row["body"] if row else None

    async def all_for(self, tenant_id: str) -> list[dict[str, Any]]:
        rows = (await self.session.execute(select(templates).where(templates.c.tenant_id == tenant_id))).all()
        return [_row(r) for r in rows]

    async def upsert(
        self,
        *,
        tenant_id: str,
        name: str,
        locale: str,
        channel: str,
        body: str,
        user_id: str,
        now: datetime,
        subject: str | None = None,
        wa_template: str | None = None,
    ) -> None:
        values = {
            "body": body,
            "subject": subject,
            "wa_template": wa_template,
            "updated_by": user_id,
            "updated_at": now,
        }
        stmt = insert(templates).values(tenant_id=tenant_id, name=name, locale=locale, channel=channel, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=["tenant_id", "name", "locale", "channel"], set_=values)
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
