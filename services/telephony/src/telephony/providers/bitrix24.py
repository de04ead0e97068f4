"""Bitrix24-style external calls: telephony.externalcall.register / .finish, authenticated by `auth`."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from kit.webhooks import MalformedWebhook, SignatureInvalid
from telephony.domain import (
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
from telephony.providers.base import Account, Inbound, _required, e164, form, int_field, json_object, query_of

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
    fields: dict[str, Any] = json_object(request.body) if "json" in content_type else form(request.body)
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
        talk = int_field(str(f.get("DURATION") or ""), "DURATION")
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
