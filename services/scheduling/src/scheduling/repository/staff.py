"""The clinics' staff directory as the gateway's events tell scheduling (docs/scheduling.md, "Professionals")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from scheduling.models import staff


class StaffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, tenant_id: str, user_id: str, *, active: bool, changed_at: datetime) -> None:
        """The member's latest record wins (events may come twice or out of order)."""
        q = insert(staff).values(tenant_id=tenant_id, user_id=user_id, active=active, changed_at=changed_at)
        await self.session.execute(
            q.on_conflict_do_update(
                index_elements=[staff.c.tenant_id, staff.c.user_id],
                set_={"active": active, "changed_at": changed_at},
                where=staff.c.changed_at <= changed_at,
            )
        )

    async def active_ids(self, tenant_id: str, user_ids: list[str]) -> set[str]:
        q = select(staff.c.user_id).where(staff.c.tenant_id == tenant_id, staff.c.user_id.in_(user_ids), staff.c.active)
        return set((await self.session.execute(q)).scalars())
