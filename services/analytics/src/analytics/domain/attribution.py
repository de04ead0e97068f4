"""Where a request came from: its channel and its source (docs/analytics.md, "Attribution")."""

from __future__ import annotations

#: The channels reports group by.
CHANNELS = ("call", "whatsapp", "telegram", "instagram", "sms", "site_form", "tilda", "online_booking", "manual")

#: leads' intake channel -> the report's channel; `message` is resolved by the messenger.
_INTAKE = {
    "call": "call",
    "web_form": "site_form",
    "tilda": "tilda",
    "online_booking": "online_booking",
    "manual": "manual",
}
_MESSENGERS = {"whatsapp", "telegram", "instagram", "sms"}


def channel_of(intake: str | None, source: str | None, message_channel: str | None) -> str:
    """The report's channel of a lead from what leads and notifications said about it."""
    if intake == "message":
        for candidate in (message_channel, source):
            if candidate in _MESSENGERS:
                return str(candidate)
        return "whatsapp"  # leads makes message leads only from WhatsApp and SMS senders, SMS names itself
    if intake is None and message_channel in _MESSENGERS:
        return str(message_channel)
    return _INTAKE.get(intake or "manual", "manual")
