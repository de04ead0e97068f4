"""Claim-and-lease dispatch of due rows (messages to send, reminders to fire): docs/architecture.md, "Dispatchers".

A round (1) claims up to `batch_size` due rows in one short transaction: `FOR UPDATE SKIP LOCKED`, so
replicas dispatch side by side, and each claimed row gets `leased_until = now + lease`, then commits;
(2) handles them concurrently outside any transaction (the side effect: a provider call); (3) records every
outcome of the round in one transaction. A worker that dies after (1) leaves its rows leased; they are due
again once the lease expires: at-least-once, so the side effect carries an idempotency key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

from prometheus_client import Counter
from sqlalchemy import Column, ColumnElement, Row, Table, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kit.db import UnitOfWork, UnitOfWorkFactory
from kit.periodic import Periodic

log = logging.getLogger(__name__)

DISPATCHED = Counter(
    "clinicflow_dispatched_total",
    "Rows a dispatcher handled, by outcome (handled, crashed: left leased for a retry).",
    ["service", "dispatcher", "outcome"],
)

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")


async def claim_due(
    session: AsyncSession,
    table: Table,
    *,
    due: ColumnElement[bool],
    now: datetime,
    lease: timedelta,
    limit: int,
    order_by: Sequence[Any] = (),
    lease_column: str = "leased_until",
    key_column: str = "id",
    values: dict[str, Any] | None = None,
) -> Sequence[Row[Any]]:
    """Lease up to `limit` rows matching `due` whose lease is free or expired; returns them (all columns).

    Call it from the service's repository (the one place that builds queries) inside a unit of work and
    commit: the lease is what keeps other replicas off the rows, not the row lock. `values` are further
    columns to set with the lease (e.g. `status='sending'`).
    """
    leased: Column[Any] = table.c[lease_column]
    key: Column[Any] = table.c[key_column]
    free = or_(leased.is_(None), leased <= now)
    candidates = (
        select(key).where(due, free).order_by(*order_by).limit(limit).with_for_update(skip_locked=True).cte("due")
    )
    stmt = (
        update(table)
        .where(key.in_(select(candidates.c[key_column])))
        .values({lease_column: now + lease, **(values or {})})
        .returning(*table.c)
    )
    return (await session.execute(stmt)).all()


class LeaseDispatcher(Generic[Item, Outcome]):
    """Claim → handle concurrently → record the round's outcomes in one transaction.

    `claim(uow, limit)` leases and returns items (via the repository and `claim_due`); `handle(item)` does the
    side effect and returns an outcome (expected failures are outcomes too: it raises only on a bug or a
    crash, and such an item simply stays leased until it is due again); `record(uow, outcomes)` stores them,
    clears the leases and stages events on the unit of work; the dispatcher commits.
    """

    def __init__(
        self,
        name: str,
        uow: UnitOfWorkFactory,
        *,
        claim: Callable[[UnitOfWork, int], Awaitable[Sequence[Item]]],
        handle: Callable[[Item], Awaitable[Outcome]],
        record: Callable[[UnitOfWork, list[Outcome]], Awaitable[None]],
        batch_size: int = 50,
        concurrency: int = 10,
        service: str = "",
    ) -> None:
        self.name = name
        self.uow = uow
        self.claim = claim
        self.handle = handle
        self.record = record
        self.batch_size = batch_size
        self.concurrency = concurrency
        self.service = service

    async def run_once(self) -> int:
        """One round; returns how many rows were claimed (0: nothing due)."""
        async with self.uow() as uow:
            items = list(await self.claim(uow, self.batch_size))
            await uow.commit()
        if not items:
            return 0
        gate = asyncio.Semaphore(self.concurrency)
        outcomes: list[Outcome] = []

        async def one(item: Item) -> None:
            async with gate:
                try:
                    outcomes.append(await self.handle(item))
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("dispatcher %s: an item failed; it is retried when its lease ends", self.name)

        await asyncio.gather(*(one(i) for i in items))
        crashed = len(items) - len(outcomes)
        if outcomes:
            async with self.uow() as uow:
                await self.record(uow, outcomes)
                await uow.commit()
        DISPATCHED.labels(self.service, self.name, "handled").inc(len(outcomes))
        if crashed:
            DISPATCHED.labels(self.service, self.name, "crashed").inc(crashed)
        return len(items)

    def periodic(self, interval: float, *, jitter: float = 0.1) -> Periodic:
        """As a worker timer: a round every `interval` s, at once again while rows keep coming."""
        return Periodic(name=self.name, run=self.run_once, interval=interval, jitter=jitter)
