"""When reminders go out: whole days before by the branch's calendar, other offsets by the clock.

"A day before" a 10:00 visit is 10:00 the day before in the branch's zone, even across a DST change
(23 or 25 real hours); "5 hours before" is always 5 real hours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

DAY_MINUTES = 24 * 60


def due_at(starts_at: datetime, offset_minutes: int, zone: ZoneInfo) -> datetime:
    if offset_minutes % DAY_MINUTES == 0:
        local = starts_at.astimezone(zone)
        wall = local.replace(tzinfo=None) - timedelta(days=offset_minutes // DAY_MINUTES)
        return wall.replace(tzinfo=zone).astimezone(UTC)
    # Aware arithmetic in one zone is wall-clock arithmetic in Python: subtract in UTC.
    return starts_at.astimezone(UTC) - timedelta(minutes=offset_minutes)


def schedule(
    starts_at: datetime, offsets: tuple[int, ...], zone: ZoneInfo, now: datetime
) -> list[tuple[int, datetime]]:
    """(offset, due instant) of every reminder still ahead; one whose time has passed is not sent late."""
    out = [(offset, due_at(starts_at, offset, zone)) for offset in offsets]
    return sorted(((o, d) for o, d in out if d > now), key=lambda item: item[1])


def action_id(appointment_id: str, kind: str) -> str:
    return f"appt:{appointment_id}:{kind}"


def parse_action_id(button_id: str) -> tuple[str, str] | None:
    """`appt:<id>:confirm` -> (id, confirm); anything else -> None."""
    parts = button_id.split(":")
    if len(parts) != 3 or parts[0] != "appt" or parts[2] not in ("confirm", "reschedule") or not parts[1]:
        return None
    return parts[1], parts[2]
