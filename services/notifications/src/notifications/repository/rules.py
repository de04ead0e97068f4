"""The clinic's own rules (and changed defaults)."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from notifications.domain import Rule
from notifications.models import (
    rules,
)


def _to_rule(row: Any) -> Rule:
    return Rule(
        key=row.key,
        event_type=row.event_type,
        template=row.template,
        channels=tuple(row.channels),
        recipient=row.recipient,
        conditions=dict(row.conditions),
        delay_seconds=row.delay_seconds,
        quiet_hours=row.quiet_hours,
        cancel_on=tuple(row.cancel_on),
        enabled=row.enabled,
    )


class RuleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_tenant(self, tenant_id: str) -> dict[str, Rule]:
        query = select(rules).where(rules.c.tenant_id == tenant_id)
        return {r.key: _to_rule(r) for r in (await self.session.execute(query)).all()}

    async def upsert(self, tenant_id: str, rule: Rule, user_id: str, now: datetime) -> None:
        values = {
            "event_type": rule.event_type,
            "template": rule.template,
            "channels": list(rule.channels),
            "recipient": rule.recipient,
            "conditions": dict(rule.conditions),
            "delay_seconds": rule.delay_seconds,
            "quiet_hours": rule.quiet_hours,
            "cancel_on": list(rule.cancel_on),
            "enabled": rule.enabled,
            "updated_by": user_id,
            "updated_at": now,
        }
        stmt = insert(rules).values(tenant_id=tenant_id, key=rule.key, **values)
        await self.session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "key"], set_=values))

    async def delete(self, tenant_id: str, key: str) -> bool:
        result = await self.session.execute(rules.delete().where(rules.c.tenant_id == tenant_id, rules.c.key == key))
        return bool(getattr(result, "rowcount", 0))
