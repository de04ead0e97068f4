"""Queries on the clinic's staff directory (kept from the gateway's identity events)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from leads.domain.staff import StaffMember
from leads.models import staff


class StaffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, member: StaffMember, changed_at: datetime) -> None:
        """Insert or update the member; an older event than the stored one changes nothing."""
        values = {
            "user_id": member.user_id,
            "tenant_id": member.tenant_id,
            "full_name": member.full_name,
            "email": member.email,
            "roles": list(member.roles),
            "active": member.active,
            "changed_at": changed_at,
        }
        stmt = insert(staff).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[staff.c.user_id],
            set_={k: stmt.excluded[k] for k in values if k != "user_id"},
            where=staff.c.changed_at <= stmt.excluded.changed_at,
        )
        await self.session.execute(stmt)

    async def active_ids(self, tenant_id: str, user_ids: list[str]) -> set[str]:
        query = select(staff.c.user_id).where(
            staff.c.tenant_id == tenant_id, staff.c.user_id.in_(user_ids), staff.c.active.is_(True)
        )
        return {row.user_id for row in (await self.session.execute(query)).all()}

    async def of_clinic(self, tenant_id: str) -> list[StaffMember]:
        query = (
            select(staff).where(staff.c.tenant_id == tenant_id, staff.c.active.is_(True)).order_by(staff.c.full_name)
        )
        return [
            StaffMember(
                user_id=r.user_id,
                tenant_id=r.tenant_id,
                full_name=r.full_name,
                email=r.email,
                roles=tuple(r.roles),
                active=r.active,
            )
            for r in (await self.session.execute(query)).all()
        ]
