"""Provider adapters behind one interface: verify the provider's own signature scheme on the raw body, then
map its events onto `domain.CallEvent` (../shared/PROVIDERS.md, "Telephony"; docs/telephony.md).

Each adapter is pure (no IO): the ingress use case gives it the raw bytes, the headers, the URL the provider
called and the clinic's account, and stores what it returns.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import phonenumbers

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


@dataclass(frozen=True)
class Account:
    """A clinic's connection to one provider: its secrets and where its numbers and clock are."""

    tenant_id: str
    provider: str
    #: Zadarma: the API secret; Twilio: the auth token; Mango Office: the salt (API signature key); Telfin: the
    #: token in the event URL; Asterisk: the forwarder's HMAC key; Bitrix24: the `auth` token.
    secret: str
    #: Mango Office's `vpbx_api_key`; Twilio's Account SID; Telfin's API access token; Asterisk's ARI
    #: `user:password` (the provider API credential, click-to-call and recordings).
    api_key: str = ""
    country: str = "BR"
    #: Zadarma and Asterisk report local wall-clock times.
    timezone: str = "America/Sao_Paulo"
    #: The provider API's base URL when it is the clinic's own (Asterisk ARI) or not the default; '' = default.
    api_url: str = ""


@dataclass(frozen=True)
class Inbound:
    body: bytes
    headers: Mapping[str, str]
    #: The public URL the provider posted to (Twilio signs it), query string included.
    url: str
    received_at: datetime


class Adapter(Protocol):
    name: str

    def verify(self, account: Account, request: Inbound) -> None:
        """Raise SignatureInvalid unless the request is signed with the account's secret."""

    def parse(self, account: Account, request: Inbound) -> list[CallEvent]:
        """The call events the request reports (maybe none: an event type telephony does not use)."""


# --- shared helpers -----------------------------------------------------------------------------
def form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedWebhook("The body is not UTF-8.") from exc
    if "\x00" in text:
        raise MalformedWebhook("The body contains a NUL character.")
    return dict(parse_qsl(text, keep_blank_values=True))


def e164(raw: str | None, country: str) -> str | None:
    """The number in E.164 when it parses (national, +CC or bare international digits), else its digits."""
    if not raw:
        return None
    return _e164(raw, country)


@lru_cache(maxsize=4096)
def _e164(raw: str, country: str) -> str:
    """Cached: parsing and validating with phonenumbers is the adapters' costliest step, and a clinic's calls
    keep naming the same few tracking numbers and callers."""
    value = raw.strip()
    candidates = [value] if value.startswith("+") else [value, "+" + value.lstrip("0")]
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, None if candidate.startswith("+") else country)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    digits = "".join(c for c in value if c.isdigit() or c == "+")
    return digits or value[:40]


def _required(fields: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if not fields.get(name):
            raise MalformedWebhook(f"The field {name} is missing.", field=name)


# --- Zadarma ------------------------------------------------------------------------------------
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
            talk = _int(f.get("duration"), "duration")
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


def _int(value: str | None, name: str) -> int:
    if value in (None, ""):
        return 0
    try:
        number = int(value)
    except ValueError as exc:
        raise MalformedWebhook(f"{name} is not a whole number.", field=name) from exc
    if number < 0 or number > 10**7:
        raise MalformedWebhook(f"{name} is out of range.", field=name)
    return number


# --- Twilio Voice -------------------------------------------------------------------------------
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
        seq = _int(f.get("SequenceNumber"), "SequenceNumber") if f.get("SequenceNumber") else STAGE_RANK[stage]
        outbound = f.get("Direction", "inbound").startswith("outbound")
        caller, tracking = (f.get("To"), f.get("From")) if outbound else (f.get("From"), f.get("To"))
        at = request.received_at
        if f.get("Timestamp"):
            try:
                at = parsedate_to_datetime(f["Timestamp"]).astimezone(UTC)
            except (TypeError, ValueError) as exc:
                raise MalformedWebhook("Timestamp is not an RFC 2822 date.", field="Timestamp") from exc
        duration = _int(f.get("CallDuration"), "CallDuration") if f.get("CallDuration") else None
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


# --- Mango Office -------------------------------------------------------------------------------
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


# --- Telfin ------------------------------------------------------------------------------------
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


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


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
            talk = _int(f.get("Duration"), "Duration") if disposition == DISP_ANSWERED else 0
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


# --- Asterisk (AMI Cdr events, posted by the clinic's forwarder) ------------------------------------------
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
        f = _json_object(request.body)
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
        billable = _int(str(f.get("BillableSeconds") or ""), "BillableSeconds")
        duration = _int(str(f.get("Duration") or ""), "Duration")
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


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedWebhook("The body is not JSON.") from exc
    if not isinstance(data, dict):
        raise MalformedWebhook("The body is not a JSON object.")
    return data


def _asterisk_time(value: object, zone: ZoneInfo, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone).astimezone(UTC)
    except ValueError as exc:
        raise MalformedWebhook(f"{name} is not YYYY-MM-DD HH:MM:SS.", field=name) from exc


# --- Bitrix24-style external calls ---------------------------------------------------------------
#: Bitrix24 `TYPE`: 1 outgoing, 2 incoming, 3 incoming with redirection, 4 callback (outgoing).
_BITRIX_TYPES = {"1": OUTBOUND, "2": INBOUND, "3": INBOUND, "4": OUTBOUND}
_BITRIX_END = {"200": DISP_ANSWERED, "304": DISP_MISSED, "603": DISP_MISSED, "486": DISP_BUSY}
BITRIX_REGISTER, BITRIX_FINISH = "telephony.externalcall.register", "telephony.externalcall.finish"
BITRIX_METHODS = (BITRIX_REGISTER, BITRIX_FINISH)


def bitrix_call_id(tenant_id: str, body: bytes) -> str:
    """The CALL_ID register answers: derived from the request, so a repeated register gets the same one."""
    return "externalCall." + hashlib.sha256(tenant_id.encode() + b"\x00" + body).hexdigest()[:32]


def bitrix_fields(request: Inbound) -> dict[str, Any]:
    """Bitrix24 REST takes JSON or form fields; `auth` may also be in the query string."""
    content_type = request.headers.get("content-type", "")
    fields: dict[str, Any] = _json_object(request.body) if "json" in content_type else form(request.body)
    for key, value in query_of(request.url).items():
        fields.setdefault(key, value)
    return {k.upper() if k != "auth" else k: v for k, v in fields.items()}


def bitrix_method(url: str) -> str:
    last = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    method = last.removesuffix(".json")
    if method not in BITRIX_METHODS:
        raise MalformedWebhook(f"Unknown method {method[:60]!r}; one of: {', '.join(BITRIX_METHODS)}.", field="method")
    return method


class Bitrix24:
    """Where a clinic's telephony lives in Bitrix24 (a telephony app built for it), the app calls ClinicFlow's
    Bitrix24-compatible REST methods instead of Bitrix24's: `POST /webhooks/telephony/bitrix24/<clinic>/
    telephony.externalcall.register.json` (`PHONE_NUMBER`, `TYPE` 1 out / 2 in, `CALL_START_DATE`,
    `LINE_NUMBER`) answers `{"result": {"CALL_ID": ...}}`; `.../telephony.externalcall.finish.json`
    (`CALL_ID`, `DURATION`, `STATUS_CODE` 200 ok / 304 missed / 486 busy / 603 declined, `RECORD_URL`). Each
    carries the clinic's `auth` token (body or query), as Bitrix24 inbound webhooks do."""

    name = "bitrix24"

    def verify(self, account: Account, request: Inbound) -> None:
        given = str(bitrix_fields(request).get("auth") or "")
        if not given:
            raise SignatureInvalid("The auth token is missing.", field="auth")
        if not hmac.compare_digest(given.encode(), account.secret.encode()):
            raise SignatureInvalid("The auth token is not this clinic's.", field="auth")

    def parse(self, account: Account, request: Inbound) -> list[CallEvent]:
        method = bitrix_method(request.url)
        f = bitrix_fields(request)
        if method == BITRIX_REGISTER:
            _required(f, "PHONE_NUMBER", "TYPE")
            direction = _BITRIX_TYPES.get(str(f["TYPE"]))
            if direction is None:
                raise MalformedWebhook("TYPE is 1 (outgoing), 2 or 3 (incoming) or 4 (callback).", field="TYPE")
            call_id = str(f.get("CALL_ID") or bitrix_call_id(account.tenant_id, request.body))
            line = str(f.get("LINE_NUMBER") or "")
            return [
                CallEvent(
                    provider=self.name,
                    provider_call_id=call_id,
                    event_id=f"{call_id}:register",
                    seq=STAGE_RANK[STARTED],
                    stage=STARTED,
                    at=_bitrix_time(f.get("CALL_START_DATE"), request.received_at),
                    direction=direction,
                    caller=e164(str(f["PHONE_NUMBER"]), account.country),
                    tracking_number=e164(line, account.country) if len(line) > 5 else None,
                )
            ]
        _required(f, "CALL_ID")
        call_id = str(f["CALL_ID"])
        status = str(f.get("STATUS_CODE") or "200")
        disposition = _BITRIX_END.get(status, DISP_FAILED)
        talk = _int(str(f.get("DURATION") or ""), "DURATION")
        return [
            CallEvent(
                provider=self.name,
                provider_call_id=call_id,
                event_id=f"{call_id}:finish",
                seq=STAGE_RANK[ENDED],
                stage=ENDED,
                at=request.received_at,
                disposition=disposition,
                talk_seconds=talk if disposition == DISP_ANSWERED else 0,
                recording_ref=(str(f.get("RECORD_URL") or "") or None) if disposition == DISP_ANSWERED else None,
            )
        ]


def _bitrix_time(value: object, default: datetime) -> datetime:
    if value in (None, ""):
        return default
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise MalformedWebhook("CALL_START_DATE is not an ISO 8601 date and time.", field="CALL_START_DATE") from exc
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


ADAPTERS: dict[str, Adapter] = {a.name: a for a in (Zadarma(), Twilio(), Mango(), Telfin(), Asterisk(), Bitrix24())}


def adapter(name: str) -> Adapter | None:
    return ADAPTERS.get(name)
