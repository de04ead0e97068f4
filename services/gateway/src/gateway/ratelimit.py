"""The login limiter: kit's fixed-window counters in Redis, answering with the gateway's TooManyAttempts."""

from __future__ import annotations

from redis.asyncio import Redis

from gateway.domain import TooManyAttempts
from kit.ratelimit import FixedWindowLimiter


class RateLimiter(FixedWindowLimiter):
    def __init__(self, redis: Redis, *, prefix: str = "clinicflow:ratelimit") -> None:
        super().__init__(redis, prefix=prefix, error=TooManyAttempts)
