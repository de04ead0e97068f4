"""Use cases of telephony, one module per use case: one unit of work each (`TelephonyWork`, services.work);
events leave through the outbox (`work.publish`). The names below are what the api, the worker and the tests use."""

from __future__ import annotations

from telephony.services.accounts import add_number, connect, connections, list_numbers, remove_number
from telephony.services.calls import card, list_calls
from telephony.services.common import Publisher, live_channel, now
from telephony.services.contacts import forget_lead, remember_lead
from telephony.services.dial import Dialled, dial
from telephony.services.directory import Directory
from telephony.services.ingress import Handled, apply_events, call_event, common_fields, is_call_race, receive
from telephony.services.recordings import (
    PlaybackLinks,
    object_key,
    play,
    recording_accesses,
    recording_link,
    recordings_round,
    retention,
    retention_round,
    set_retention,
)
from telephony.services.work import TelephonyUnitOfWork, TelephonyWork, TelephonyWorkFactory

__all__ = [
    "Dialled",
    "Directory",
    "Handled",
    "PlaybackLinks",
    "Publisher",
    "TelephonyUnitOfWork",
    "TelephonyWork",
    "TelephonyWorkFactory",
    "add_number",
    "apply_events",
    "call_event",
    "card",
    "common_fields",
    "connect",
    "connections",
    "dial",
    "forget_lead",
    "is_call_race",
    "list_calls",
    "list_numbers",
    "live_channel",
    "now",
    "object_key",
    "play",
    "receive",
    "recording_accesses",
    "recording_link",
    "recordings_round",
    "remember_lead",
    "remove_number",
    "retention",
    "retention_round",
    "set_retention",
]
