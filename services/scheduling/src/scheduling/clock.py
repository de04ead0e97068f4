"""The service's clock: real time, plus an offset read from a file when the test stack sets one (kit.clock)."""

from __future__ import annotations

from kit.clock import OffsetClock
from scheduling.domain.clock import Clock, SystemClock


def make_clock(clock_file: str) -> Clock:
    return OffsetClock(clock_file) if clock_file else SystemClock()
