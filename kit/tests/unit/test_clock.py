"""kit.clock: test stacks move a service's time by writing seconds into a file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from kit.clock import OffsetClock


def test_without_a_file_it_is_real_utc_time() -> None:
    clock = OffsetClock()
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=1)
    assert clock.offset() == timedelta(0)


def test_the_offset_follows_the_file_and_a_bad_or_missing_one_means_none(tmp_path: Path) -> None:
    path = tmp_path / "clock"
    clock = OffsetClock(str(path))
    assert clock.offset() == timedelta(0)  # not written yet
    path.write_text("3600")
    assert clock.offset() == timedelta(hours=1)
    assert abs(clock() - (datetime.now(UTC) + timedelta(hours=1))) < timedelta(seconds=1)
    path.write_text("-86400.5")  # another size: read again at once
    assert clock.offset() == timedelta(seconds=-86400.5)
    path.write_text("soon")
    assert clock.offset() == timedelta(0)
    path.unlink()
    assert clock.offset() == timedelta(0)
