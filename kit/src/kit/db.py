"""Async SQLAlchemy engine and the unit of work: one transaction per use case.

See docs/architecture.md, "Never lose an event".
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import msgspec
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from contracts import Event, EventMeta, to_headers
from kit import context, tracing
from kit.outbox import OUTBOX_CHANNEL
from kit.personal import PersonalCipher


def async_url(url: str) -> str:
    """Accept plain postgresql:// URLs from operators; SQLAlchemy needs the asyncpg driver named."""
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+asyncpg://" + url[len(plain) :]
    return url


#: A pooled connection idle longer than this is pinged before use (one that was just used is not).
PING_IDLE_SECONDS = 5.0


def make_engine(url: str, *, pool_size: int = 10, ping_idle_seconds: float = PING_IDLE_SECONDS) -> AsyncEngine:
    engine = create_async_engine(async_url(url), pool_size=pool_size, max_overflow=pool_size)
    _ping_when_idle(engine, ping_idle_seconds)
    return engine


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """`pool_pre_ping`, but only for connections that sat idle: pre-ping cost a round trip on every checkout,
    i.e. on every request and every consumed batch, to guard against a server restart that a connection
    used a moment ago would have noticed anyway. A failed ping makes the pool replace the connection."""

    @event.listens_for(engine.sync_engine, "checkin")
    def checked_in(_: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def checked_out(dbapi_connection: Any, record: Any, _: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError("stale pooled connection") from exc


#: One round trip for all of a transaction's events and the NOTIFY that wakes the relay at once instead of at
#: its next poll (a data-modifying WITH runs whether or not the outer query reads it).
_INSERT_OUTBOX = text(
    "WITH rows AS (INSERT INTO outbox (event_id, topic, key, event_type, headers, payload) "
    "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:topics AS text[]), CAST(:keys AS text[]), "
    "CAST(:types AS text[]), CAST(CAST(:headers AS text[]) AS json[]), CAST(:payloads AS bytea[])) RETURNING 1) "
    f"SELECT pg_notify('{OUTBOX_CHANNEL}', '')"
)
_CLAIM_MANY = text(
    "INSERT INTO inbox (consumer, event_id) SELECT :consumer, unnest(CAST(:ids AS uuid[])) "
    "ON CONFLICT DO NOTHING RETURNING event_id::text"
)


class Work(Protocol):
    """What a use case needs of its unit of work: a block, events staged for the outbox, one commit.

    A service extends it with its repositories (`uow.leads`, `uow.requests`, ...) in a Protocol of its own, so
    its use cases can run against `UnitOfWork` (PostgreSQL) or an in-memory implementation of that protocol in
    fast use-case tests (docs/architecture.md, "Unit of work").
    """

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def publish(self, event: Event, *, tenant_id: str) -> EventMeta: ...

    async def commit(self) -> None: ...


class UnitOfWork:
    """A session, the outbox rows it adds, and one commit. Use as `async with uow:`.

    Leaving the block without `commit()` rolls back, so a failed use case stores nothing. A service hangs its
    repositories off it by subclassing and overriding `opened` (called with each new session).
    """

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], source: str, cipher: PersonalCipher | None = None
    ) -> None:
        self._sessions = sessions
        self.source = source
        self._source_uri = f"clinicflow/{source}"
        self._session: AsyncSession | None = None
        self._cipher = cipher
        self._outbox: list[tuple[Event, EventMeta, str]] = []

    @property
    def session(self) -> AsyncSession:
        if self._session is None:
            raise RuntimeError("unit of work used outside `async with`")
        return self._session

    async def __aenter__(self) -> Self:
        self._session = self._sessions()
        self._outbox = []
        self.opened(self._session)
        return self

    def opened(self, session: AsyncSession) -> None:
        """Hook for subclasses: build the repositories of this session (`self.leads = LeadRepository(session)`)."""

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        session, self._session = self.session, None
        try:
            await session.rollback()
        finally:
            await session.close()

    def publish(self, event: Event, *, tenant_id: str, topic: str | None = None) -> EventMeta:
        """Queue an event; it is written to the outbox in the same transaction as the state. `topic`: another
        than the event's own (a test aims events at a topic of its own)."""
        meta = EventMeta(
            id=context.new_id(),
            source=self._source_uri,
            type=event.TYPE,
            time=datetime.now(UTC),
            subject=event.aggregate_id(),
            tenant_id=tenant_id,
            correlation_id=context.current_correlation_id(),
            causation_id=context.causation_id.get(),
            # The current span (a request's or a consumer's) when tracing; else the consumed event's, passed on.
            traceparent=(tracing.traceparent_of() if tracing.enabled() else None) or context.traceparent.get(),
        )
        self._outbox.append((event, meta, topic or event.TOPIC))
        return meta

    async def claim_inbox(self, consumer: str, event_id: str) -> bool:
        """Record (consumer, event id); False means this consumer already handled the event."""
        return bool(await self.claim_inbox_many(consumer, [event_id]))

    async def claim_inbox_many(self, consumer: str, event_ids: list[str]) -> set[str]:
        """Record many (consumer, event id) pairs in one statement; returns the ids not handled before."""
        rows = await self.session.execute(_CLAIM_MANY, {"consumer": consumer, "ids": event_ids})
        return {str(r[0]) for r in rows}

    async def commit(self) -> None:
        if self._outbox:
            staged = self._outbox
            # Personal fields are sealed with their person's key before they are written (kit.personal).
            plain = [(event, meta) for event, meta, _ in staged]
            events = await self._cipher.seal(plain) if self._cipher is not None else [e for e, _ in plain]
            metas = [meta for _, meta in plain]
            await self.session.execute(
                _INSERT_OUTBOX,
                {
                    "ids": [m.id for m in metas],
                    "topics": [topic for _, _, topic in staged],
                    "keys": [m.subject for m in metas],
                    "types": [m.type for m in metas],
                    "headers": [
                        msgspec.json.encode([[k, v.decode()] for k, v in to_headers(m)]).decode() for m in metas
                    ],
                    "payloads": [msgspec.json.encode(e) for e in events],
                },
            )
            self._outbox = []
        await self.session.commit()


UnitOfWorkFactory = Callable[[], UnitOfWork]


def uow_factory(
    engine: AsyncEngine,
    source: str,
    unit: type[UnitOfWork] = UnitOfWork,
    cipher: PersonalCipher | None = None,
) -> UnitOfWorkFactory:
    """`unit`: the service's UnitOfWork subclass carrying its repositories (kit's own when it has none);
    `cipher`: seals the events' personal fields (kit.personal; None: they go in clear)."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    return lambda: unit(sessions, source, cipher)


#: deadlock_detected, serialization_failure: PostgreSQL rolled the whole transaction back; running it again is safe.
_CONFLICTS = frozenset({"40P01", "40001"})
_T = TypeVar("_T")


def is_conflict(exc: BaseException) -> bool:
    """A transaction PostgreSQL chose as a deadlock's victim (or failed for serialization)."""
    orig = getattr(exc, "orig", None)
    return any(
        getattr(e, "sqlstate", None) in _CONFLICTS or getattr(e, "pgcode", None) in _CONFLICTS
        for e in (exc, orig, getattr(orig, "__cause__", None))
        if e is not None
    )


async def retrying(work: Callable[[], Awaitable[_T]], *, attempts: int = 3) -> _T:
    """Run a unit of work again (a few times, after a short jittered pause) when PostgreSQL rolled it back as a
    deadlock's victim: two webhooks touching the same rows in another order must not answer a 500."""
    for attempt in range(1, attempts + 1):
        try:
            return await work()
        except DBAPIError as exc:
            if attempt == attempts or not is_conflict(exc):
                raise
            await asyncio.sleep(0.02 * attempt + random.random() * 0.05)  # jitter: the two retry apart
    raise AssertionError("unreachable")
