"""The service's clock: real time, plus an offset read from a file when the test stack sets one (kit.clock).

Only test stacks set FUNNEL_CLOCK_FILE (devkit's `stack.clock_file("funnel")`), e.g. to move six months ahead
for the Lost timer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from kit.clock import OffsetClock

Clock = Callable[[], datetime]


def system_now() -> datetime:
    return datetime.now(UTC)


def make_clock(clock_file: str) -> Clock:
    return OffsetClock(clock_file) if clock_file else system_now
