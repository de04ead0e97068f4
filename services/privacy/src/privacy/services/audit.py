"""Who read which personal record, when and why."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from contracts import EventMeta
from contracts import privacy as events
from kit import context
from kit.auth import Principal
from kit.db import UnitOfWork
from privacy.domain import (
    RECORD_KINDS,
    ReadEntry,
    clean_id,
    clean_text,
    one_of,
)
from privacy.services.common import PrivacyWorkFactory, now, work_of

log = logging.getLogger(__name__)


# --- the read audit -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReadInput:
    record_kind: str
    record_id: str
    purpose: str | None
    path: str


async def record_read(uow: PrivacyWorkFactory, principal: Principal, data: ReadInput) -> ReadEntry:
    entry = ReadEntry(
        id=context.new_id(),
        tenant_id=principal.tenant_id,
        actor_id=principal.user_id,
        record_kind=one_of(data.record_kind, RECORD_KINDS, field="record_kind"),
        record_id=clean_text(data.record_id, field="record_id", required=True) or "",
        purpose=clean_text(data.purpose, field="purpose"),
        path=clean_text(data.path, field="path", required=True) or "",
        at=now(),
    )
    async with uow() as work:
        await work.audit.add(entry)
        await work.commit()
    return entry


async def remember_read(uow: UnitOfWork, event: events.RecordReadV1, meta: EventMeta) -> None:
    """record.read from the gateway (consumer): the same entry as one recorded through the API."""
    await work_of(uow).audit.add(
        ReadEntry(
            id=event.read_id,
            tenant_id=meta.tenant_id,
            actor_id=event.actor_id,
            record_kind=event.record_kind,
            record_id=event.record_id,
            purpose=event.purpose,
            path=event.path,
            at=event.at,
        )
    )


async def list_reads(
    uow: PrivacyWorkFactory,
    principal: Principal,
    *,
    record_kind: str | None,
    record_id: str | None,
    actor_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ReadEntry], int]:
    if record_kind:
        one_of(record_kind, RECORD_KINDS, field="record_kind")
    if actor_id:
        clean_id(actor_id, field="actor_id")
    async with uow() as work:
        return await work.audit.page(
            principal.tenant_id,
            record_kind=record_kind,
            record_id=record_id,
            actor_id=actor_id,
            limit=limit,
            offset=offset,
        )
