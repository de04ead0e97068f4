"""Mango Office: `vpbx_api_key`, `sign` = sha256(key + json + salt), `json` events at /events/..."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from kit.webhooks import MalformedWebhook, SignatureInvalid
from telephony.domain import (
    ANSWERED,
    ENDED,
    INBOUND,
    OUTBOUND,
    RECORDED,
    STARTED,
    CallEvent,
)
from telephony.providers.base import Account, Inbound, e164, form


def mango_sign(api_key: str, payload: str, salt: str) -> str:
    """sha256 of the API key, the `json` field exactly as sent, and the salt (the signature key), as hex."""
    return hashlib.sha256((api_key + payload + salt).encode()).hexdigest()


_MANGO_STAGES = {"appeared": STARTED, "connected": ANSWERED, "disconnected": ENDED}


class Mango:
    name = "mango"

    def verify(self, account: Account, request: Inbound) -> None:
        f = form(request.body)
        given = f.get("sign", "")
        if not given:
            raise SignatureInvalid("The sign field is missing.", field="sign")
        if not hmac.compare_digest(f.get("vpbx_api_key", "").encode(), account.api_key.encode()):
            raise SignatureInvalid("vpbx_api_key is not this clinic's.", field="vpbx_api_key")
        expected = mango_sign(account.api_key, f.get("json", ""), account.secret)
        if not hmac.compare_digest(given.lower().encode(), expected.encode()):
            raise SignatureInvalid(field="sign")

    def parse(self, account: Account, request: Inbound) -> list[CallEvent]:
        f = form(request.body)
        try:
            data = json.loads(f.get("json", ""))
        except ValueError as exc:
            raise MalformedWebhook("The json field is not JSON.", field="json") from exc
        if not isinstance(data, dict):
            raise MalformedWebhook("The json field is not an object.", field="json")
        entry = str(data.get("entry_id") or "")
        if not entry:
            raise MalformedWebhook("The field entry_id is missing.", field="entry_id")
        at = _mango_time(data.get("timestamp"), request.received_at)
        if data.get("recording_id"):  # /events/record/added
            return [
                CallEvent(
                    provider=self.name,
                    provider_call_id=entry,
                    event_id=f"{entry}:record:{data['recording_id']}",
                    seq=10**6,
                    stage=RECORDED,
                    at=at,
                    recording_ref=str(data["recording_id"]),
                )
            ]
        stage = _MANGO_STAGES.get(str(data.get("call_state", "")).lower())
        if stage is None:  # OnHold and the like change nothing in the record
            return []
        seq = data.get("seq")
        if not isinstance(seq, int) or seq < 0:
            raise MalformedWebhook("seq is not a whole number.", field="seq")
        source: dict[str, Any] = data["from"] if isinstance(data.get("from"), dict) else {}
        target: dict[str, Any] = data["to"] if isinstance(data.get("to"), dict) else {}
        outbound = bool(source.get("extension")) and not target.get("extension")
        caller, tracking = (
            (target.get("number"), source.get("number"))
            if outbound
            else (
                source.get("number"),
                target.get("line_number") or target.get("number"),
            )
        )
        return [
            CallEvent(
                provider=self.name,
                provider_call_id=entry,
                event_id=f"{entry}:{data.get('call_id', '')}:{seq}",
                seq=seq,
                stage=stage,
                at=at,
                direction=OUTBOUND if outbound else INBOUND,
                caller=e164(str(caller) if caller else None, account.country),
                tracking_number=e164(str(tracking) if tracking else None, account.country),
            )
        ]


def _mango_time(value: object, default: datetime) -> datetime:
    if value is None:
        return default
    if not isinstance(value, int | float) or value < 0:
        raise MalformedWebhook("timestamp is not Unix seconds.", field="timestamp")
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=float(value))
