"""The audit log: who changed what, when, before and after."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from leads.domain.leads import AuditEntry
from leads.models import audit_log

_INSERT = audit_log.insert()


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, tenant_id: str, entry: AuditEntry) -> None:
        await self.session.execute(
            _INSERT,  # built once: building a statement per call cost more CPU than running it
            {
                "tenant_id": tenant_id,
                "entity": entry.entity,
                "entity_id": entry.entity_id,
                "lead_id": entry.lead_id,
                "action": entry.action,
                "actor_id": entry.actor_id,
                "at": entry.at,
                "changes": entry.changes,
            },
        )

    async def trail(self, tenant_id: str, lead_id: str, *, limit: int, offset: int) -> list[AuditEntry]:
        query = (
            select(audit_log)
            .where(audit_log.c.tenant_id == tenant_id, audit_log.c.lead_id == lead_id)
            .order_by(audit_log.c.id)
            .limit(limit)
            .offset(offset)
        )
        return [
            AuditEntry(r.entity, r.entity_id, r.lead_id, r.action, r.actor_id, r.at, r.changes)
            for r in (await self.session.execute(query)).all()
        ]
