"""Queries on a lead's requests (what they asked about)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from leads.domain.leads import LeadRequest
from leads.models import lead_requests, leads

_FIELDS = (
    "id",
    "tenant_id",
    "lead_id",
    "treatment",
    "group",
    "channel",
    "reason",
    "handled",
    "status",
    "intake",
    "created_by",
    "created_at",
    "updated_at",
)


def _request(row: Any) -> LeadRequest:
    return LeadRequest(**{f: getattr(row, f) for f in _FIELDS})


class RequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, request: LeadRequest) -> None:
        await self.session.execute(lead_requests.insert().values({f: getattr(request, f) for f in _FIELDS}))

    async def get(self, tenant_id: str, request_id: str) -> LeadRequest | None:
        row = (
            await self.session.execute(
                select(lead_requests).where(lead_requests.c.tenant_id == tenant_id, lead_requests.c.id == request_id)
            )
        ).first()
        return _request(row) if row else None

    async def save(self, request: LeadRequest) -> None:
        values = {f: getattr(request, f) for f in _FIELDS if f not in ("id", "tenant_id", "lead_id")}
        await self.session.execute(
            update(lead_requests)
            .where(lead_requests.c.tenant_id == request.tenant_id, lead_requests.c.id == request.id)
            .values(**values)
        )

    async def for_lead(self, tenant_id: str, lead_id: str) -> list[LeadRequest]:
        query = (
            select(lead_requests)
            .where(lead_requests.c.tenant_id == tenant_id, lead_requests.c.lead_id == lead_id)
            .order_by(lead_requests.c.created_at.desc())
        )
        return [_request(r) for r in (await self.session.execute(query)).all()]

    async def recent(
        self, tenant_id: str, *, latest_only: bool, handled: bool | None, limit: int, offset: int
    ) -> list[LeadRequest]:
        """The clinic's requests, newest first; `latest_only` keeps each lead's newest one."""
        where = [lead_requests.c.tenant_id == tenant_id, leads.c.visible]
        if handled is not None:
            where.append(lead_requests.c.handled.is_(handled))
        base = select(lead_requests).join(leads, leads.c.id == lead_requests.c.lead_id).where(*where)
        if latest_only:
            inner = (
                base.order_by(lead_requests.c.lead_id, lead_requests.c.created_at.desc())
                .distinct(lead_requests.c.lead_id)
                .subquery()
            )
            query = select(inner).order_by(inner.c.created_at.desc()).limit(limit).offset(offset)
        else:
            query = base.order_by(lead_requests.c.created_at.desc()).limit(limit).offset(offset)
        return [_request(r) for r in (await self.session.execute(query)).all()]

    async def move(self, tenant_id: str, from_lead: str, to_lead: str) -> None:
        await self.session.execute(
            update(lead_requests)
            .where(lead_requests.c.tenant_id == tenant_id, lead_requests.c.lead_id == from_lead)
            .values(lead_id=to_lead)
        )
