"""scheduling's answers to data subject requests: its part of an export, its erasure (docs/privacy.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from contracts import EventMeta
from contracts.privacy import ErasureRequestedV1, ExportRequestedV1, SchedulingPartErasedV1, SchedulingPartReadyV1
from kit.db import UnitOfWork
from kit.objects import ObjectStore
from kit.privacy import put_part
from scheduling.repository.privacy import PrivacyRepository

SERVICE = "scheduling"


def export_handler(
    store: Callable[[], ObjectStore],
) -> Callable[[UnitOfWork, ExportRequestedV1, EventMeta], Awaitable[None]]:
    async def export_requested(uow: UnitOfWork, event: ExportRequestedV1, meta: EventMeta) -> None:
        data = await PrivacyRepository(uow.session).export(meta.tenant_id, event.subject)
        stored, counts = await put_part(
            store(), tenant_id=meta.tenant_id, request_id=event.request_id, service=SERVICE, data=data
        )
        uow.publish(
            SchedulingPartReadyV1(
                request_id=event.request_id,
                service=SERVICE,
                counts=counts,
                at=datetime.now(UTC),
                object_key=stored.key,
                sha256=stored.sha256,
                size_bytes=stored.size,
            ),
            tenant_id=meta.tenant_id,
        )

    return export_requested


async def erasure_requested(uow: UnitOfWork, event: ErasureRequestedV1, meta: EventMeta) -> None:
    counts, retained = await PrivacyRepository(uow.session).erase(meta.tenant_id, event.subject)
    uow.publish(
        SchedulingPartErasedV1(
            request_id=event.request_id, service=SERVICE, counts=counts, retained=retained, at=datetime.now(UTC)
        ),
        tenant_id=meta.tenant_id,
    )
