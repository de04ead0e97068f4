"""The sandbox PBX: plays a call as Zadarma, Twilio Voice, Mango Office, Telfin, an Asterisk forwarder (AMI
Cdr) or a Bitrix24 telephony app would, signing every delivery the provider's way, and posts it to the gateway's
public ingress (`/webhooks/telephony/<provider>?clinic=`, Telfin with its `token`, Mango at `<url>/events/...`,
Bitrix24 at its REST methods).

`POST /sandbox/telephony/calls` {provider, clinic_id, secret, api_key, caller, tracking_number, outcome,
duplicate, reverse, direction} plays one call: outcome answered | missed | busy; `duplicate` sends every event
twice, `reverse` sends them last-to-first (out of order). The answer lists each delivery's HTTP status.

It is also the providers' APIs the clinic's account calls: click-to-call (Twilio, Telfin, ARI) and recordings
(Twilio, Telfin, ARI, Zadarma's `/v1/pbx/record/request/` with its temporary link, Mango's
`/vpbx/queries/recording/post/` with its redirect, and the file host a Bitrix24 app's `RECORD_URL` names).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import io
import json
import logging
import math
import secrets
import struct
import time
import uuid
import wave
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode, urlsplit
from zoneinfo import ZoneInfo

import httpx
import msgspec
from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import State
from litestar.status_codes import HTTP_302_FOUND

from sandbox.channels import Hooks

OUTCOMES = ("answered", "missed", "busy")
log = logging.getLogger(__name__)


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
    record: bool = False,
) -> list[Delivery]:
    """Status callbacks initiated, ringing, (answered), completed with SequenceNumber 0.. of one call; with
    `record`, an answered call's recording callback (RecordingSid, RecordingUrl) follows."""
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
        out.append(_twilio_delivery(auth_token, url, params))
    if record and outcome == "answered":
        rec = twilio_recording_sid(sid)
        params = {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": sid,
            "RecordingSid": rec,
            "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/AC{'0' * 32}/Recordings/{rec}",
            "RecordingStatus": "completed",
            "RecordingDuration": "42",
            "SequenceNumber": str(len(steps)),
        }
        out.append(_twilio_delivery(auth_token, url, params))
    return out


def twilio_recording_sid(call_sid: str) -> str:
    return "RE" + hashlib.sha256(call_sid.encode()).hexdigest()[:32]


def _twilio_delivery(auth_token: str, url: str, params: dict[str, str]) -> Delivery:
    return Delivery(
        urlencode(params).encode(),
        {
            "X-Twilio-Signature": twilio_signature(auth_token, url, params),
            "content-type": "application/x-www-form-urlencoded",
        },
    )


def mango_sign(api_key: str, payload: str, salt: str) -> str:
    return hashlib.sha256((api_key + payload + salt).encode()).hexdigest()


def _mango_delivery(api_key: str, salt: str, data: dict[str, Any]) -> Delivery:
    payload = json.dumps(data, separators=(",", ":"))
    fields = {"vpbx_api_key": api_key, "sign": mango_sign(api_key, payload, salt), "json": payload}
    return Delivery(urlencode(fields).encode(), {"content-type": "application/x-www-form-urlencoded"})


def mango_recording_id(entry_id: str) -> str:
    return "MToxMDI" + hashlib.sha256(entry_id.encode()).hexdigest()[:24]


def mango_call(
    api_key: str, salt: str, caller: str, tracking: str, outcome: str, *, direction: str = "inbound"
) -> list[tuple[str, Delivery]]:
    """(event path, delivery): `/events/call` Appeared (seq 1), (Connected), Disconnected, each signed
    sha256(vpbx_api_key + json + salt), then for an answered call `/events/record/added` with its recording_id."""
    entry = base64.b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    call_id = base64.b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    t0 = int(time.time())
    outbound = direction == "outbound"
    if outbound:
        source: dict[str, Any] = {"extension": "101", "number": tracking}
        target: dict[str, Any] = {"number": caller}
    else:
        source, target = {"number": caller}, {"extension": "101", "number": "sip:101@clinic", "line_number": tracking}
    states = ["Appeared"] + (["Connected"] if outcome == "answered" else []) + ["Disconnected"]
    out = []
    for seq, state in enumerate(states, start=1):
        data: dict[str, Any] = {
            "entry_id": entry,
            "call_id": call_id,
            "timestamp": t0 + (0 if seq == 1 else 3 if state == "Connected" else 45),
            "seq": seq,
            "call_state": state,
            "location": "abonent" if state != "Appeared" else "ivr",
            "from": source,
            "to": target,
        }
        if state == "Disconnected":
            data["disconnect_reason"] = {"answered": 1110, "missed": 1120, "busy": 1191}[outcome]
        out.append(("/events/call", _mango_delivery(api_key, salt, data)))
    if outcome == "answered":
        record = {
            "entry_id": entry,
            "product_id": 100,
            "recording_id": mango_recording_id(entry),
            "recording_state": "completed",
            "timestamp": t0 + 46,
        }
        out.append(("/events/record/added", _mango_delivery(api_key, salt, record)))
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


def bitrix24_finish(
    base_url: str, clinic_id: str, auth: str, call_id: str, outcome: str, *, record_url: str = ""
) -> Routed:
    """finish (form); `record_url`: where the app keeps the answered call's recording (`RECORD_URL`)."""
    root = f"{base_url.rstrip('/')}/webhooks/telephony/bitrix24/{clinic_id}"
    fields = {
        "auth": auth,
        "CALL_ID": call_id,
        "USER_PHONE_INNER": "101",
        "DURATION": "42" if outcome == "answered" else "0",
        "STATUS_CODE": _BITRIX_STATUS[outcome],
    }
    if record_url and outcome == "answered":
        fields["RECORD_URL"] = record_url
    return Routed(f"{root}/telephony.externalcall.finish.json", Delivery(urlencode(fields).encode(), dict(_FORM)))


class CallIn(msgspec.Struct, forbid_unknown_fields=True):
    provider: Annotated[str, msgspec.Meta(pattern="^(zadarma|twilio|mango|telfin|asterisk|bitrix24)$")]
    clinic_id: uuid.UUID
    #: The secret the clinic connected in telephony (Zadarma's API secret, Twilio's auth token, Mango's salt).
    secret: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    caller: Annotated[str, msgspec.Meta(min_length=3, max_length=40)]
    tracking_number: Annotated[str, msgspec.Meta(min_length=3, max_length=40)]
    outcome: Annotated[str, msgspec.Meta(pattern="^(answered|missed|busy)$")] = "answered"
    duplicate: bool = False
    reverse: bool = False
    direction: Annotated[str, msgspec.Meta(pattern="^(inbound|outbound)$")] = "inbound"
    #: Mango: the vpbx_api_key (required, it is in every delivery); Zadarma: the API user key. The PBX then
    #: knows the clinic's API credential, so its recording API answers that clinic.
    api_key: Annotated[str, msgspec.Meta(max_length=500)] = ""


class CallPlayed(msgspec.Struct):
    provider: str
    statuses: list[int]
    answers: list[Any]


def wav_tone(seconds: float = 1.0, rate: int = 8000, hz: float = 440.0) -> bytes:
    """A short mono 16-bit PCM WAV (a tone): what the sandbox serves as every call's recording."""
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * hz * i / rate))) for i in range(int(seconds * rate))
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return out.getvalue()


@dataclass
class Line:
    """What a clinic sets up in its provider's panel: where events go and with which secret."""

    provider: str
    api_key: str
    webhook_url: str
    secret: str
    outcome: str = "answered"


@dataclass
class Pbx:
    """The sandbox PBX's memory: provider panels, the calls started through the provider APIs, recordings."""

    lines: dict[tuple[str, str], Line] = field(default_factory=dict)
    dials: list[dict[str, Any]] = field(default_factory=list)
    recordings: set[str] = field(default_factory=set)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    wav: bytes = field(default_factory=wav_tone)
    #: Signs the temporary file links the recording APIs answer (Zadarma's `link`, Mango's redirect).
    file_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def file_link(self, root: str, name: str, ttl: int) -> str:
        """A temporary download link of a recording, as the providers' file hosts give: expires, signed."""
        expires = str(int(time.time()) + ttl)
        signature = hmac.new(self.file_key, f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()
        query = urlencode({"expires": expires, "signature": signature})
        return f"{root.rstrip('/')}/sandbox/telephony/records/{name}?{query}"

    def file_link_valid(self, name: str, expires: str, signature: str) -> bool:
        expected = hmac.new(self.file_key, f"{name}:{expires}".encode(), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature) and expires.isdigit() and int(expires) >= time.time()

    def later(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


def _pbx(state: State) -> Pbx:
    pbx: Pbx = state.pbx
    return pbx


def _credential(request: Request[Any, Any, Any]) -> tuple[str, str]:
    """(scheme, value): Basic -> "user:password", Bearer -> the token."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic":
        try:
            return "basic", base64.b64decode(value).decode()
        except (ValueError, UnicodeDecodeError):
            return "", ""
    return scheme.lower(), value


def _unauthorized() -> Response[dict[str, Any]]:
    return Response({"message": "Authentication failed"}, status_code=401)


class LineIn(msgspec.Struct, forbid_unknown_fields=True):
    provider: Annotated[str, msgspec.Meta(pattern="^(telfin|asterisk|zadarma|mango)$")]
    #: The API credential the clinic gave telephony (Telfin's access token; Asterisk's ARI user:password;
    #: Zadarma's API user key; Mango's vpbx_api_key).
    api_key: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    #: The event URL the clinic registered (telephony's `webhook_url`; Telfin's carries its token).
    webhook_url: Annotated[str, msgspec.Meta(min_length=10, max_length=1000)]
    #: Asterisk: the forwarder's HMAC key; Zadarma: the API secret; Mango: the salt; Telfin: unused.
    secret: Annotated[str, msgspec.Meta(max_length=500)] = ""
    #: How calls started through the API go.
    outcome: Annotated[str, msgspec.Meta(pattern="^(answered|missed|busy)$")] = "answered"


class TelephonyController(Controller):
    path = "/sandbox/telephony"
    tags = ["sandbox: telephony"]

    @post("/calls", status_code=200, summary="Play one call as the provider would, signed, to the gateway")
    async def play(self, request: Request[Any, Any, Any], state: State, data: CallIn) -> Response[Any]:
        hooks: Hooks = state.hooks
        pbx = _pbx(state)
        if data.provider == "mango" and not data.api_key:
            return Response({"message": "mango needs api_key (the vpbx_api_key)"}, status_code=400)
        if data.provider in ("zadarma", "mango") and data.api_key:
            # The clinic's API credential at the provider: its recording API answers it from now on.
            pbx.lines[(data.provider, data.api_key)] = Line(data.provider, data.api_key, "", data.secret)
        played = await play_call(hooks.base_url, data, pbx=pbx, files_url=str(request.base_url))
        return Response(played, status_code=200)

    @put("/lines", status_code=200, summary="The provider's panel: where a clinic's events go (Telfin, Asterisk)")
    async def line(self, state: State, data: LineIn) -> dict[str, str]:
        _pbx(state).lines[(data.provider, data.api_key)] = Line(
            data.provider, data.api_key, data.webhook_url, data.secret, data.outcome
        )
        return {"provider": data.provider, "webhook_url": data.webhook_url}

    @get("/dials", summary="The calls started through the providers' call APIs (click-to-call), oldest first")
    async def dials(self, state: State) -> list[dict[str, Any]]:
        return _pbx(state).dials


def _played(provider: str, clinic_query: str, secret: str, caller: str, tracking: str, outcome: str) -> CallIn:
    query = dict(parse_qsl(urlsplit(clinic_query).query))
    return CallIn(
        provider=provider,
        clinic_id=uuid.UUID(query.get("clinic") or str(uuid.UUID(int=0))),
        secret=secret,
        caller=caller,
        tracking_number=tracking,
        outcome=outcome,  # type: ignore[arg-type]
        direction="outbound",
    )


class TelephonyApiController(Controller):
    """The providers' call APIs (click-to-call) and recording downloads, as the real ones answer them."""

    tags = ["sandbox: telephony"]

    # --- Twilio Voice ---------------------------------------------------------------------------
    @post("/2010-04-01/Accounts/{sid:str}/Calls.json", status_code=201)
    async def twilio_call(self, request: Request[Any, Any, Any], state: State, sid: str) -> Response[dict[str, Any]]:
        scheme, value = _credential(request)
        user, _, token = value.partition(":")
        if scheme != "basic" or user != sid or not token:
            return _unauthorized()
        form = await request.form()
        to, from_, callback = form.get("To"), form.get("From"), form.get("StatusCallback")
        if not to or not from_ or not (form.get("Twiml") or form.get("Url")):
            return Response({"code": 21201, "message": "To, From and Twiml or Url are required"}, status_code=400)
        call_sid = "CA" + uuid.uuid4().hex
        pbx = _pbx(state)
        pbx.dials.append({"provider": "twilio", "sid": call_sid, "to": to, "from": from_, "twiml": form.get("Twiml")})
        if callback:
            data = _played("twilio", str(callback), token, str(to), str(from_), "answered")
            record = str(form.get("Record", "")).lower() == "true"
            pbx.later(_after(play_call("", data, url=str(callback), call_api_id=call_sid, record=record, pbx=pbx)))
        return Response({"sid": call_sid, "status": "queued", "to": to, "from": from_}, status_code=201)

    @get("/2010-04-01/Accounts/{sid:str}/Recordings/{name:str}", media_type="audio/wav")
    async def twilio_recording(
        self, request: Request[Any, Any, Any], state: State, sid: str, name: str
    ) -> Response[bytes]:
        scheme, value = _credential(request)
        if scheme != "basic" or value.partition(":")[0] != sid:
            return Response(b"", status_code=401)
        return _recording(_pbx(state), name.removesuffix(".wav"))

    # --- Telfin -------------------------------------------------------------------------------------
    @post("/api/ver1.0/extension/{extension:str}/callback/", status_code=201)
    async def telfin_callback(
        self, request: Request[Any, Any, Any], state: State, extension: str
    ) -> Response[dict[str, Any]]:
        scheme, token = _credential(request)
        pbx = _pbx(state)
        line = pbx.lines.get(("telfin", token)) if scheme == "bearer" else None
        if line is None:
            return _unauthorized()
        body = msgspec.json.decode(await request.body())
        dst, caller_id = str(body.get("dst_num", "")), str(body.get("caller_id_num", ""))
        if not dst:
            return Response({"message": "dst_num is required"}, status_code=400)
        call_api_id = uuid.uuid4().hex
        pbx.dials.append({"provider": "telfin", "call_api_id": call_api_id, "extension": extension, "to": dst})
        data = _played("telfin", line.webhook_url, "", dst, caller_id, line.outcome)
        pbx.later(_after(play_call("", data, url=line.webhook_url, call_api_id=call_api_id, pbx=pbx)))
        return Response({"call_api_id": call_api_id}, status_code=201)

    @get("/api/ver1.0/client/@me/record/{name:str}/download/", media_type="audio/wav")
    async def telfin_recording(self, request: Request[Any, Any, Any], state: State, name: str) -> Response[bytes]:
        scheme, token = _credential(request)
        if scheme != "bearer" or ("telfin", token) not in _pbx(state).lines:
            return Response(b"", status_code=401)
        return _recording(_pbx(state), name)

    # --- Asterisk ARI -------------------------------------------------------------------------------
    @post("/ari/channels", status_code=200)
    async def ari_originate(self, request: Request[Any, Any, Any], state: State) -> Response[dict[str, Any]]:
        scheme, value = _credential(request)
        pbx = _pbx(state)
        line = pbx.lines.get(("asterisk", value)) if scheme == "basic" else None
        if line is None:
            return _unauthorized()
        q = request.query_params
        endpoint, extension, caller_id = q.get("endpoint", ""), q.get("extension", ""), q.get("callerId", "")
        if not endpoint or not (extension or q.get("app")):
            return Response({"message": "endpoint and extension (or app) are required"}, status_code=400)
        unique = f"{datetime.now(UTC).timestamp():.0f}.{uuid.uuid4().int % 100000}"
        pbx.dials.append({"provider": "asterisk", "id": unique, "endpoint": endpoint, "extension": extension})
        data = _played("asterisk", line.webhook_url, line.secret, extension, caller_id, line.outcome)
        pbx.later(_after(play_call("", data, url=line.webhook_url, unique_id=unique, pbx=pbx)))
        return Response({"id": unique, "name": f"{endpoint}-00000001", "state": "Down"}, status_code=200)

    @get("/ari/recordings/stored/{name:str}/file", media_type="audio/wav")
    async def ari_recording(self, request: Request[Any, Any, Any], state: State, name: str) -> Response[bytes]:
        scheme, value = _credential(request)
        if scheme != "basic" or ("asterisk", value) not in _pbx(state).lines:
            return Response(b"", status_code=401)
        return _recording(_pbx(state), name)

    # --- Zadarma ---------------------------------------------------------------------------------------
    @get("/v1/pbx/record/request/")
    async def zadarma_record_request(self, request: Request[Any, Any, Any], state: State) -> Response[dict[str, Any]]:
        """`Authorization: <key>:<sign>` as Zadarma checks it; answers a temporary `link` to the file."""
        pbx = _pbx(state)
        key, _, given = request.headers.get("authorization", "").partition(":")
        line = pbx.lines.get(("zadarma", key))
        params = {k: v for k, v in request.query_params.items()}
        if line is None or not hmac.compare_digest(
            given.encode(), zadarma_api_signature(line.secret, "/v1/pbx/record/request/", params).encode()
        ):
            return Response({"status": "error", "message": "Not authorized"}, status_code=401)
        name = params.get("call_id") or params.get("pbx_call_id") or ""
        if name not in pbx.recordings:
            return Response({"status": "error", "message": "Record not found"}, status_code=404)
        lifetime = int(params.get("lifetime") or 1800)
        till = datetime.now(UTC) + timedelta(seconds=lifetime)
        link = pbx.file_link(str(request.base_url), name, lifetime)
        body: dict[str, Any] = {"status": "success", "link": link, "lifetime_till": till.strftime("%Y-%m-%d %H:%M:%S")}
        if params.get("pbx_call_id") and not params.get("call_id"):
            body = {"status": "success", "links": [link], "lifetime_till": body["lifetime_till"]}
        return Response(body, status_code=200)

    # --- Mango Office -----------------------------------------------------------------------------------
    @post("/vpbx/queries/recording/post/", status_code=HTTP_302_FOUND)
    async def mango_recording(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        """vpbx_api_key + sign = sha256(key + json + salt); `action: download` redirects to the file."""
        pbx = _pbx(state)
        form = await request.form()
        key, sign, payload = str(form.get("vpbx_api_key", "")), str(form.get("sign", "")), str(form.get("json", ""))
        line = pbx.lines.get(("mango", key))
        if line is None or not hmac.compare_digest(sign.encode(), mango_sign(key, payload, line.secret).encode()):
            return Response({"result": 3102, "message": "invalid sign"}, status_code=401)
        try:
            data = json.loads(payload)
        except ValueError:
            return Response({"result": 3100, "message": "invalid json"}, status_code=400)
        name = str(data.get("recording_id") or "") if isinstance(data, dict) else ""
        if name not in pbx.recordings:
            return Response({"result": 3101, "message": "recording not found"}, status_code=404)
        link = pbx.file_link(str(request.base_url), name, 600)
        return Response(b"", status_code=HTTP_302_FOUND, headers={"location": link})

    # --- the providers' file host (temporary links; a Bitrix24 app's RECORD_URL) ----------------------
    @get("/sandbox/telephony/records/{name:str}", media_type="audio/wav")
    async def record_file(self, state: State, name: str, expires: str = "", signature: str = "") -> Response[bytes]:
        pbx = _pbx(state)
        if not pbx.file_link_valid(name, expires, signature):
            return Response(b"", status_code=403)
        return _recording(pbx, name)


def zadarma_api_signature(secret: str, method: str, params: dict[str, str]) -> str:
    """base64 of the hex HMAC-SHA1(secret, method + sorted url-encoded params + md5 of them), Zadarma's API way."""
    query = urlencode(sorted(params.items()))
    text = method + query + hashlib.md5(query.encode()).hexdigest()  # noqa: S324 (Zadarma's scheme)
    return base64.b64encode(hmac.new(secret.encode(), text.encode(), hashlib.sha1).hexdigest().encode()).decode()


def _recording(pbx: Pbx, name: str) -> Response[bytes]:
    if name not in pbx.recordings:
        return Response(b"", status_code=404)
    return Response(pbx.wav, media_type="audio/wav")


async def _after(coro: Coroutine[Any, Any, CallPlayed], delay: float = 0.3) -> None:
    """The phone rings a moment before the provider reports anything."""
    await asyncio.sleep(delay)
    try:
        await coro
    except httpx.HTTPError:
        log.exception("the sandbox PBX could not post a call's events")


async def play_call(
    base_url: str,
    data: CallIn,
    *,
    url: str = "",
    call_api_id: str = "",
    unique_id: str = "",
    record: bool = False,
    pbx: Pbx | None = None,
    files_url: str = "",
) -> CallPlayed:
    """Sign and post one call's deliveries to the gateway (or to `url`, the event URL a provider was given);
    Bitrix24's finish uses the CALL_ID register gave (and names the recording on `files_url`, the PBX's own
    file host). An answered call's recording is then served."""
    url = url or f"{base_url.rstrip('/')}/webhooks/telephony/{data.provider}?clinic={data.clinic_id}"
    who = (data.caller, data.tracking_number, data.outcome)
    routed: list[Routed]
    bitrix_record = ""
    if data.provider == "zadarma":
        routed = [Routed(url, d) for d in zadarma_call(data.secret, *who)]
    elif data.provider == "mango":
        # Mango posts to the address the clinic gave + /events/call, /events/record/added.
        root = f"{base_url.rstrip('/')}/webhooks/telephony/mango/{data.clinic_id}"
        deliveries_at = mango_call(data.api_key, data.secret, *who, direction=data.direction)
        routed = [Routed(root + path, d) for path, d in deliveries_at]
    elif data.provider == "twilio":
        deliveries = twilio_call(data.secret, url, *who, direction=data.direction, sid=call_api_id, record=record)
        routed = [Routed(url, d) for d in deliveries]
    elif data.provider == "telfin":
        token_url = url if "token=" in url else f"{url}&{urlencode({'token': data.secret})}"
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
                if pbx is not None and files_url and data.outcome == "answered":
                    name = "b24-" + hashlib.sha256(str(result["CALL_ID"]).encode()).hexdigest()[:24] + ".wav"
                    bitrix_record = pbx.file_link(files_url, name, 7 * 24 * 3600)
                    pbx.recordings.add(name)
                finish = bitrix24_finish(
                    base_url, str(data.clinic_id), data.secret, result["CALL_ID"], data.outcome,
                    record_url=bitrix_record,
                )  # fmt: skip
                await send([finish])
    if pbx is not None and data.outcome == "answered":
        pbx.recordings.update(_recording_names(routed))
    return CallPlayed(data.provider, statuses, answers)


def _recording_names(routed: list[Routed]) -> set[str]:
    """The names the provider's recording API knows an answered call's recording by."""
    names = set()
    for r in routed:
        try:
            fields = (
                msgspec.json.decode(r.delivery.body)
                if r.delivery.headers.get("content-type") == "application/json"
                else dict(parse_qsl(r.delivery.body.decode()))
            )
        except (msgspec.DecodeError, UnicodeDecodeError):
            continue
        if isinstance(fields, dict) and isinstance(fields.get("json"), str):  # Mango: the event is in `json`
            with contextlib.suppress(ValueError):
                fields = {**fields, **json.loads(fields["json"])}
        for key in ("RecID", "call_id_with_rec", "RecordingSid", "recording_id"):
            if fields.get(key):
                names.add(str(fields[key]))
        if fields.get("UserField"):
            names.add(str(fields["UserField"]).rsplit(".", 1)[0])
    return names
