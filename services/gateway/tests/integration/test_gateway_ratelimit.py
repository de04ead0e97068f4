"""The login limiter on a real Redis: replicas share the counts."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from devkit.infra import Infra
from gateway.domain import TooManyAttempts
from gateway.ratelimit import RateLimiter
from kit.context import new_id


async def test_login_rate_limiter_shares_state_in_redis(infra: Infra) -> None:
    redis = Redis.from_url(infra.redis_url)
    first, second = RateLimiter(redis), RateLimiter(redis)  # two gateway replicas
    key = f"test:{new_id()}"
    try:
        for _ in range(3):
            await first.hit(key, limit=5, window_seconds=60)
        for _ in range(2):
            await second.hit(key, limit=5, window_seconds=60)
        with pytest.raises(TooManyAttempts) as raised:
            await first.hit(key, limit=5, window_seconds=60)
        assert 0 < raised.value.retry_after <= 60
        await second.reset(key)
        await first.hit(key, limit=5, window_seconds=60)
    finally:
        await redis.aclose()
