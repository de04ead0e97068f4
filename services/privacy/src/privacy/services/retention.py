"""Retention rules per clinic and kind, the runs' report, the timer for what privacy holds."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from contracts import EventMeta
from contracts import privacy as events
from contracts.leads import LeadsRetentionAppliedV1
from contracts.notifications import RetentionAppliedV1
from kit import context
from kit.auth import Principal
from kit.db import UnitOfWork
from kit.objects import ObjectStore
from privacy.domain import (
    RetentionRule,
    clean_retention,
)
from privacy.services.common import EXPORT_LINK, PrivacyUnitOfWork, PrivacyWorkFactory, now, remember_person, work_of

log = logging.getLogger(__name__)


# --- retention -----------------------------------------------------------------------------------------
async def set_retention(uow: PrivacyWorkFactory, principal: Principal, kind: str, days: int) -> RetentionRule:
    kind, days = clean_retention(kind, days)
    rule = RetentionRule(principal.tenant_id, kind, days, now())
    async with uow() as work:
        await work.retention.save(rule)
        # the service holding that kind applies it (notifications: messages; leads: lost_leads) and reports back
        work.publish(
            events.RetentionSetV1(kind=kind, days=days, set_by=principal.user_id, at=rule.updated_at),
            tenant_id=principal.tenant_id,
        )
        await work.commit()
    return rule


async def list_retention(uow: PrivacyWorkFactory, principal: Principal) -> list[RetentionRule]:
    async with uow() as work:
        return await work.retention.of_clinic(principal.tenant_id)


async def retention_report(
    uow: PrivacyWorkFactory, principal: Principal, *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    async with uow() as work:
        return await work.retention.runs(principal.tenant_id, limit=limit, offset=offset)


async def record_retention_run(uow: UnitOfWork, event: RetentionAppliedV1, meta: EventMeta) -> None:
    """Another service's retention run (notifications' `messages`) joins the clinic's report, once."""
    await work_of(uow).retention.record_run(
        event.run_id, meta.tenant_id, event.kind, event.removed, event.cutoff, event.at
    )


async def record_leads_retention_run(uow: UnitOfWork, event: LeadsRetentionAppliedV1, meta: EventMeta) -> None:
    """leads' `lost_leads` run joins the clinic's report, once (its fields are optional: the event's own id and
    time stand in for a missing run id, time or cutoff)."""
    at = event.at or meta.time
    await work_of(uow).retention.record_run(
        event.run_id or meta.id, meta.tenant_id, event.kind, event.removed, event.cutoff or at, at
    )


async def retention_round(uow: PrivacyWorkFactory, store: ObjectStore, *, at: datetime | None = None) -> int:
    """Worker timer: apply each clinic's rules to what privacy holds (the read audit, export archives) and record
    what was removed. The other kinds are applied by the services holding them (notifications: messages, leads:
    lost_leads, each reported back with its `retention.applied`; docs/privacy.md)."""
    at = at or now()
    removed_total = 0
    async with uow() as work:
        rules = await work.retention.all()
    for rule in rules:
        cutoff = at - timedelta(days=rule.days)
        removed = 0
        async with uow() as work:
            if rule.kind == "read_audit":
                removed = await work.audit.remove_before(rule.tenant_id, cutoff)
            elif rule.kind == "exports":
                for request_id, key in await work.requests.expired_archives(rule.tenant_id, cutoff):
                    await store.delete(key)
                    await work.requests.drop_archive(request_id)
                    removed += 1
            else:
                continue
            await work.retention.record_run(context.new_id(), rule.tenant_id, rule.kind, removed, cutoff, at)
            await work.commit()
        removed_total += removed
    return removed_total


__all__ = ["EXPORT_LINK", "PrivacyUnitOfWork", "PrivacyWorkFactory", "remember_person"]
