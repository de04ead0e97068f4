"""Asterisk: AMI Cdr events posted by the clinic's forwarder, signed with HMAC-SHA256 over the body."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from kit.webhooks import MalformedWebhook, SignatureInvalid
from telephony.domain import (
    ANSWERED,
    DISP_ANSWERED,
    DISP_BUSY,
    DISP_FAILED,
    DISP_MISSED,
    ENDED,
    INBOUND,
    OUTBOUND,
    STAGE_RANK,
    STARTED,
    CallEvent,
)
from telephony.providers.base import Account, Inbound, _required, e164, int_field, json_object

_ASTERISK_END = {"answered": DISP_ANSWERED, "no answer": DISP_MISSED, "busy": DISP_BUSY, "failed": DISP_FAILED}


def asterisk_signature(secret: str, body: bytes) -> str:
    """`sha256=` + the hex HMAC-SHA256 of the raw body (the forwarder's `X-Asterisk-Signature`)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Asterisk:
    """An Asterisk PBX has no webhooks of its own: a small forwarder on the PBX listens to AMI and posts each
    `Cdr` event (one per call leg, after the leg ends) as JSON, signed `X-Asterisk-Signature: sha256=<hex
    HMAC-SHA256 of the raw body>` with the key the clinic gave telephony. One Cdr holds the whole leg (start,
    answer, end), so it becomes up to three events; legs of one call share `LinkedID`. Times are the PBX's
    wall clock (the account's timezone); an unanswered leg's AnswerTime is empty."""

    name = "asterisk"

    def verify(self, account: Account, request: Inbound) -> None:
        given = request.headers.get("x-asterisk-signature", "")
        if not given:
            raise SignatureInvalid("The X-Asterisk-Signature header is missing.", field="X-Asterisk-Signature")
        expected = asterisk_signature(account.secret, request.body)
        if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
            raise SignatureInvalid(field="X-Asterisk-Signature")

    def parse(self, account: Account, request: Inbound) -> list[CallEvent]:
        f = json_object(request.body)
        if str(f.get("Event", "")).lower() != "cdr":
            return []  # the forwarder may pass other AMI events; telephony uses Cdr only
        _required(f, "UniqueID", "StartTime")
        unique = str(f["UniqueID"])
        call_id = str(f.get("LinkedID") or unique)
        zone = ZoneInfo(account.timezone)
        start = _asterisk_time(f.get("StartTime"), zone, "StartTime")
        answer = _asterisk_time(f.get("AnswerTime"), zone, "AnswerTime")
        end = _asterisk_time(f.get("EndTime"), zone, "EndTime") or request.received_at
        assert start is not None
        source, destination = str(f.get("Source") or ""), str(f.get("Destination") or "")
        # A leg from an extension (a short number, or the internal context) to a full number is outbound.
        outbound = (len(source) <= 5 and len(destination) > 5) or str(f.get("DestinationContext", "")).startswith(
            "from-internal"
        )
        caller, tracking = (destination, f.get("CallerIDNum") or "") if outbound else (source, destination)
        disposition = _ASTERISK_END.get(str(f.get("Disposition", "")).lower(), DISP_FAILED)
        billable = int_field(str(f.get("BillableSeconds") or ""), "BillableSeconds")
        duration = int_field(str(f.get("Duration") or ""), "Duration")
        common: dict[str, Any] = {
            "provider": self.name,
            "provider_call_id": call_id,
            "direction": OUTBOUND if outbound else INBOUND,
            "caller": e164(caller, account.country),
            "tracking_number": e164(str(tracking), account.country) if len(str(tracking)) > 5 else None,
        }
        events = [CallEvent(**common, event_id=f"{unique}:started", seq=STAGE_RANK[STARTED], stage=STARTED, at=start)]
        if answer is not None and disposition == DISP_ANSWERED:
            events.append(
                CallEvent(**common, event_id=f"{unique}:answered", seq=STAGE_RANK[ANSWERED], stage=ANSWERED, at=answer)
            )
        events.append(
            CallEvent(
                **common,
                event_id=f"{unique}:ended",
                seq=STAGE_RANK[ENDED],
                stage=ENDED,
                at=end,
                disposition=disposition,
                talk_seconds=billable if disposition == DISP_ANSWERED else 0,
                duration_seconds=max(duration, billable),
                # The dialplan's MixMonitor file name goes in the CDR's userfield (the usual Asterisk recipe).
                recording_ref=(str(f.get("UserField") or "") or None) if disposition == DISP_ANSWERED else None,
            )
        )
        return events


def _asterisk_time(value: object, zone: ZoneInfo, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone).astimezone(UTC)
    except ValueError as exc:
        raise MalformedWebhook(f"{name} is not YYYY-MM-DD HH:MM:SS.", field=name) from exc
