"""The services' clock: real time, shifted by the seconds written in a file when a test stack sets one.

Only test stacks set `<SERVICE>_CLOCK_FILE` (devkit's `stack.clock_file(service)`); a service's api and worker
read the same file, so an end-to-end test moves both at once (expiry, reminders, the funnel's Lost timer).
Without a file it is plain UTC time.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta


class OffsetClock:
    """`now()` (or calling it) gives UTC time plus the file's offset; the file is re-read when it changes."""

    def __init__(self, offset_file: str = "") -> None:
        self.path = offset_file
        self._seen: tuple[int, int] | None = None
        self._offset = timedelta(0)

    def offset(self) -> timedelta:
        if not self.path:
            return timedelta(0)
        try:
            stat = os.stat(self.path)
        except OSError:
            return timedelta(0)
        if (stat.st_mtime_ns, stat.st_size) != self._seen:
            try:
                with open(self.path) as f:
                    self._offset = timedelta(seconds=float(f.read().strip() or 0))
            except (OSError, ValueError):
                self._offset = timedelta(0)
            self._seen = (stat.st_mtime_ns, stat.st_size)
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset()

    def __call__(self) -> datetime:
        return self.now()
