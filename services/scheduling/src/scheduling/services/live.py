"""Live waiting-room boards: one LISTEN connection per api process, fanned out to the open streams."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from kit.outbox import plain_dsn
from scheduling.repository.appointments import BOARD_CHANNEL


class BoardHub:
    """One LISTEN connection per api process for every open waiting-room stream.

    Check-in, start and completion NOTIFY `scheduling_board` with "<tenant>:<branch>" at commit, whichever
    replica handled them; each replica's hub wakes the streams of that board. If the connection drops, the
    streams end and the clients reconnect (SSE does so by itself), opening a new one.
    """

    CLOSED = "\x00closed"

    def __init__(self, database_url: str) -> None:
        self.dsn = plain_dsn(database_url)
        self.conn: asyncpg.Connection | None = None
        self.subscribers: dict[str, set[asyncio.Queue[str]]] = {}
        self.lock = asyncio.Lock()

    async def subscribe(self, key: str) -> asyncio.Queue[str]:
        async with self.lock:
            if self.conn is None or self.conn.is_closed():
                self.conn = await asyncpg.connect(self.dsn)
                self.conn.add_termination_listener(self._on_close)
                await self.conn.add_listener(BOARD_CHANNEL, self._on_notify)
        queue: asyncio.Queue[str] = asyncio.Queue()
        self.subscribers.setdefault(key, set()).add(queue)
        return queue

    def unsubscribe(self, key: str, queue: asyncio.Queue[str]) -> None:
        self.subscribers.get(key, set()).discard(queue)
        if not self.subscribers.get(key):
            self.subscribers.pop(key, None)

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: object) -> None:
        for queue in self.subscribers.get(str(payload), ()):
            queue.put_nowait(str(payload))

    def _on_close(self, _conn: Any) -> None:
        self.conn = None
        for queues in self.subscribers.values():
            for queue in queues:
                queue.put_nowait(self.CLOSED)

    async def close(self) -> None:
        if self.conn is not None and not self.conn.is_closed():
            await self.conn.close()
