"""What telephony's use cases share: the clock, the live stream's channel."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, Protocol


def now() -> datetime:
    return datetime.now(UTC)


def live_channel(tenant_id: str) -> str:
    """Redis pub/sub channel of a clinic's incoming calls (the console's live stream)."""
    return f"telephony:calls:{tenant_id}"


class Publisher(Protocol):
    def publish(self, channel: str, message: str) -> Awaitable[Any]: ...
