"""Twilio Voice: status callbacks signed with `X-Twilio-Signature` over the URL and the sorted params."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC
from email.utils import parsedate_to_datetime

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
    RECORDED,
    STAGE_RANK,
    STARTED,
    CallEvent,
)
from telephony.providers.base import Account, Inbound, _required, e164, form, int_field

_TWILIO_END = {
    "completed": DISP_ANSWERED,
    "no-answer": DISP_MISSED,
    "canceled": DISP_MISSED,
    "busy": DISP_BUSY,
    "failed": DISP_FAILED,
}


def twilio_signature(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """base64(HMAC-SHA1(auth token, URL + each POST parameter's name and value, sorted by name))."""
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


class Twilio:
    name = "twilio"

    def verify(self, account: Account, request: Inbound) -> None:
        given = request.headers.get("x-twilio-signature", "")
        if not given:
            raise SignatureInvalid("The X-Twilio-Signature header is missing.", field="X-Twilio-Signature")
        expected = twilio_signature(account.secret, request.url, form(request.body))
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise SignatureInvalid(field="X-Twilio-Signature")

    def parse(self, account: Account, request: Inbound) -> list[CallEvent]:
        f = form(request.body)
        _required(f, "CallSid")
        status = f.get("CallStatus", "").lower()
        event = f.get("StatusCallbackEvent", "").lower()
        if f.get("RecordingSid") or f.get("RecordingUrl"):
            stage = RECORDED
        elif event in ("initiated", "ringing") or (not event and status in ("queued", "initiated", "ringing")):
            stage = STARTED
        elif event == "answered" or (not event and status == "in-progress"):
            stage = ANSWERED
        elif event == "completed" or status in _TWILIO_END:
            stage = ENDED
        else:
            raise MalformedWebhook(f"Unknown Twilio call status {status[:40]!r}.", field="CallStatus")
        seq = int_field(f.get("SequenceNumber"), "SequenceNumber") if f.get("SequenceNumber") else STAGE_RANK[stage]
        outbound = f.get("Direction", "inbound").startswith("outbound")
        caller, tracking = (f.get("To"), f.get("From")) if outbound else (f.get("From"), f.get("To"))
        at = request.received_at
        if f.get("Timestamp"):
            try:
                at = parsedate_to_datetime(f["Timestamp"]).astimezone(UTC)
            except (TypeError, ValueError) as exc:
                raise MalformedWebhook("Timestamp is not an RFC 2822 date.", field="Timestamp") from exc
        duration = int_field(f.get("CallDuration"), "CallDuration") if f.get("CallDuration") else None
        disposition = _TWILIO_END.get(status, DISP_FAILED) if stage == ENDED else None
        sid = f["CallSid"]
        return [
            CallEvent(
                provider=self.name,
                provider_call_id=sid,
                event_id=f"{sid}:{f.get('RecordingSid') or seq}:{stage}",
                seq=seq,
                stage=stage,
                at=at,
                direction=OUTBOUND if outbound else INBOUND,
                caller=e164(caller, account.country),
                tracking_number=e164(tracking, account.country),
                disposition=disposition,
                talk_seconds=(duration or 0) if disposition == DISP_ANSWERED else (0 if stage == ENDED else None),
                duration_seconds=duration,
                recording_ref=f.get("RecordingSid") or f.get("RecordingUrl") or None,
            )
        ]
