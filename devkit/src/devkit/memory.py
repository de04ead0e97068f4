"""An in-memory unit of work for fast use-case tests (the `unit` tier): the test double of `kit.db.Work`.

A service's use cases take a unit of work typed by the service's own protocol (`kit.db.Work` plus its
repositories, e.g. leads' `uow.leads`); its unit tests give them a subclass of `MemoryWork` whose repositories
keep plain objects in `state`. The semantics are the real ones that use cases rely on: events are staged by
`publish` and land in `published` only on `commit`, and leaving the block without a commit puts `state` back
as it was when the block began (a failed use case stores nothing). What only PostgreSQL does (locks, full-text
and trigram search, constraints) stays in the integration tier. docs/architecture.md, "Unit of work".
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from contracts import Event, EventMeta
from kit import context

S = TypeVar("S")


@dataclass(frozen=True)
class Published:
    """An event committed to the (in-memory) outbox."""

    event: Event
    meta: EventMeta


class MemoryWork(Generic[S]):
    """Subclass with the service's repositories built over `self.state` in `opened()`.

    One `MemoryWork` is one database: use `factory()` where a use case wants a unit-of-work factory, and read
    `state` and `published` to see what was committed.
    """

    def __init__(self, state: S, source: str = "test") -> None:
        self.state = state
        self.source = source
        self.published: list[Published] = []
        self.commits = 0
        self._staged: list[Published] = []
        self._snapshot: dict[str, Any] | None = None

    def factory(self) -> Callable[[], Self]:
        return lambda: self

    def opened(self) -> None:
        """Hook for subclasses, called at the start of every block (the repositories of the state)."""

    async def __aenter__(self) -> Self:
        if self._snapshot is not None:
            raise RuntimeError("unit of work entered twice: a use case opened a second one inside the first")
        self._snapshot = copy.deepcopy(vars(self.state))
        self._staged = []
        self.opened()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        snapshot, self._snapshot = self._snapshot, None
        if snapshot is not None:  # not committed: what the block changed is rolled back
            vars(self.state).clear()
            vars(self.state).update(snapshot)
        self._staged = []

    def publish(self, event: Event, *, tenant_id: str) -> EventMeta:
        meta = EventMeta(
            id=context.new_id(),
            source=f"clinicflow/{self.source}",
            type=event.TYPE,
            time=datetime.now(UTC),
            subject=event.aggregate_id(),
            tenant_id=tenant_id,
            correlation_id=context.current_correlation_id(),
            causation_id=context.causation_id.get(),
        )
        self._staged.append(Published(event, meta))
        return meta

    async def commit(self) -> None:
        if self._snapshot is None:
            raise RuntimeError("unit of work used outside `async with`")
        self.published.extend(self._staged)
        self._staged = []
        self.commits += 1
        # What is committed stays when the block ends; later changes in the same block roll back to here.
        self._snapshot = copy.deepcopy(vars(self.state))

    def events(self, kind: type[Event] | None = None) -> list[Any]:
        """The committed events (of one type), oldest first."""
        return [p.event for p in self.published if kind is None or isinstance(p.event, kind)]
