"""The only package of telephony that builds queries (one module per kind of data)."""

from __future__ import annotations

from telephony.repository.calls import (
    CALL_KEY,
    AccountRepository,
    CallRepository,
    Card,
    ContactRepository,
    StoredCall,
    event_from_json,
    event_to_json,
)
from telephony.repository.privacy import PrivacyRepository
from telephony.repository.recordings import RecordingRepository, recording_of

__all__ = [
    "CALL_KEY",
    "AccountRepository",
    "CallRepository",
    "Card",
    "ContactRepository",
    "PrivacyRepository",
    "RecordingRepository",
    "StoredCall",
    "event_from_json",
    "event_to_json",
    "recording_of",
]
