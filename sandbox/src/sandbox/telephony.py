"""A telephony provider stand-in: plays a call as Zadarma or Twilio Voice would, signing every delivery the
provider's way, and posts it to the gateway's public ingress (`/webhooks/telephony/<provider>?clinic=`).

`POST /sandbox/telephony/calls` {provider, clinic_id, secret, caller, tracking_number, outcome, duplicate,
reverse} plays one call: outcome answered | missed | busy; `duplicate` sends every event twice, `reverse`
sends them last-to-first (out of order). The answer lists each delivery's HTTP status.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import msgspec
from litestar import Controller, post
from litestar.datastructures import State

from sandbox.channels import Hooks

OUTCOMES = ("answered", "missed", "busy")


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]


def zadarma_signature(secret: str, text: str) -> str:
    """base64 of the hex HMAC-SHA1, as Zadarma documents it."""
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest().encode()).decode()


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()).decode()


_ZADARMA_SIGNED = {
    "NOTIFY_START": ("caller_id", "called_did", "call_start"),
    "NOTIFY_ANSWER": ("caller_id", "destination", "call_start"),
    "NOTIFY_END": ("caller_id", "called_did", "call_start"),
    "NOTIFY_RECORD": ("pbx_call_id", "call_id_with_rec"),
}
_ZADARMA_DISPOSITION = {"answered": "answered", "missed": "no answer", "busy": "busy"}


def zadarma_call(
    secret: str, caller: str, tracking: str, outcome: str, *, timezone: str = "America/Sao_Paulo"
) -> list[Delivery]:
    """NOTIFY_START, (NOTIFY_ANSWER), NOTIFY_END, (NOTIFY_RECORD) of one inbound call."""
    call_id = f"in_{uuid.uuid4().hex[:16]}"
    start = datetime.now(UTC).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")
    base = {"call_start": start, "pbx_call_id": call_id, "caller_id": caller, "called_did": tracking}
    events: list[dict[str, str]] = [{"event": "NOTIFY_START", **base}]
    answered = outcome == "answered"
    rec = f"{call_id}.rec" if answered else ""
    if answered:
        events.append({"event": "NOTIFY_ANSWER", **base, "destination": "100"})
    events.append(
        {
            "event": "NOTIFY_END",
            **base,
            "duration": "42" if answered else "0",
            "disposition": _ZADARMA_DISPOSITION[outcome],
            "status_code": "16",
            "is_recorded": "1" if answered else "0",
            "call_id_with_rec": rec,
        }
    )
    if answered:
        events.append({"event": "NOTIFY_RECORD", "pbx_call_id": call_id, "call_id_with_rec": rec})
    out = []
    for fields in events:
        text = "".join(fields.get(k, "") for k in _ZADARMA_SIGNED[fields["event"]])
        out.append(
            Delivery(
                urlencode(fields).encode(),
                {"Signature": zadarma_signature(secret, text), "content-type": "application/x-www-form-urlencoded"},
            )
        )
    return out


def twilio_call(auth_token: str, url: str, caller: str, tracking: str, outcome: str) -> list[Delivery]:
    """Status callbacks initiated, ringing, (answered), completed with SequenceNumber 0.. of one inbound call."""
    sid = "CA" + uuid.uuid4().hex
    status = {"answered": "completed", "missed": "no-answer", "busy": "busy"}[outcome]
    steps = [("initiated", "ringing"), ("ringing", "ringing")]
    if outcome == "answered":
        steps.append(("answered", "in-progress"))
    steps.append(("completed", status))
    out = []
    for seq, (event, call_status) in enumerate(steps):
        params = {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": sid,
            "From": caller,
            "To": tracking,
            "Direction": "inbound",
            "StatusCallbackEvent": event,
            "CallStatus": call_status,
            "SequenceNumber": str(seq),
            "Timestamp": datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000"),
        }
        if event == "completed":
            params["CallDuration"] = "42" if outcome == "answered" else "0"
        out.append(
            Delivery(
                urlencode(params).encode(),
                {
                    "X-Twilio-Signature": twilio_signature(auth_token, url, params),
                    "content-type": "application/x-www-form-urlencoded",
                },
            )
        )
    return out


class CallIn(msgspec.Struct, forbid_unknown_fields=True):
    provider: Annotated[str, msgspec.Meta(pattern="^(zadarma|twilio)$")]
    clinic_id: uuid.UUID
    #: The secret the clinic connected in telephony (Zadarma's API secret, Twilio's auth token).
    secret: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    caller: Annotated[str, msgspec.Meta(min_length=3, max_length=40)]
    tracking_number: Annotated[str, msgspec.Meta(min_length=3, max_length=40)]
    outcome: Annotated[str, msgspec.Meta(pattern="^(answered|missed|busy)$")] = "answered"
    duplicate: bool = False
    reverse: bool = False


class CallPlayed(msgspec.Struct):
    provider: str
    statuses: list[int]
    answers: list[Any]


class TelephonyController(Controller):
    path = "/sandbox/telephony"
    tags = ["sandbox: telephony"]

    @post("/calls", status_code=200, summary="Play one call as the provider would, signed, to the gateway")
    async def play(self, state: State, data: CallIn) -> CallPlayed:
        hooks: Hooks = state.hooks
        url = f"{hooks.base_url.rstrip('/')}/webhooks/telephony/{data.provider}?clinic={data.clinic_id}"
        if data.provider == "zadarma":
            deliveries = zadarma_call(data.secret, data.caller, data.tracking_number, data.outcome)
        else:
            deliveries = twilio_call(data.secret, url, data.caller, data.tracking_number, data.outcome)
        if data.reverse:
            deliveries.reverse()
        if data.duplicate:
            deliveries = [d for d in deliveries for _ in range(2)]
        statuses, answers = [], []
        async with httpx.AsyncClient(timeout=10.0) as client:
            for d in deliveries:
                answer = await client.post(url, content=d.body, headers=d.headers)
                statuses.append(answer.status_code)
                answers.append(answer.json() if answer.content else None)
        return CallPlayed(data.provider, statuses, answers)
