"""Stripe: Checkout Sessions (what Payment Links use), `Stripe-Signature` webhooks with a 300 s tolerance.

Requests are form-encoded with bracketed keys as Stripe's API expects; outbound calls carry
`Idempotency-Key` so a retried create never makes a second session.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from payments.domain.money import from_cents, to_cents
from payments.providers.base import (
    Checkout,
    CheckoutRequest,
    Credentials,
    MalformedWebhook,
    PaymentReport,
    ProviderError,
    SignatureInvalid,
    WebhookEvent,
    client,
    constant_time_equal,
    hmac_sha256_hex,
    raise_for,
)

NAME = "stripe"
API_URL = "https://api.stripe.com"
TOLERANCE = 300
_PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
_FAILED_EVENTS = ("checkout.session.async_payment_failed",)
#: A refund, ours or one made in the Stripe Dashboard; `amount_refunded` is the charge's running total.
_REFUND_EVENT = "charge.refunded"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `Stripe-Signature` header value for `body` (used by the tests)."""
    return f"t={timestamp},v1={hmac_sha256_hex(secret, f'{timestamp}.'.encode() + body)}"


def _method(types: list[str] | None) -> str:
    return "pix" if types == ["pix"] else "credit"


def _session_report(session: dict[str, Any], status: str, *, delayed: bool | None = None) -> PaymentReport:
    """`delayed`: the event says which kind of method paid. Money at `checkout.session.completed` came from an
    instant method (a card); the async events exist only for delayed ones (PIX here). None: unknown."""
    total = session.get("amount_total")
    types = session.get("payment_method_types") or []
    if delayed is None:
        method = _method(types)
    elif delayed:
        method = "pix" if "pix" in types else _method(types)
    else:
        method = "credit" if "card" in types else _method(types)
    return PaymentReport(
        provider_payment_id=str(session.get("payment_intent") or session["id"]),
        charge_id=session.get("client_reference_id") or (session.get("metadata") or {}).get("charge_id"),
        status=status,
        amount=from_cents(int(total)) if total is not None else None,
        method=method,
        paid_at=datetime.now(UTC) if status == "paid" else None,
    )


class Stripe:
    name = NAME

    def __init__(self, credentials: Credentials, *, tolerance_seconds: int = TOLERANCE, clock: Any = time.time) -> None:
        self._credentials = credentials
        self._tolerance = tolerance_seconds
        self._clock = clock
        self._http = client(credentials.api_url or API_URL)

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"authorization": f"Bearer {self._credentials.access_token}"}
        if idempotency_key:
            headers["idempotency-key"] = idempotency_key
        return headers

    async def close(self) -> None:
        await self._http.aclose()

    @staticmethod
    def session_form(request: CheckoutRequest) -> list[tuple[str, str]]:
        form = [
            ("mode", "payment"),
            ("client_reference_id", request.charge_id),
            ("metadata[charge_id]", request.charge_id),
            ("payment_intent_data[metadata][charge_id]", request.charge_id),
            ("line_items[0][quantity]", "1"),
            ("line_items[0][price_data][currency]", request.currency.lower()),
            ("line_items[0][price_data][unit_amount]", str(to_cents(request.amount))),
            ("line_items[0][price_data][product_data][name]", request.description[:250]),
            ("success_url", request.back_url),
            ("cancel_url", request.back_url),
            # Stripe keeps a session open 30 min to 24 h; our own timer expires the charge at its time.
            ("expires_at", str(int(min(request.expires_at.timestamp(), time.time() + 23.5 * 3600)))),
        ]
        types = []
        if "credit" in request.methods or "debit" in request.methods:
            types.append("card")
        if "pix" in request.methods:
            types.append("pix")
        form += [(f"payment_method_types[{i}]", t) for i, t in enumerate(types)]
        if request.payer_email:
            form.append(("customer_email", request.payer_email))
        return form

    async def create_checkout(self, request: CheckoutRequest, idempotency_key: str) -> Checkout:
        try:
            response = await self._http.post(
                "/v1/checkout/sessions", data=dict(self.session_form(request)), headers=self._headers(idempotency_key)
            )
        except Exception as exc:
            raise ProviderError(f"Stripe did not answer: {type(exc).__name__}") from exc
        raise_for(response, "creating the Stripe Checkout Session")
        session = response.json()
        return Checkout(provider_ref=str(session["id"]), url=str(session["url"]))

    def verify_webhook(self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> WebhookEvent:
        header = headers.get("stripe-signature", "")
        pairs = [p.strip().split("=", 1) for p in header.split(",") if "=" in p]
        timestamps = [v for k, v in pairs if k == "t"]
        signatures = [v for k, v in pairs if k == "v1"]
        if not timestamps or not signatures or not timestamps[0].isdigit():
            raise SignatureInvalid("The Stripe-Signature header is missing or incomplete.", field="stripe-signature")
        t = timestamps[0]
        expected = hmac_sha256_hex(self._credentials.webhook_secret, f"{t}.".encode() + body)
        if not self._credentials.webhook_secret or not any(constant_time_equal(s, expected) for s in signatures):
            raise SignatureInvalid(field="stripe-signature")
        if abs(self._clock() - int(t)) > self._tolerance:
            raise SignatureInvalid("The Stripe-Signature timestamp is outside the tolerance.", field="stripe-signature")
        try:
            event = msgspec.json.decode(body)
            kind = str(event["type"])
            event_id = str(event["id"])
            obj = event["data"]["object"]
        except (msgspec.DecodeError, KeyError, TypeError) as exc:
            raise MalformedWebhook(f"Not a Stripe event: {exc}") from exc
        report = None
        if kind in _PAID_EVENTS:
            paid = "paid" if obj.get("payment_status") == "paid" else "pending"
            report = _session_report(obj, paid, delayed=kind != "checkout.session.completed")
        elif kind in _FAILED_EVENTS:
            report = _session_report(obj, "failed", delayed=True)
        elif kind == _REFUND_EVENT and obj.get("payment_intent"):
            report = PaymentReport(
                provider_payment_id=str(obj["payment_intent"]),
                charge_id=(obj.get("metadata") or {}).get("charge_id"),
                status="refunded" if obj.get("refunded") else "paid",
                amount=from_cents(int(obj.get("amount") or 0)),
                method=None,
                refunded=from_cents(int(obj.get("amount_refunded") or 0)),
            )
        return WebhookEvent(
            event_id=event_id,
            kind=kind,
            provider_payment_id=report.provider_payment_id if report else None,
            charge_id=report.charge_id if report else None,
            report=report,
        )

    async def fetch_payment(self, provider_payment_id: str) -> PaymentReport:
        try:
            response = await self._http.get(f"/v1/payment_intents/{provider_payment_id}", headers=self._headers())
        except Exception as exc:
            raise ProviderError(f"Stripe did not answer: {type(exc).__name__}") from exc
        raise_for(response, "reading the Stripe PaymentIntent")
        intent = response.json()
        status = {"succeeded": "paid", "canceled": "failed"}.get(intent.get("status"), "pending")
        return PaymentReport(
            provider_payment_id=str(intent["id"]),
            charge_id=(intent.get("metadata") or {}).get("charge_id"),
            status=status,
            amount=from_cents(int(intent.get("amount_received") or intent.get("amount") or 0)),
            method=_method(intent.get("payment_method_types")),
            paid_at=datetime.now(UTC) if status == "paid" else None,
        )

    async def find_payment(self, charge_id: str, provider_ref: str | None) -> PaymentReport | None:
        if not provider_ref:
            return None
        try:
            response = await self._http.get(f"/v1/checkout/sessions/{provider_ref}", headers=self._headers())
        except Exception as exc:
            raise ProviderError(f"Stripe did not answer: {type(exc).__name__}") from exc
        raise_for(response, "reading the Stripe Checkout Session")
        session = response.json()
        return _session_report(session, "paid" if session.get("payment_status") == "paid" else "pending")

    async def refund(self, provider_payment_id: str, amount: Decimal, idempotency_key: str) -> str:
        form = {"payment_intent": provider_payment_id, "amount": str(to_cents(amount))}
        try:
            response = await self._http.post("/v1/refunds", data=form, headers=self._headers(idempotency_key))
        except Exception as exc:
            raise ProviderError(f"Stripe did not answer: {type(exc).__name__}") from exc
        raise_for(response, "refunding at Stripe")
        return str(response.json()["id"])
