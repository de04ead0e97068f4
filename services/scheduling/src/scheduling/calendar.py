"""The appointment as an iCalendar (RFC 5545) file, made with the `icalendar` library."""

from __future__ import annotations

from datetime import datetime

from icalendar import Calendar, Event


def appointment_ics(
    *,
    uid: str,
    starts_at: datetime,
    ends_at: datetime,
    summary: str,
    location: str | None,
    description: str,
    stamp: datetime,
    cancelled: bool = False,
) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//ClinicFlow//scheduling//EN")
    cal.add("version", "2.0")
    cal.add("method", "CANCEL" if cancelled else "PUBLISH")
    event = Event()
    event.add("uid", f"{uid}@clinicflow")
    event.add("dtstamp", stamp)
    event.add("dtstart", starts_at)
    event.add("dtend", ends_at)
    event.add("summary", summary)
    event.add("description", description)
    if location:
        event.add("location", location)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    cal.add_component(event)
    return bytes(cal.to_ical())
