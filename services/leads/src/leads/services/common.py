"""What several use cases share: the clinic's calendar, the audit trail, list lookups."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from kit.auth import Principal
from kit.db import UnitOfWork
from leads.domain.leads import AuditEntry
from leads.repository import AuditRepository, ListRepository


def now() -> datetime:
    return datetime.now(UTC)


def clinic_day(moment: datetime, timezone: str) -> date:
    """The calendar day at the clinic (metrics and follow-ups are by the clinic's days, not UTC's)."""
    try:
        return moment.astimezone(ZoneInfo(timezone)).date()
    except (KeyError, ValueError):
        return moment.astimezone(UTC).date()


def clinic_day_start(day: date, timezone: str) -> datetime:
    """Midnight of a clinic day, as an aware datetime (a date range is whole days at the clinic)."""
    try:
        zone = ZoneInfo(timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    return datetime.combine(day, time.min, tzinfo=zone)


def clinic_today(principal: Principal) -> date:
    return clinic_day(now(), principal.timezone)


async def audit(
    uow: UnitOfWork,
    tenant_id: str,
    *,
    entity: str,
    entity_id: str,
    lead_id: str | None,
    action: str,
    actor_id: str | None,
    changes: dict[str, Any],
    at: datetime | None = None,
) -> None:
    await AuditRepository(uow.session).add(
        tenant_id,
        AuditEntry(
            entity=entity,
            entity_id=entity_id,
            lead_id=lead_id,
            action=action,
            actor_id=actor_id,
            at=at or now(),
            changes=changes,
        ),
    )


async def sources(uow: UnitOfWork, tenant_id: str) -> dict[str, str]:
    return await ListRepository(uow.session).labels(tenant_id, "source")
