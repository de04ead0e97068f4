"""The rebuild's use cases: empty the projections, then apply replayed events like the consumers do (and refresh
the facts they queued at once, instead of leaving it to the worker's refresher)."""

from __future__ import annotations

from collections.abc import Sequence

from analytics.services.projection import patches, refresh_clinic, store
from analytics.services.work import AnalyticsWorkFactory
from contracts import Event, EventMeta


async def refresh_facts(uow: AnalyticsWorkFactory) -> None:
    """Every clinic's facts and rollups computed again from the projections (one transaction per clinic)."""
    async with uow() as work:
        tenants = await work.facts.tenants()
    for tenant in tenants:
        async with uow() as work:
            repo = work.facts
            await repo.lock([tenant])
            await repo.refresh_all(tenant)
            await work.commit()


async def clear(uow: AnalyticsWorkFactory, consumers: list[str]) -> None:
    """Empty every projection table and the consumers' inbox rows, in one transaction."""
    async with uow() as work:
        await work.projections.clear(consumers)
        await work.commit()


async def apply(uow: AnalyticsWorkFactory, consumer: str, events: Sequence[tuple[Event, EventMeta]]) -> int:
    """One batch of replayed events, deduplicated through the same inbox as the live consumer `consumer`."""
    async with uow() as work:
        fresh = await work.claim_inbox_many(consumer, [meta.id for _, meta in events])
        handled, batch = 0, []
        for event, meta in events:
            if meta.id in fresh:
                fresh.discard(meta.id)
                batch.extend(patches(event, meta))
                handled += 1
        await store(work, batch)
        await work.commit()
    for tenant in sorted({p.key["tenant_id"] for p in batch}):
        await refresh_clinic(uow, tenant, wait=True)
    return handled
