"""The login limiter: kit's fixed-window counters in Redis, answering with the gateway's TooManyAttempts.

Login counts failures only (`failed` after a refused attempt, `check` before each one), so the staff of a
clinic behind one address do not lock each other out by logging in successfully.
"""

from __future__ import annotations

from redis.asyncio import Redis

from gateway.domain import TooManyAttempts
from kit.ratelimit import FixedWindowLimiter


class RateLimiter(FixedWindowLimiter):
    def __init__(self, redis: Redis, *, prefix: str = "clinicflow:ratelimit") -> None:
        super().__init__(redis, prefix=prefix, error=TooManyAttempts)

    async def check(self, key: str, *, limit: int) -> None:
        """Refuse (429 with the seconds left) once `limit` failures are counted in the key's window."""
        name = f"{self.prefix}:{key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(name)
            pipe.ttl(name)
            count, ttl = await pipe.execute()
        if count is not None and int(count) >= limit:
            raise self.error(max(int(ttl), 1))

    async def failed(self, key: str, *, window_seconds: int) -> None:
        """Count one failure in the key's window (which starts at the first one)."""
        name = f"{self.prefix}:{key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(name)
            pipe.expire(name, window_seconds, nx=True)
            await pipe.execute()
