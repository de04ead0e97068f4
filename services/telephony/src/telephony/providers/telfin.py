"""Telfin: dial-in / dial-out / answer / hangup events; the secret travels in the event URL."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta

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
from telephony.providers.base import Account, Inbound, _required, e164, form, int_field, query_of

_TELFIN_STAGES = {"dial-in": STARTED, "dial-out": STARTED, "answer": ANSWERED, "hangup": ENDED}
_TELFIN_END = {
    "answer": DISP_ANSWERED,
    "answered": DISP_ANSWERED,
    "busy": DISP_BUSY,
    "noanswer": DISP_MISSED,
    "no answer": DISP_MISSED,
    "cancel": DISP_MISSED,
    "congestion": DISP_FAILED,
    "chanunavail": DISP_FAILED,
}


class Telfin:
    """Telfin (Телфин) event URLs: form-urlencoded `EventType` dial-in / dial-out / answer / hangup. Telfin
    signs nothing: the clinic puts a secret `token` in the event URL it registers, and that is what is checked.
    `CallID` is stable across transfers (each leg has its own `SubCallID`); a call started through the API
    (click-to-call) carries the API's `CallAPIID`, which names the call then."""

    name = "telfin"

    def verify(self, account: Account, request: Inbound) -> None:
        given = query_of(request.url).get("token", "")
        if not given:
            raise SignatureInvalid("The token in the event URL is missing.", field="token")
        if not hmac.compare_digest(given.encode(), account.secret.encode()):
            raise SignatureInvalid("The token in the event URL is not this clinic's.", field="token")

    def parse(self, account: Account, request: Inbound) -> list[CallEvent]:
        f = form(request.body)
        _required(f, "EventType", "CallID")
        kind = f["EventType"].lower()
        stage = _TELFIN_STAGES.get(kind)
        if stage is None:
            raise MalformedWebhook(f"Unknown Telfin EventType {kind[:40]!r}.", field="EventType")
        call_id = f.get("CallAPIID") or f["CallID"]
        at = _telfin_time(f.get("EventTime"), request.received_at)
        outbound = kind == "dial-out" or f.get("CallFlow", "").lower() == "out"
        # dial-out: CallerIDNum is the clinic's line, CalledNumber the person called.
        if outbound:
            caller, tracking = f.get("CalledNumber"), f.get("CallerIDNum")
        else:
            caller, tracking = f.get("CallerIDNum"), f.get("CalledDID") or f.get("CalledNumber")
        disposition = None
        talk = None
        if stage == ENDED:
            status = f.get("CallStatus", "").lower()
            disposition = _TELFIN_END.get(status, DISP_FAILED)
            talk = int_field(f.get("Duration"), "Duration") if disposition == DISP_ANSWERED else 0
        return [
            CallEvent(
                provider=self.name,
                provider_call_id=call_id,
                event_id=f"{call_id}:{f.get('SubCallID', '')}:{kind}",
                seq=STAGE_RANK[stage],
                stage=stage,
                at=at,
                direction=OUTBOUND if outbound else INBOUND,
                caller=e164(caller, account.country),
                tracking_number=e164(tracking, account.country) if tracking and len(tracking) > 5 else None,
                disposition=disposition,
                talk_seconds=talk,
                recording_ref=(f.get("RecID") or None) if stage == ENDED else None,
            )
        ]


def _telfin_time(value: str | None, default: datetime) -> datetime:
    """Telfin's EventTime is Unix time in microseconds."""
    if not value:
        return default
    try:
        micros = int(value)
    except ValueError as exc:
        raise MalformedWebhook("EventTime is not Unix microseconds.", field="EventTime") from exc
    if micros < 0 or micros > 10**17:
        raise MalformedWebhook("EventTime is out of range.", field="EventTime")
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
