"""What availability reads on every request, cached in each api process: the clinic's set-up as one
snapshot per tenant (policy, branches, procedures, professionals), and each professional's busy time over the
window last asked for.

Invalidation is PostgreSQL's LISTEN/NOTIFY, delivered at commit to every replica:
- every set-up write NOTIFYs `scheduling_setup` with its tenant id in its own transaction (SetupRepository),
  and the writing process also drops its snapshot at once;
- a trigger on `appointments` NOTIFYs `scheduling_busy` with "<tenant>:<professional>" on every insert,
  delete, or change of time, status, professional or hold expiry, whoever writes (the api, the worker's
  purge, a bulk load). Lapsed holds need no write: their expiry is part of the reading.
Anything loaded while a change was being committed is not kept (a generation counter), and while the
LISTEN connection is down nothing is cached at all. Bookings never read these: the database's exclusion
constraint decides, so a time shown free a moment before it was taken gets a 409, never a double booking.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from kit.outbox import plain_dsn
from scheduling.domain.errors import NotFound
from scheduling.domain.setup import Branch, ClinicPolicy, Procedure, Professional
from scheduling.domain.slots import BusySeconds
from scheduling.repository.appointments import BUSY_CHANNEL
from scheduling.repository.setup import SETUP_CHANNEL
from scheduling.services.work import SchedulingWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Catalog:
    policy: ClinicPolicy | None  # None: the clinic kept the defaults
    branches: dict[str, Branch]
    procedures: dict[str, Procedure]
    professionals: tuple[Professional, ...]

    def policy_or_default(self, country: str) -> ClinicPolicy:
        return self.policy or ClinicPolicy(country=country)

    def branch(self, branch_id: str) -> Branch:
        found = self.branches.get(branch_id)
        if found is None or not found.active:
            raise NotFound("No such branch in this clinic.", field="branch_id")
        return found

    def procedure(self, procedure_id: str) -> Procedure:
        found = self.procedures.get(procedure_id)
        if found is None or not found.active:
            raise NotFound("No such procedure in this clinic.", field="procedure_id")
        return found

    def professional(self, professional_id: str) -> Professional:
        found = next((p for p in self.professionals if p.id == professional_id), None)
        if found is None or not found.active:
            raise NotFound("No such professional in this clinic.", field="professional_id")
        return found

    def professionals_at(self, branch_id: str) -> list[Professional]:
        return [p for p in self.professionals if branch_id in p.branch_ids]


async def load_catalog(uow: SchedulingWork, tenant_id: str) -> Catalog:
    setup = uow.setup
    return Catalog(
        policy=await setup.policy(tenant_id),
        branches={b.id: b for b in await setup.branches(tenant_id)},
        procedures={p.id: p for p in await setup.procedures(tenant_id)},
        professionals=tuple(await setup.professionals(tenant_id)),
    )


@dataclass(frozen=True)
class _BusyWindow:
    start: int
    end: int
    busy: BusySeconds


BusyLoader = Callable[[list[str]], Awaitable[dict[str, BusySeconds]]]


class CatalogCache:
    """Per-tenant snapshots (at most `size` tenants) and per-professional busy windows (at most `busy_size`);
    the least recently used go first."""

    def __init__(self, database_url: str, size: int = 1000, busy_size: int = 20_000) -> None:
        self.dsn = plain_dsn(database_url)
        self.size = size
        self.busy_size = busy_size
        self.entries: OrderedDict[str, Catalog] = OrderedDict()
        self.windows: OrderedDict[str, _BusyWindow] = OrderedDict()
        self.generation = 0
        self.conn: asyncpg.Connection | None = None
        self.lock = asyncio.Lock()
        self.retry_at = 0.0  # after a failed connect, serve uncached for a while rather than wait on each request

    async def busy(
        self, tenant_id: str, professional_ids: Sequence[str], start: int, end: int, load: BusyLoader
    ) -> dict[str, BusySeconds]:
        """Each professional's busy time over [start, end) (epoch seconds), from a cached window that covers
        it or, for the others, from one `load` of the missing professionals."""
        if not await self._listening():
            return await load(list(professional_ids))
        found: dict[str, BusySeconds] = {}
        missing: list[str] = []
        for pid in professional_ids:
            hit = self.windows.get(f"{tenant_id}:{pid}")
            if hit is not None and hit.start <= start and end <= hit.end:
                self.windows.move_to_end(f"{tenant_id}:{pid}")
                found[pid] = hit.busy
            else:
                missing.append(pid)
        if missing:
            generation = self.generation
            loaded = await load(missing)
            keep = generation == self.generation and self._connected()
            for pid, busy in loaded.items():
                found[pid] = busy
                if keep:
                    self.windows[f"{tenant_id}:{pid}"] = _BusyWindow(start, end, busy)
            while len(self.windows) > self.busy_size:
                self.windows.popitem(last=False)
        return found

    async def get(self, tenant_id: str, load: Callable[[], Awaitable[Catalog]]) -> Catalog:
        if not await self._listening():
            return await load()
        hit = self.entries.get(tenant_id)
        if hit is not None:
            self.entries.move_to_end(tenant_id)
            return hit
        generation = self.generation
        fresh = await load()
        if generation == self.generation and self._connected():
            self.entries[tenant_id] = fresh
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)
        return fresh

    def forget(self, tenant_id: str) -> None:
        self.generation += 1
        self.entries.pop(tenant_id, None)

    def _connected(self) -> bool:
        return self.conn is not None and not self.conn.is_closed()

    async def _listening(self) -> bool:
        if self._connected():
            return True
        if time.monotonic() < self.retry_at:
            return False
        async with self.lock:
            if self._connected():
                return True
            try:
                conn = await asyncpg.connect(self.dsn, timeout=5)
                conn.add_termination_listener(self._on_close)
                await conn.add_listener(SETUP_CHANNEL, self._on_notify)
                await conn.add_listener(BUSY_CHANNEL, self._on_busy)
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                log.warning("availability cache off for 10 s, no LISTEN connection: %s", exc)
                self.retry_at = time.monotonic() + 10
                return False
            self._clear()  # changes made while we were not listening
            self.conn = conn
            return True

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        self.forget(str(payload))

    def _on_busy(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        self.generation += 1
        self.windows.pop(str(payload), None)

    def _on_close(self, _conn: Any) -> None:
        self.conn = None
        self._clear()

    def _clear(self) -> None:
        self.generation += 1
        self.entries.clear()
        self.windows.clear()

    async def close(self) -> None:
        if self._connected():
            assert self.conn is not None
            await self.conn.close()
