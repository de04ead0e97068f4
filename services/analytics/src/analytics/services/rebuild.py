"""The rebuild's use cases: empty the projections, then apply replayed events like the consumers do (and refresh
the facts they queued at once, instead of leaving it to the worker's refresher)."""

from __future__ import annotations

from collections.abc import Sequence

from analytics.repository.facts import FactRepository
from analytics.repository.projections import ProjectionRepository
from analytics.services.projection import patches, refresh_clinic, store
from contracts import Event, EventMeta
from kit.db import UnitOfWorkFactory


async def refresh_facts(uow: UnitOfWorkFactory) -> None:
    """Every clinic's facts and rollups computed again from the projections (one transaction per clinic)."""
    async with uow() as work:
        tenants = await FactRepository(work.session).tenants()
    for tenant in tenants:
        async with uow() as work:
            repo = FactRepository(work.session)
            await repo.lock([tenant])
            await repo.refresh_all(tenant)
            await work.commit()


async def clear(uow: UnitOfWorkFactory, consumers: list[str]) -> None:
    """Empty every projection table and the consumers' inbox rows, in one transaction."""
    async with uow() as work:
        await ProjectionRepository(work.session).clear(consumers)
        await work.commit()


async def apply(uow: UnitOfWorkFactory, consumer: str, events: Sequence[tuple[Event, EventMeta]]) -> int:
    """One batch of replayed events, deduplicated through the same inbox as the live consumer `consumer`."""
    async with uow() as work:
        fresh = await work.claim_inbox_many(consumer, [meta.id for _, meta in events])
        handled, batch = 0, []
        for event, meta in events:
            if meta.id in fresh:
                fresh.discard(meta.id)
                batch.extend(patches(event, meta))
                handled += 1
        await store(work.session, batch)
        await work.commit()
    for tenant in sorted({p.key["tenant_id"] for p in batch}):
        await refresh_clinic(uow, tenant, wait=True)
    return handled
