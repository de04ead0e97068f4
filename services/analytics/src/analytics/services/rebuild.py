"""The rebuild's use cases: empty the projections, then apply replayed events like the consumers do."""

from __future__ import annotations

from collections.abc import Sequence

from analytics.repository.projections import ProjectionRepository
from analytics.services.projection import handle_event
from contracts import Event, EventMeta
from kit.db import UnitOfWorkFactory


async def clear(uow: UnitOfWorkFactory, consumers: list[str]) -> None:
    """Empty every projection table and the consumers' inbox rows, in one transaction."""
    async with uow() as work:
        await ProjectionRepository(work.session).clear(consumers)
        await work.commit()


async def apply(uow: UnitOfWorkFactory, consumer: str, events: Sequence[tuple[Event, EventMeta]]) -> int:
    """One batch of replayed events, deduplicated through the same inbox as the live consumer `consumer`."""
    async with uow() as work:
        fresh = await work.claim_inbox_many(consumer, [meta.id for _, meta in events])
        handled = 0
        for event, meta in events:
            if meta.id in fresh:
                fresh.discard(meta.id)
                await handle_event(work, event, meta)
                handled += 1
        await work.commit()
    return handled
