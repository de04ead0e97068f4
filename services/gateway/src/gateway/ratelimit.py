"""Fixed-window counters in Redis: shared by every gateway replica."""

from __future__ import annotations

from redis.asyncio import Redis

from gateway.domain import TooManyAttempts


class RateLimiter:
    def __init__(self, redis: Redis, *, prefix: str = "clinicflow:ratelimit") -> None:
        self.redis = redis
        self.prefix = prefix

    async def hit(self, key: str, *, limit: int, window_seconds: int) -> None:
        name = f"{self.prefix}:{key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_seconds, nx=True)
            pipe.ttl(name)
            count, _, ttl = await pipe.execute()
        if int(count) > limit:
            raise TooManyAttempts(max(int(ttl), 1))

    async def reset(self, key: str) -> None:
        await self.redis.delete(f"{self.prefix}:{key}")
