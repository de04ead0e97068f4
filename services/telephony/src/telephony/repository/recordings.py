"""Queries of recordings, their access audit and the clinics' retention."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from telephony.domain import REC_PENDING, REC_STORED, Recording, RecordingAccess, RetentionRule
from telephony.models import recording_access, recording_retention, recordings


def recording_of(r: Any) -> Recording:
    return Recording(
        id=r.id,
        tenant_id=r.tenant_id,
        call_id=r.call_id,
        provider=r.provider,
        provider_ref=r.provider_ref,
        state=r.state,
        object_key=r.object_key,
        content_type=r.content_type,
        size=r.size,
        sha256=r.sha256,
        attempts=r.attempts,
        created_at=r.created_at,
        stored_at=r.stored_at,
        deleted_at=r.deleted_at,
        last_error=r.last_error,
    )


class RecordingRepository:
    """Recordings, their access audit and the clinics' retention."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ensure(
        self, rec_id: str, tenant_id: str, call_id: str, provider: str, ref: str, state: str, at: datetime
    ) -> bool:
        stmt = (
            insert(recordings)
            .values(
                id=rec_id,
                tenant_id=tenant_id,
                call_id=call_id,
                provider=provider,
                provider_ref=ref,
                state=state,
                attempts=0,
                next_attempt_at=at,
                created_at=at,
            )
            .on_conflict_do_nothing()
            .returning(recordings.c.id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def get(self, tenant_id: str, recording_id: str) -> Recording | None:
        query = select(recordings).where(recordings.c.tenant_id == tenant_id, recordings.c.id == recording_id)
        row = (await self.session.execute(query)).first()
        return recording_of(row) if row else None

    async def of_call(self, tenant_id: str, call_id: str) -> Recording | None:
        query = select(recordings).where(recordings.c.tenant_id == tenant_id, recordings.c.call_id == call_id)
        row = (await self.session.execute(query)).first()
        return recording_of(row) if row else None

    async def claim_due(self, at: datetime, limit: int) -> list[Recording]:
        """Pending recordings whose next attempt is due, locked (other workers skip them)."""
        query = (
            select(recordings)
            .where(recordings.c.state == REC_PENDING, recordings.c.next_attempt_at <= at)
            .order_by(recordings.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return [recording_of(r) for r in (await self.session.execute(query)).all()]

    async def lock(self, recording_id: str) -> Recording | None:
        query = select(recordings).where(recordings.c.id == recording_id).with_for_update(skip_locked=True)
        row = (await self.session.execute(query)).first()
        return recording_of(row) if row else None

    async def update(self, recording_id: str, **values: Any) -> None:
        await self.session.execute(update(recordings).where(recordings.c.id == recording_id).values(**values))

    async def expired(self, default_days: int, at: datetime, limit: int) -> list[Recording]:
        """Stored recordings older than their clinic's retention (the default where the clinic set none)."""
        days = func.coalesce(recording_retention.c.days, default_days)
        query = (
            select(recordings)
            .select_from(
                recordings.outerjoin(recording_retention, recording_retention.c.tenant_id == recordings.c.tenant_id)
            )
            .where(
                recordings.c.state == REC_STORED,
                recordings.c.stored_at + func.make_interval(0, 0, 0, days) < at,
            )
            .limit(limit)
            .with_for_update(of=recordings, skip_locked=True)
        )
        return [recording_of(r) for r in (await self.session.execute(query)).all()]

    async def audit(self, tenant_id: str, access: RecordingAccess) -> None:
        await self.session.execute(
            insert(recording_access).values(
                id=access.id,
                tenant_id=tenant_id,
                recording_id=access.recording_id,
                call_id=access.call_id,
                action=access.action,
                user_id=access.user_id,
                link_id=access.link_id,
                client=access.client,
                at=access.at,
            )
        )

    async def accesses(
        self, tenant_id: str, *, recording_id: str | None, limit: int, offset: int
    ) -> tuple[list[RecordingAccess], int]:
        where = [recording_access.c.tenant_id == tenant_id]
        if recording_id:
            where.append(recording_access.c.recording_id == recording_id)
        total = (
            await self.session.execute(select(func.count()).select_from(recording_access).where(*where))
        ).scalar_one()
        query = (
            select(recording_access)
            .where(*where)
            .order_by(recording_access.c.at.desc(), recording_access.c.id)
            .limit(limit)
            .offset(offset)
        )
        rows = (await self.session.execute(query)).all()
        found = [
            RecordingAccess(r.id, r.recording_id, r.call_id, r.action, r.user_id, r.link_id, r.client, r.at)
            for r in rows
        ]
        return found, total

    async def retention(self, tenant_id: str) -> RetentionRule | None:
        query = select(recording_retention.c.days, recording_retention.c.hold_on_erasure_days).where(
            recording_retention.c.tenant_id == tenant_id
        )
        row = (await self.session.execute(query)).first()
        return RetentionRule(row.days, row.hold_on_erasure_days) if row else None

    async def set_retention(self, tenant_id: str, rule: RetentionRule, user_id: str, at: datetime) -> None:
        values = {
            "days": rule.days,
            "hold_on_erasure_days": rule.hold_on_erasure_days,
            "updated_by": user_id,
            "updated_at": at,
        }
        stmt = insert(recording_retention).values(tenant_id=tenant_id, **values)
        await self.session.execute(
            stmt.on_conflict_do_update(index_elements=[recording_retention.c.tenant_id], set_=values)
        )
