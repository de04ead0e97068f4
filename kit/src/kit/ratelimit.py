"""Fixed-window rate limits kept in Redis, so every replica of a service shares the counts."""

from __future__ import annotations

import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class RateLimited(Exception):
    """Over the limit; `retry_after` is the number of seconds until the window ends (mapped to 429)."""

    slug = "too-many-requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many attempts; try again in {retry_after} s.")
        self.retry_after = retry_after


class FixedWindowLimiter:
    """`hit(key)` counts one attempt in the key's current window and raises once the limit is passed.

    `error` builds the exception (a service may raise its own domain error); `fail_open` lets attempts
    through, logged, while Redis is unreachable (for intake, where losing a submission is worse than spam).
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str = "clinicflow:ratelimit",
        error: Callable[[int], Exception] = RateLimited,
        fail_open: bool = False,
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.error = error
        self.fail_open = fail_open

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "clinicflow:ratelimit",
        error: Callable[[int], Exception] = RateLimited,
        fail_open: bool = False,
    ) -> FixedWindowLimiter:
        redis = Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=2.0)
        return cls(redis, prefix=prefix, error=error, fail_open=fail_open)

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> None:
        name = f"{self.prefix}:{key}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, window_seconds, nx=True)
                pipe.ttl(name)
                count, _, ttl = await pipe.execute()
        except RedisError:
            if not self.fail_open:
                raise
            log.warning("rate limit %s not checked: Redis unreachable", key, exc_info=True)
            return
        if int(count) > limit:
            raise self.error(max(int(ttl), 1))

    async def reset(self, key: str) -> None:
        await self.redis.delete(f"{self.prefix}:{key}")

    async def ping(self) -> None:
        await self.redis.ping()

    async def close(self) -> None:
        await self.redis.aclose()
