"""What every provider adapter shares: the clinic's account, the inbound request, the adapter interface, form
bodies and phone numbers in E.164."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import phonenumbers

from kit.webhooks import MalformedWebhook
from telephony.domain import (
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


def int_field(value: str | None, name: str) -> int:
    if value in (None, ""):
        return 0
    try:
        number = int(value)
    except ValueError as exc:
        raise MalformedWebhook(f"{name} is not a whole number.", field=name) from exc
    if number < 0 or number > 10**7:
        raise MalformedWebhook(f"{name} is out of range.", field=name)
    return number


def json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedWebhook("The body is not JSON.") from exc
    if not isinstance(data, dict):
        raise MalformedWebhook("The body is not a JSON object.")
    return data


def query_of(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
