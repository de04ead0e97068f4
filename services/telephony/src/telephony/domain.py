"""Rules of telephony: plain Python, no framework (an import contract keeps it so).

A provider reports one call as several events (ringing, answered, ended, recorded), possibly twice and in
any order. Each event is stored once; the call record is always *folded* from all of a call's stored events
sorted by the provider's sequence number, so duplicates and late arrivals give the same record.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

INBOUND, OUTBOUND = "inbound", "outbound"
DIRECTIONS = (INBOUND, OUTBOUND)

# What a provider event says happened.
STARTED, ANSWERED, ENDED, RECORDED = "started", "answered", "ended", "recorded"
#: A tie-breaker when a provider gives two events one sequence number (and the order for providers without one).
STAGE_RANK = {STARTED: 1, ANSWERED: 2, ENDED: 3, RECORDED: 4}

# Dispositions of an ended call.
DISP_ANSWERED, DISP_MISSED, DISP_BUSY, DISP_FAILED = "answered", "missed", "busy", "failed"
DISPOSITIONS = (DISP_ANSWERED, DISP_MISSED, DISP_BUSY, DISP_FAILED)

# States of the record.
RINGING, IN_PROGRESS, COMPLETED = "ringing", "in_progress", "completed"

MAX_SOURCE = 60
MAX_LABEL = 120
_SOURCE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,59}$")


class TelephonyError(Exception):
    """Base of the service's errors; `field` names the offending field in the problem document."""

    field: str | None = None


class InvalidTelephony(TelephonyError):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class NotFound(TelephonyError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Conflict(TelephonyError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class CallEvent:
    """One provider event, normalised by its adapter (telephony.providers)."""

    provider: str
    provider_call_id: str
    #: The provider's id of this event (the receipt key): a redelivery has the same one.
    event_id: str
    #: The provider's sequence number within the call (its order), else the stage's rank.
    seq: int
    stage: str
    at: datetime
    direction: str | None = None
    caller: str | None = None
    tracking_number: str | None = None
    #: Only on ENDED: one of DISPOSITIONS.
    disposition: str | None = None
    talk_seconds: int | None = None
    duration_seconds: int | None = None
    recording_ref: str | None = None


@dataclass(frozen=True)
class CallRecord:
    """The canonical call record every provider maps onto (../shared/PROVIDERS.md, "Telephony")."""

    provider: str
    provider_call_id: str
    direction: str
    caller: str
    tracking_number: str
    state: str
    started_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    talk_seconds: int = 0
    duration_seconds: int = 0
    disposition: str | None = None
    recording_ref: str | None = None
    last_seq: int = 0

    @property
    def missed(self) -> bool:
        return is_missed(self)


def order_key(event: CallEvent) -> tuple[int, int, str]:
    return (event.seq, STAGE_RANK[event.stage], event.event_id)


def fold(events: Iterable[CallEvent]) -> CallRecord:
    """The call record from its events, whatever order they came in and however often each came."""
    unique = {e.event_id: e for e in events}
    ordered = sorted(unique.values(), key=order_key)
    if not ordered:
        raise InvalidTelephony("A call needs at least one event.", field="events")
    first = ordered[0]
    direction = next((e.direction for e in ordered if e.direction), INBOUND)
    caller = next((e.caller for e in ordered if e.caller), "")
    tracking = next((e.tracking_number for e in ordered if e.tracking_number), "")
    started = [e.at for e in ordered if e.stage == STARTED]
    record = CallRecord(
        provider=first.provider,
        provider_call_id=first.provider_call_id,
        direction=direction,
        caller=caller,
        tracking_number=tracking,
        state=RINGING,
        started_at=min(started) if started else min(e.at for e in ordered),
        last_seq=ordered[-1].seq,
    )
    for e in ordered:
        record = _apply(record, e)
    return record


def _apply(record: CallRecord, e: CallEvent) -> CallRecord:
    if e.stage == ANSWERED:
        if record.answered_at is None:
            record = replace(record, answered_at=e.at, state=IN_PROGRESS if record.ended_at is None else record.state)
    elif e.stage == ENDED and record.ended_at is None:
        disposition = e.disposition or (DISP_ANSWERED if record.answered_at else DISP_MISSED)
        talk = e.talk_seconds
        if talk is None:
            talk = int((e.at - record.answered_at).total_seconds()) if record.answered_at else 0
        if disposition != DISP_ANSWERED:
            talk = 0
        duration = e.duration_seconds
        if duration is None:
            duration = max(int((e.at - record.started_at).total_seconds()), talk)
        record = replace(
            record,
            state=COMPLETED,
            ended_at=e.at,
            disposition=disposition,
            talk_seconds=max(talk, 0),
            duration_seconds=max(duration, 0),
            # A provider may report the answer only in the end event (talk time > 0).
            answered_at=record.answered_at if record.answered_at or disposition != DISP_ANSWERED else None,
        )
    if e.recording_ref and record.recording_ref is None:
        record = replace(record, recording_ref=e.recording_ref)
    return record


def is_missed(record: CallRecord) -> bool:
    """The missed-call rule: an inbound call that ended without anyone at the clinic talking to the caller."""
    return record.direction == INBOUND and record.state == COMPLETED and record.disposition != DISP_ANSWERED


#: The order the call's events are published in; consumers see started before anything else.
ANNOUNCEMENTS = ("started", "answered", "ended", "missed")


def due_announcements(record: CallRecord, announced: Iterable[str]) -> list[str]:
    """The events this record now justifies that were not published yet, in ANNOUNCEMENTS order."""
    done = set(announced)
    wanted = {"started"}
    if record.answered_at is not None:
        wanted.add("answered")
    if record.state == COMPLETED:
        wanted.add("ended")
        if is_missed(record):
            wanted.add("missed")
    return [a for a in ANNOUNCEMENTS if a in wanted and a not in done]


# --- tracking numbers ----------------------------------------------------------------------------
@dataclass(frozen=True)
class TrackingNumber:
    id: str
    tenant_id: str
    number: str
    source: str
    label: str | None
    created_at: datetime


def clean_source(source: str) -> str:
    """A marketing source slug such as `google_ads`, `flyer`, `website` (the leads' source list names)."""
    slug = source.strip().lower()
    if not _SOURCE.match(slug):
        raise InvalidTelephony(
            f"The source is a slug of 1 to {MAX_SOURCE} lower-case letters, digits, _ or -.", field="source"
        )
    return slug


def clean_label(label: str | None) -> str | None:
    if label is None:
        return None
    cleaned = " ".join(label.split())
    if len(cleaned) > MAX_LABEL:
        raise InvalidTelephony(f"The label has at most {MAX_LABEL} characters.", field="label")
    return cleaned or None


def source_of(tracking_number: str, numbers: Iterable[TrackingNumber]) -> str | None:
    """The marketing source the clinic gave the dialled number; None when it is not a tracking number."""
    return next((n.source for n in numbers if n.number == tracking_number), None)


# --- the leads read model ------------------------------------------------------------------------
@dataclass(frozen=True)
class KnownContact:
    lead_id: str
    name: str
    phones: tuple[str, ...] = field(default_factory=tuple)


def phone_variants(e164: str) -> list[str]:
    """A Brazilian mobile with and without the ninth digit are one person (+55 DD 9XXXX-XXXX vs DD XXXX-XXXX)."""
    out = [e164]
    if e164.startswith("+55") and len(e164) == 14 and e164[5] == "9":
        out.append(e164[:5] + e164[6:])
    elif e164.startswith("+55") and len(e164) == 13 and e164[5] in "6789":
        out.append(e164[:5] + "9" + e164[5:])
    return out


# --- recordings ------------------------------------------------------------------------------
#: pending: to fetch from the provider; stored: in the object store; linked: only the provider's reference is
#: kept (a provider whose recordings are not fetched); failed: given up; deleted: removed by retention.
REC_PENDING, REC_STORED, REC_LINKED, REC_FAILED, REC_DELETED = "pending", "stored", "linked", "failed", "deleted"
#: Fetch attempts before a recording is given up (the provider may publish it a while after the call).
MAX_FETCH_ATTEMPTS = 8
MIN_RETENTION_DAYS, MAX_RETENTION_DAYS = 1, 3650
#: kit.links purpose of a playback link.
RECORDING_LINK = "call-recording"


def retry_delay_seconds(attempts: int) -> float:
    """Back-off before the next fetch: 5 s, 10 s, 20 s ... at most an hour."""
    return float(min(5 * 2 ** max(attempts - 1, 0), 3600))


def clean_retention_days(days: int) -> int:
    if not MIN_RETENTION_DAYS <= days <= MAX_RETENTION_DAYS:
        raise InvalidTelephony(f"Recordings are kept {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} days.", field="days")
    return days


@dataclass(frozen=True)
class RetentionRule:
    """A clinic's rule for its recordings: kept `days`; on a person's erasure, those younger than
    `hold_on_erasure_days` are kept (a law or the clinic's own rule, e.g. customer-service calls 90 days)."""

    days: int
    hold_on_erasure_days: int = 0


def clean_retention(days: int, hold_on_erasure_days: int) -> RetentionRule:
    days = clean_retention_days(days)
    if not 0 <= hold_on_erasure_days <= days:
        raise InvalidTelephony(
            "Recordings held on erasure are kept 0 days up to the retention itself.", field="hold_on_erasure_days"
        )
    return RetentionRule(days, hold_on_erasure_days)


def held_on_erasure(recording: Recording, hold_days: int, at: datetime) -> bool:
    """Whether an erased person's recording stays: stored (or, not fetched yet, made) within the clinic's hold."""
    if hold_days <= 0 or recording.state == REC_DELETED:
        return False
    return (recording.stored_at or recording.created_at) > at - timedelta(days=hold_days)


def erased_event(data: dict[str, Any]) -> dict[str, Any]:
    """A stored provider event (as JSON) without the person: the caller goes, the rest stays."""
    return {**data, "caller": None}


@dataclass(frozen=True)
class Recording:
    id: str
    tenant_id: str
    call_id: str
    provider: str
    provider_ref: str
    state: str
    object_key: str | None
    content_type: str | None
    size: int | None
    sha256: str | None
    attempts: int
    created_at: datetime
    stored_at: datetime | None
    deleted_at: datetime | None
    last_error: str | None = None


@dataclass(frozen=True)
class RecordingAccess:
    id: str
    recording_id: str
    call_id: str
    #: link (a staff member minted a playback link) or play (the recording was streamed through one).
    action: str
    user_id: str | None
    link_id: str | None
    client: str | None
    at: datetime


class Gone(TelephonyError):
    """The thing existed but is no more (a recording deleted by retention): 410."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class LinkInvalid(TelephonyError):
    """A playback link that is forged, expired or for another recording: 403."""

    def __init__(self, message: str, *, field: str | None = "token") -> None:
        super().__init__(message)
        self.field = field
