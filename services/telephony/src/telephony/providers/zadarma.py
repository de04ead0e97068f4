"""Zadarma: form-encoded NOTIFY_* events signed with HMAC-SHA1 (`Signature`) (docs/telephony.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
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
    RECORDED,
    STAGE_RANK,
    STARTED,
    CallEvent,
)
from telephony.providers.base import Account, Inbound, _required, e164, form, int_field

_ZADARMA_DISPOSITIONS = {
    "answered": DISP_ANSWERED,
    "busy": DISP_BUSY,
    "cancel": DISP_MISSED,
    "no answer": DISP_MISSED,
    "no_answer": DISP_MISSED,
}


def zadarma_signature(secret: str, text: str) -> str:
    """base64 of the *hex* HMAC-SHA1 (Zadarma's documented quirk)."""
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def zadarma_signed_string(fields: Mapping[str, str]) -> str:
    event = fields.get("event", "")
    keys: tuple[str, ...]
    if event in ("NOTIFY_START", "NOTIFY_INTERNAL", "NOTIFY_END"):
        keys = ("caller_id", "called_did", "call_start")
    elif event == "NOTIFY_ANSWER":
        keys = ("caller_id", "destination", "call_start")
    elif event in ("NOTIFY_OUT_START", "NOTIFY_OUT_END"):
        keys = ("internal", "destination", "call_start")
    elif event == "NOTIFY_RECORD":
        keys = ("pbx_call_id", "call_id_with_rec")
    else:
        raise MalformedWebhook(f"Unknown Zadarma event {event[:40]!r}.", field="event")
    return "".join(fields.get(k, "") for k in keys)


class Zadarma:
    name = "zadarma"

    def verify(self, account: Account, request: Inbound) -> None:
        given = request.headers.get("signature", "")
        if not given:
            raise SignatureInvalid("The Signature header is missing.", field="Signature")
        expected = zadarma_signature(account.secret, zadarma_signed_string(form(request.body)))
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise SignatureInvalid(field="Signature")

    def parse(self, account: Account, request: Inbound) -> list[CallEvent]:
        f = form(request.body)
        event = f.get("event", "")
        _required(f, "pbx_call_id")
        call_id = f["pbx_call_id"]
        zone = ZoneInfo(account.timezone)
        start = _zadarma_time(f.get("call_start"), zone) or request.received_at
        outbound = event.startswith("NOTIFY_OUT_")
        if outbound:
            caller, tracking, direction = f.get("destination"), f.get("caller_id") or f.get("internal"), OUTBOUND
        else:
            caller, tracking, direction = f.get("caller_id"), f.get("called_did"), INBOUND
        common: dict[str, Any] = {
            "provider": self.name,
            "provider_call_id": call_id,
            "event_id": f"{call_id}:{event}",
            "direction": direction,
            "caller": e164(caller, account.country),
            "tracking_number": e164(tracking, account.country),
        }
        if event in ("NOTIFY_START", "NOTIFY_OUT_START"):
            return [CallEvent(**common, seq=STAGE_RANK[STARTED], stage=STARTED, at=start)]
        if event == "NOTIFY_INTERNAL":  # routed to an extension: still ringing, nothing new for the record
            return []
        if event == "NOTIFY_ANSWER":
            common["tracking_number"] = None  # ANSWER's `destination` is the extension, not the dialled number
            return [CallEvent(**common, seq=STAGE_RANK[ANSWERED], stage=ANSWERED, at=request.received_at)]
        if event in ("NOTIFY_END", "NOTIFY_OUT_END"):
            disposition = _ZADARMA_DISPOSITIONS.get(f.get("disposition", "").lower(), DISP_FAILED)
            talk = int_field(f.get("duration"), "duration")
            recorded = f.get("is_recorded") == "1" and f.get("call_id_with_rec")
            return [
                CallEvent(
                    **common,
                    seq=STAGE_RANK[ENDED],
                    stage=ENDED,
                    at=request.received_at,
                    disposition=disposition,
                    talk_seconds=talk if disposition == DISP_ANSWERED else 0,
                    duration_seconds=max(int((request.received_at - start).total_seconds()), talk),
                    recording_ref=f["call_id_with_rec"] if recorded else None,
                )
            ]
        # NOTIFY_RECORD
        _required(f, "call_id_with_rec")
        return [
            CallEvent(
                provider=self.name,
                provider_call_id=call_id,
                event_id=f"{call_id}:{event}",
                seq=STAGE_RANK[RECORDED],
                stage=RECORDED,
                at=request.received_at,
                recording_ref=f["call_id_with_rec"],
            )
        ]


def _zadarma_time(value: str | None, zone: ZoneInfo) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone).astimezone(UTC)
    except ValueError as exc:
        raise MalformedWebhook("call_start is not YYYY-MM-DD HH:MM:SS.", field="call_start") from exc
