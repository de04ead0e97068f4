"""The sandbox PBX: plays a call as Zadarma, Twilio Voice, Telfin, an Asterisk forwarder (AMI Cdr) or a
Bitrix24 telephony app would, signing every delivery the provider's way, and posts it to the gateway's public
ingress (`/webhooks/telephony/<provider>?clinic=`, Telfin with its `token`, Bitrix24 at its REST methods).

`POST /sandbox/telephony/calls` {provider, clinic_id, secret, caller, tracking_number, outcome, duplicate,
reverse, direction} plays one call: outcome answered | missed | busy; `duplicate` sends every event twice,
`reverse` sends them last-to-first (out of order). The answer lists each delivery's HTTP status.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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


def twilio_call(
    auth_token: str,
    url: str,
    caller: str,
    tracking: str,
    outcome: str,
    *,
    direction: str = "inbound",
    sid: str = "",
) -> list[Delivery]:
    """Status callbacks initiated, ringing, (answered), completed with SequenceNumber 0.. of one call."""
    sid = sid or "CA" + uuid.uuid4().hex
    outbound = direction == "outbound"
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
            "From": tracking if outbound else caller,
            "To": caller if outbound else tracking,
            "Direction": "outbound-api" if outbound else "inbound",
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


@dataclass(frozen=True)
class Routed:
    """A delivery and where it goes (Telfin's token and Bitrix24's method are in the URL)."""

    url: str
    delivery: Delivery


def asterisk_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _local(at: datetime, timezone: str) -> str:
    return at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")


_FORM = {"content-type": "application/x-www-form-urlencoded"}
_TELFIN_STATUS = {"answered": "ANSWER", "missed": "NOANSWER", "busy": "BUSY"}


def telfin_call(
    caller: str, tracking: str, outcome: str, *, direction: str = "inbound", call_api_id: str = ""
) -> list[Delivery]:
    """dial-in (dial-out), (answer), hangup with Telfin's fields; EventTime in Unix microseconds. `caller` is
    the person, `tracking` the clinic's line."""
    call_id = uuid.uuid4().hex
    t0 = int(datetime.now(UTC).timestamp() * 1_000_000)
    outbound = direction == "outbound"
    base = {"CallID": call_id, "SubCallID": f"{call_id}-1", "CallFlow": "out" if outbound else "in"}
    if call_api_id:
        base["CallAPIID"] = call_api_id
    if outbound:
        base |= {"CallerIDNum": tracking, "CalledNumber": caller}
    else:
        base |= {"CallerIDNum": caller, "CalledDID": tracking, "CalledExtension": "101"}
    events = [{**base, "EventType": "dial-out" if outbound else "dial-in", "EventTime": str(t0)}]
    if outcome == "answered":
        events.append({**base, "EventType": "answer", "EventTime": str(t0 + 3_000_000)})
    events.append(
        {
            **base,
            "EventType": "hangup",
            "EventTime": str(t0 + 45_000_000),
            "CallStatus": _TELFIN_STATUS[outcome],
            "Duration": "42" if outcome == "answered" else "0",
            "RecID": f"{call_id}.wav" if outcome == "answered" else "",
        }
    )
    return [Delivery(urlencode(e).encode(), dict(_FORM)) for e in events]


def asterisk_cdr(
    secret: str,
    caller: str,
    tracking: str,
    outcome: str,
    *,
    direction: str = "inbound",
    unique_id: str = "",
    timezone: str = "America/Sao_Paulo",
) -> list[Delivery]:
    """One AMI `Cdr` event of the call as the PBX's forwarder posts it (JSON, X-Asterisk-Signature)."""
    unique = unique_id or f"{datetime.now(UTC).timestamp():.0f}.{uuid.uuid4().int % 100000}"
    start = datetime.now(UTC)
    answered = outcome == "answered"
    outbound = direction == "outbound"
    fields = {
        "Event": "Cdr",
        "AccountCode": "",
        "Source": "101" if outbound else caller,
        "Destination": caller if outbound else tracking,
        "DestinationContext": "from-internal" if outbound else "from-pstn",
        "CallerIDNum": tracking if outbound else caller,
        "Channel": f"PJSIP/{'101' if outbound else 'trunk'}-0000001",
        "StartTime": _local(start, timezone),
        "AnswerTime": _local(start.replace(microsecond=0) + _seconds(3), timezone) if answered else "",
        "EndTime": _local(start + _seconds(45), timezone),
        "Duration": "45",
        "BillableSeconds": "42" if answered else "0",
        "Disposition": {"answered": "ANSWERED", "missed": "NO ANSWER", "busy": "BUSY"}[outcome],
        "AMAFlags": "DOCUMENTATION",
        "UniqueID": unique,
        "LinkedID": unique,
        "UserField": f"{unique}.wav" if answered else "",
    }
    body = msgspec.json.encode(fields)
    return [
        Delivery(body, {"X-Asterisk-Signature": asterisk_signature(secret, body), "content-type": "application/json"})
    ]


def _seconds(n: int) -> timedelta:
    return timedelta(seconds=n)


_BITRIX_STATUS = {"answered": "200", "missed": "304", "busy": "486"}


def bitrix24_call(
    base_url: str, clinic_id: str, auth: str, caller: str, tracking: str, outcome: str, *, direction: str = "inbound"
) -> list[Routed]:
    """register (JSON) then finish (form), as a Bitrix24 telephony app calls the REST methods; the CALL_ID
    finish needs is the one register answers, so the finish is built by `bitrix24_finish` after it."""
    root = f"{base_url.rstrip('/')}/webhooks/telephony/bitrix24/{clinic_id}"
    register = {
        "auth": auth,
        "USER_PHONE_INNER": "101",
        "PHONE_NUMBER": caller,
        "LINE_NUMBER": tracking,
        "TYPE": "1" if direction == "outbound" else "2",
        "CALL_START_DATE": datetime.now(UTC).isoformat(timespec="seconds"),
        "CRM_CREATE": "0",
    }
    return [
        Routed(
            f"{root}/telephony.externalcall.register.json",
            Delivery(msgspec.json.encode(register), {"content-type": "application/json"}),
        )
    ]


def bitrix24_finish(base_url: str, clinic_id: str, auth: str, call_id: str, outcome: str) -> Routed:
    root = f"{base_url.rstrip('/')}/webhooks/telephony/bitrix24/{clinic_id}"
    fields = {
        "auth": auth,
        "CALL_ID": call_id,
        "USER_PHONE_INNER": "101",
        "DURATION": "42" if outcome == "answered" else "0",
        "STATUS_CODE": _BITRIX_STATUS[outcome],
    }
    return Routed(f"{root}/telephony.externalcall.finish.json", Delivery(urlencode(fields).encode(), dict(_FORM)))


class CallIn(msgspec.Struct, forbid_unknown_fields=True):
    provider: Annotated[str, msgspec.Meta(pattern="^(zadarma|twilio|telfin|asterisk|bitrix24)$")]
    clinic_id: uuid.UUID
    #: The secret the clinic connected in telephony (Zadarma's API secret, Twilio's auth token).
    secret: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    caller: Annotated[str, msgspec.Meta(min_length=3, max_length=40)]
    tracking_number: Annotated[str, msgspec.Meta(min_length=3, max_length=40)]
    outcome: Annotated[str, msgspec.Meta(pattern="^(answered|missed|busy)$")] = "answered"
    duplicate: bool = False
    reverse: bool = False
    direction: Annotated[str, msgspec.Meta(pattern="^(inbound|outbound)$")] = "inbound"


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
        return await play_call(hooks.base_url, data)


async def play_call(base_url: str, data: CallIn, *, call_api_id: str = "", unique_id: str = "") -> CallPlayed:
    """Sign and post one call's deliveries to the gateway; Bitrix24's finish uses the CALL_ID register gave."""
    url = f"{base_url.rstrip('/')}/webhooks/telephony/{data.provider}?clinic={data.clinic_id}"
    who = (data.caller, data.tracking_number, data.outcome)
    routed: list[Routed]
    if data.provider == "zadarma":
        routed = [Routed(url, d) for d in zadarma_call(data.secret, *who)]
    elif data.provider == "twilio":
        routed = [
            Routed(url, d) for d in twilio_call(data.secret, url, *who, direction=data.direction, sid=call_api_id)
        ]
    elif data.provider == "telfin":
        token_url = f"{url}&{urlencode({'token': data.secret})}"
        deliveries = telfin_call(*who, direction=data.direction, call_api_id=call_api_id)
        routed = [Routed(token_url, d) for d in deliveries]
    elif data.provider == "asterisk":
        deliveries = asterisk_cdr(data.secret, *who, direction=data.direction, unique_id=unique_id)
        routed = [Routed(url, d) for d in deliveries]
    else:
        routed = bitrix24_call(base_url, str(data.clinic_id), data.secret, *who, direction=data.direction)
    statuses: list[int] = []
    answers: list[Any] = []
    async with httpx.AsyncClient(timeout=10.0) as client:

        async def send(items: list[Routed]) -> None:
            if data.reverse:
                items = items[::-1]
            for r in [r for r in items for _ in range(2 if data.duplicate else 1)]:
                answer = await client.post(r.url, content=r.delivery.body, headers=r.delivery.headers)
                statuses.append(answer.status_code)
                answers.append(answer.json() if answer.content else None)

        if data.provider != "bitrix24":
            await send(routed)
        else:  # register first (it names the call), then finish with the CALL_ID it answered
            await send(routed)
            result = (answers[-1] or {}).get("result") or {} if statuses and statuses[-1] == 200 else {}
            if result.get("CALL_ID"):
                await send(
                    [bitrix24_finish(base_url, str(data.clinic_id), data.secret, result["CALL_ID"], data.outcome)]
                )
    return CallPlayed(data.provider, statuses, answers)
