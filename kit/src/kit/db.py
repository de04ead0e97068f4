"""Async SQLAlchemy engine and the unit of work: one transaction per use case.

See docs/architecture.md, "Never lose an event".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

import msgspec
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from contracts import Event, EventMeta, to_headers
from kit import context
from kit.outbox import OUTBOX_CHANNEL, inbox_table, outbox_table


def async_url(url: str) -> str:
    """Accept plain postgresql:// URLs from operators; SQLAlchemy needs the asyncpg driver named."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain) :]
    return url


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(async_url(url), pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


class UnitOfWork:
    """A session, the outbox rows it adds, and one commit. Use as `async with uow:`.

    Leaving the block without `commit()` rolls back, so a failed use case stores nothing.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], source: str) -> None:
        self._sessions = sessions
        self.source = source
        self._session: AsyncSession | None = None
        self._outbox: list[dict[str, object]] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self._outbox = []
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session, self._session = self.session, None
        try:
            await session.rollback()
        finally:
            await session.close()

    def publish(self, event: Event, *, tenant_id: str) -> EventMeta:
        """Queue an event; it is written to the outbox in the same transaction as the state."""
        meta = EventMeta(
            id=context.new_id(),
            source=f"clinicflow/{self.source}",
            type=event.TYPE,
            time=datetime.now(UTC),
            subject=event.aggregate_id(),
            tenant_id=tenant_id,
            correlation_id=context.current_correlation_id(),
            causation_id=context.causation_id.get(),
            traceparent=context.traceparent.get(),
        )
        self._outbox.append(
            {
                "event_id": meta.id,
                "topic": event.TOPIC,
                "key": meta.subject,
                "event_type": meta.type,
                "headers": [[k, v.decode()] for k, v in to_headers(meta)],
                "payload": msgspec.json.encode(event),
            }
        )
        return meta

    async def claim_inbox(self, consumer: str, event_id: str) -> bool:
        """Record (consumer, event id); False means this consumer already handled the event."""
        stmt = (
            insert(inbox_table)
            .values(consumer=consumer, event_id=event_id)
            .on_conflict_do_nothing()
            .returning(inbox_table.c.event_id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def commit(self) -> None:
        if self._outbox:
            await self.session.execute(outbox_table.insert(), self._outbox)
            # Wakes the relay at once instead of at its next poll.
            await self.session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL})
            self._outbox = []
        await self.session.commit()


UnitOfWorkFactory = Callable[[], UnitOfWork]


def uow_factory(engine: AsyncEngine, source: str) -> UnitOfWorkFactory:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    return lambda: UnitOfWork(sessions, source)
