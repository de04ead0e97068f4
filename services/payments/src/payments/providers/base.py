"""One interface for every payment provider; each adapter builds the provider's real requests (over httpx)
and verifies its real webhook scheme (PROVIDERS.md). Secrets live in `Credentials` and never leave it."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol

import httpx

from kit.webhooks import MalformedWebhook, SignatureInvalid

__all__ = [
    "Checkout",
    "CheckoutRequest",
    "Credentials",
    "MalformedWebhook",
    "PaymentProvider",
    "PaymentReport",
    "ProviderError",
    "SignatureInvalid",
    "WebhookEvent",
]


class ProviderError(Exception):
    """The provider refused a call or did not answer."""


@dataclass(frozen=True)
class Credentials:
    """A clinic's account at one provider. `repr` hides the secrets so they never reach a log."""

    access_token: str = field(repr=False)
    webhook_secret: str = field(repr=False, default="")
    api_url: str = ""


@dataclass(frozen=True)
class CheckoutRequest:
    charge_id: str
    amount: Decimal
    currency: str
    description: str
    methods: tuple[str, ...]
    expires_at: datetime
    notification_url: str
    back_url: str
    payer_name: str | None = None
    payer_email: str | None = None
    payer_phone: str | None = None
    #: CPF, 11 digits.
    payer_cpf: str | None = None


@dataclass(frozen=True)
class Checkout:
    #: The provider's id of what was created (preference, checkout session, payment).
    provider_ref: str
    #: The patient-facing hosted checkout.
    url: str
    #: PIX copy-and-paste code when the provider returned one at creation.
    pix_code: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """A verified delivery: what it is about, and whether its status must be read back from the provider."""

    event_id: str
    kind: str
    provider_payment_id: str | None
    charge_id: str | None
    #: Set when the body itself is authoritative (Stripe, Asaas); None: ask the provider (Mercado Pago).
    report: PaymentReport | None = None


@dataclass(frozen=True)
class PaymentReport:
    """The provider's view of one payment, in our words."""

    provider_payment_id: str
    charge_id: str | None
    #: paid, failed, pending, refunded
    status: str
    amount: Decimal | None
    method: str | None
    paid_at: datetime | None = None
    reason: str | None = None
    #: Everything refunded on this payment at the provider so far (refunds made in its dashboard included).
    refunded: Decimal | None = None


class PaymentProvider(Protocol):
    name: str

    async def create_checkout(self, request: CheckoutRequest, idempotency_key: str) -> Checkout: ...

    def verify_webhook(self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> WebhookEvent: ...

    async def fetch_payment(self, provider_payment_id: str) -> PaymentReport: ...

    async def find_payment(self, charge_id: str, provider_ref: str | None) -> PaymentReport | None: ...

    async def refund(self, provider_payment_id: str, amount: Decimal, idempotency_key: str) -> str: ...

    async def close(self) -> None: ...


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def hmac_sha256_hex(secret: str, message: str | bytes) -> str:
    data = message.encode() if isinstance(message, str) else message
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def raise_for(response: httpx.Response, what: str) -> None:
    if response.status_code >= 400:
        # The body may echo request fields but never our credentials (they travel in headers only).
        raise ProviderError(f"{what}: HTTP {response.status_code} {response.text[:200]}")


def client(base_url: str, timeout: float = 10.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(timeout, connect=3.0))
