"""Webhook ingress shared by payments, notifications and telephony (docs/architecture.md, "Webhooks").

A provider's delivery is (1) read as raw bytes up to a size limit, (2) checked by the service's signature
hook on exactly those bytes, (3) recorded in `webhook_receipts` keyed by (provider, scope, provider event
id) in the same unit of work as whatever the service does with it, so a redelivery is answered 200 and
does nothing. The raw body and headers are kept for audits and replays.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Request
from sqlalchemy import JSON, Column, DateTime, Index, LargeBinary, MetaData, PrimaryKeyConstraint, Table, Text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

#: Provider payloads are a few KiB; 256 KiB leaves room and refuses floods.
DEFAULT_MAX_BODY = 256 * 1024

#: A service whose migrations need the receipts table passes this to `kit.migrations.run_env(..., extra=)`.
metadata = MetaData()

receipts_table = Table(
    "webhook_receipts",
    metadata,
    Column("provider", Text, nullable=False),
    #: The tenant id, or the provider account (e.g. a phone number id) when the tenant is found later.
    Column("scope", Text, nullable=False),
    Column("event_id", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("headers", JSON, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("provider", "scope", "event_id"),
    Index("ix_webhook_receipts_received_at", "received_at"),
)


# --- errors (add ERROR_MAP to the service's error_map) ------------------------------------------
class WebhookError(Exception):
    """Base of the errors below; `field` names what was wrong for the problem document."""

    field: str | None = None


class SignatureInvalid(WebhookError):
    """The signature is missing, forged or too old (answered 401)."""

    slug = "invalid-signature"

    def __init__(self, detail: str = "The webhook signature does not match.", *, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class BodyTooLarge(WebhookError):
    """Answered 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"The webhook body is larger than {limit // 1024} KiB.")


class MalformedWebhook(WebhookError):
    """The body is not what the provider sends (answered 400)."""

    slug = "invalid-webhook"

    def __init__(self, detail: str, *, field: str | None = "body") -> None:
        super().__init__(detail)
        self.field = field


ERROR_MAP: dict[type[Exception], int] = {SignatureInvalid: 401, BodyTooLarge: 413, MalformedWebhook: 400}

#: The signature hook: given the raw body and the headers (lower-case names), return or raise SignatureInvalid.
Verifier = Callable[[bytes, Mapping[str, str]], None]


class Delivery(msgspec.Struct, frozen=True):
    """One webhook request as received: the exact bytes that were signed and the headers."""

    body: bytes
    headers: dict[str, str]
    received_at: datetime

    def json(self) -> Any:
        try:
            return msgspec.json.decode(self.body)
        except msgspec.DecodeError as exc:
            raise MalformedWebhook(f"The body is not JSON: {exc}") from exc


async def read_body(request: Request[Any, Any, Any], max_bytes: int = DEFAULT_MAX_BODY) -> bytes:
    """The raw body, refused with BodyTooLarge as soon as it passes `max_bytes` (never buffered beyond)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


async def receive(request: Request[Any, Any, Any], verify: Verifier, *, max_bytes: int = DEFAULT_MAX_BODY) -> Delivery:
    """Read the body within the limit and run the signature hook on the raw bytes."""
    body = await read_body(request, max_bytes)
    headers = {k.lower(): v for k, v in request.headers.items()}
    verify(body, headers)
    return Delivery(body=body, headers=headers, received_at=datetime.now(UTC))


# --- common signature schemes ------------------------------------------------------------------
def hmac_sha256_header(secret: str, header: str, *, prefix: str = "sha256=") -> Verifier:
    """`<header>: <prefix><hex HMAC-SHA256(secret, raw body)>` (Meta's X-Hub-Signature-256)."""

    def verify(body: bytes, headers: Mapping[str, str]) -> None:
        given = headers.get(header.lower(), "")
        if not given.startswith(prefix):
            raise SignatureInvalid(f"The {header} header is missing.", field=header)
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(given[len(prefix) :].lower(), expected):
            raise SignatureInvalid(field=header)

    return verify


def shared_token_header(token: str, header: str) -> Verifier:
    """A constant secret in a header (Telegram's X-Telegram-Bot-Api-Secret-Token, Asaas' asaas-access-token)."""

    def verify(_: bytes, headers: Mapping[str, str]) -> None:
        if not hmac.compare_digest(headers.get(header.lower(), "").encode(), token.encode()):
            raise SignatureInvalid(f"The {header} header is missing or wrong.", field=header)

    return verify


def any_of(verifiers: Iterable[Verifier]) -> Verifier:
    """Accept when one verifier accepts (a secret being rotated: old and new side by side)."""
    options = list(verifiers)

    def verify(body: bytes, headers: Mapping[str, str]) -> None:
        error: SignatureInvalid | None = None
        for option in options:
            try:
                option(body, headers)
                return
            except SignatureInvalid as exc:
                error = exc
        raise error or SignatureInvalid()

    return verify


# --- the receipt store ------------------------------------------------------------------------
#: Headers never stored with a receipt (credentials of the caller, not of the event).
_SECRET_HEADERS = frozenset({"authorization", "cookie", "x-telegram-bot-api-secret-token", "asaas-access-token"})


def receipt_values(delivery: Delivery, *, provider: str, scope: str, event_id: str) -> dict[str, Any]:
    """The row a receipt stores (headers without the caller's credentials), for services that write it in a
    statement of their own (e.g. together with a condition, in one round trip)."""
    if not event_id:
        raise MalformedWebhook("The delivery carries no event id.", field="id")
    return {
        "provider": provider,
        "scope": scope,
        "event_id": event_id[:200],
        "body": delivery.body,
        "headers": {k: v for k, v in delivery.headers.items() if k not in _SECRET_HEADERS},
        "received_at": delivery.received_at,
    }


async def record_receipt(
    session: AsyncSession, delivery: Delivery, *, provider: str, scope: str, event_id: str
) -> bool:
    """Insert the receipt in the caller's transaction; False means this event was received before.

    Call it in the unit of work that acts on the event, then commit once: the receipt and the effect are
    stored together or not at all, so a provider's retry after a failure is processed again.
    """
    values = receipt_values(delivery, provider=provider, scope=scope, event_id=event_id)
    stmt = insert(receipts_table).values(values).on_conflict_do_nothing().returning(receipts_table.c.event_id)
    return (await session.execute(stmt)).first() is not None
