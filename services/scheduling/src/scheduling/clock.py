"""The service's clock: real time, plus an offset read from a file when the test stack sets one."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from scheduling.domain.clock import Clock, SystemClock


class FileOffsetClock:
    """Real time plus the seconds written in `path` (missing or empty file: no offset).

    Only test stacks set SCHEDULING_CLOCK_FILE; the api and the worker read the same file, so an e2e test
    moves both at once. The file is re-read when its mtime changes.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._mtime = -1.0
        self._offset = timedelta(0)

    def now(self) -> datetime:
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


def make_clock(clock_file: str) -> Clock:
    return FileOffsetClock(clock_file) if clock_file else SystemClock()
