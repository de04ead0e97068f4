"""The service's clock: real time, optionally shifted by an offset file (development and tests move time)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path


class Clock:
    def __init__(self, offset_file: str = "") -> None:
        self._path = Path(offset_file) if offset_file else None
        self._offset = 0.0
        self._read_at = 0.0

    def offset(self) -> float:
        if self._path is None:
            return 0.0
        if time.monotonic() - self._read_at > 0.2:
            try:
                self._offset = float(self._path.read_text().strip() or 0)
            except (OSError, ValueError):
                self._offset = 0.0
            self._read_at = time.monotonic()
        return self._offset

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset())
