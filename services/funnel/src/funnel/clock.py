"""The service's clock: real time, plus an offset read from a file when the test stack sets one.

Only test stacks set FUNNEL_CLOCK_FILE (devkit's `stack.clock_file("funnel")`); the api and the worker read the
same file, so an end-to-end test moves both at once (e.g. six months ahead for the Lost timer).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]


class FileOffsetClock:
    def __init__(self, path: str) -> None:
        self.path = path
        self._mtime = -1.0
        self._offset = timedelta(0)

    def __call__(self) -> datetime:
        try:
            mtime = os.stat(self.path).st_mtime
        except FileNotFoundError:
            return datetime.now(UTC)
        if mtime != self._mtime:
            with open(self.path) as f:
                raw = f.read().strip()
            self._offset = timedelta(seconds=float(raw or 0))
            self._mtime = mtime
        return datetime.now(UTC) + self._offset


def system_now() -> datetime:
    return datetime.now(UTC)


def make_clock(clock_file: str) -> Clock:
    return FileOffsetClock(clock_file) if clock_file else system_now
