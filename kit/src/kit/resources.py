"""Resources an app holds besides its database (Redis, an HTTP client, a provider adapter).

One `Resource` gives the app factory everything it used to take as separate keywords: the dependency a
handler asks for by `name`, the readiness check of the same name, and the open/close hooks run by the
lifespan. `create_api_app(resources=[...])` and `create_worker_app(resources=[...])` take a list of them
(docs/architecture.md, "Resources").
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from litestar import Litestar
from litestar.di import Provide

if TYPE_CHECKING:  # imported by `redis()` itself: a process without Redis does not load the client (~0.3 s)
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

T = TypeVar("T")
Hook = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Resource(Generic[T]):
    name: str
    value: T
    #: Raises when the resource is unusable; reported by /health/ready under `name`.
    check: Hook | None = None
    open: Hook | None = None
    close: Hook | None = None

    def provide(self) -> Provide:
        value = self.value
        return Provide(lambda: value, sync_to_thread=False)


def redis(url: str, name: str = "redis") -> Resource[Redis]:
    """A Redis client from a URL: `ping` is its readiness check, `aclose` runs at shutdown."""
    from redis.asyncio import Redis

    client: Redis = Redis.from_url(url)
    return Resource(name, client, check=client.ping, close=client.aclose)


def dependencies(resources: Sequence[Resource[Any]]) -> dict[str, Provide]:
    return {r.name: r.provide() for r in resources}


def checks(resources: Sequence[Resource[Any]]) -> dict[str, Callable[[], Awaitable[None]]]:
    def as_check(hook: Hook) -> Callable[[], Awaitable[None]]:
        async def check() -> None:
            await hook()  # a client's ping answers True; only raising matters

        return check

    return {r.name: as_check(r.check) for r in resources if r.check is not None}


def lifespan(resources: Sequence[Resource[Any]]) -> Callable[[Litestar], contextlib.AbstractAsyncContextManager[None]]:
    """Open in order, close in reverse order; a failing close is logged and the others still close."""

    @asynccontextmanager
    async def manage(_: Litestar) -> AsyncIterator[None]:
        opened: list[Resource[Any]] = []
        try:
            for resource in resources:
                if resource.open is not None:
                    await resource.open()
                opened.append(resource)
            yield
        finally:
            for resource in reversed(opened):
                if resource.close is None:
                    continue
                try:
                    await resource.close()
                except Exception:
                    log.warning("closing %s failed", resource.name, exc_info=True)

    return manage
