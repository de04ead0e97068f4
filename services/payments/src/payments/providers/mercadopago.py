"""Mercado Pago: Checkout Pro preferences (PIX and cards), `x-signature` webhooks, `GET /v1/payments/{id}`.

The signature covers a manifest (`id:<data.id>;request-id:<x-request-id>;ts:<ts>;`), not the body, so the
body is never trusted for state: every notification is confirmed by reading the payment from the API.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

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

NAME = "mercadopago"
API_URL = "https://api.mercadopago.com"
#: Our methods -> Mercado Pago payment type ids; everything else (boleto, ATM, wallet) is excluded.
_TYPES = {"pix": "bank_transfer", "credit": "credit_card", "debit": "debit_card"}
_ALL_TYPES = ("bank_transfer", "credit_card", "debit_card", "ticket", "atm", "prepaid_card", "account_money")
_STATUS = {
    "approved": "paid",
    "rejected": "failed",
    "cancelled": "failed",
    "refunded": "refunded",
    "charged_back": "refunded",
}
_encoder = msgspec.json.Encoder(decimal_format="number")


def _method(payment: dict[str, Any]) -> str | None:
    kind = payment.get("payment_type_id")
    if kind == "bank_transfer" or payment.get("payment_method_id") == "pix":
        return "pix"
    return {"credit_card": "credit", "debit_card": "debit"}.get(str(kind))


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def report_of(payment: dict[str, Any]) -> PaymentReport:
    status = str(payment.get("status", ""))
    amount = payment.get("transaction_amount")
    refunded = payment.get("transaction_amount_refunded")
    return PaymentReport(
        provider_payment_id=str(payment["id"]),
        charge_id=payment.get("external_reference") or None,
        status=_STATUS.get(status, "pending"),
        amount=Decimal(str(amount)).quantize(Decimal("0.01")) if amount is not None else None,
        method=_method(payment),
        paid_at=_when(payment.get("date_approved")),
        reason=payment.get("status_detail") if status in ("rejected", "cancelled") else None,
        refunded=Decimal(str(refunded)).quantize(Decimal("0.01")) if refunded else None,
    )


def manifest(data_id: str | None, request_id: str | None, ts: str | None) -> str:
    """The signed string; a part whose value is missing is left out. Alphanumeric ids are signed lower-case."""
    parts = []
    if data_id:
        parts.append(f"id:{data_id.lower() if not data_id.isdigit() else data_id};")
    if request_id:
        parts.append(f"request-id:{request_id};")
    if ts:
        parts.append(f"ts:{ts};")
    return "".join(parts)


def sign(secret: str, data_id: str | None, request_id: str | None, ts: str) -> str:
    """The `x-signature` header value Mercado Pago sends (used by the sandbox and the tests)."""
    return f"ts={ts},v1={hmac_sha256_hex(secret, manifest(data_id, request_id, ts))}"


class MercadoPago:
    name = NAME

    def __init__(self, credentials: Credentials, *, tolerance_seconds: int = 300, clock: Any = time.time) -> None:
        self._credentials = credentials
        self._tolerance = tolerance_seconds
        self._clock = clock
        self._http = client(credentials.api_url or API_URL)

    def _headers(self, idempotency_key: str | None = None) -> dict[str, str]:
        headers = {"authorization": f"Bearer {self._credentials.access_token}", "content-type": "application/json"}
        if idempotency_key:
            headers["x-idempotency-key"] = idempotency_key
        return headers

    async def close(self) -> None:
        await self._http.aclose()

    @staticmethod
    def preference_body(request: CheckoutRequest) -> dict[str, Any]:
        wanted = {_TYPES[m] for m in request.methods}
        body: dict[str, Any] = {
            "items": [
                {
                    "id": request.charge_id,
                    "title": request.description[:256],
                    "quantity": 1,
                    "unit_price": request.amount,
                    "currency_id": request.currency,
                }
            ],
            "external_reference": request.charge_id,
            "notification_url": request.notification_url,
            "back_urls": {"success": request.back_url, "failure": request.back_url, "pending": request.back_url},
            "expires": True,
            "expiration_date_to": request.expires_at.isoformat(timespec="milliseconds"),
            "date_of_expiration": request.expires_at.isoformat(timespec="milliseconds"),
            "payment_methods": {
                "excluded_payment_types": [{"id": t} for t in _ALL_TYPES if t not in wanted],
                "installments": 1,
            },
            "statement_descriptor": "CLINICFLOW",
        }
        payer: dict[str, Any] = {k: v for k, v in (("name", request.payer_name), ("email", request.payer_email)) if v}
        if request.payer_cpf:
            payer["identification"] = {"type": "CPF", "number": request.payer_cpf}
        if payer:
            body["payer"] = payer
        return body

    async def create_checkout(self, request: CheckoutRequest, idempotency_key: str) -> Checkout:
        body = self.preference_body(request)
        try:
            response = await self._http.post(
                "/checkout/preferences", content=_encoder.encode(body), headers=self._headers(idempotency_key)
            )
        except Exception as exc:
            raise ProviderError(f"Mercado Pago did not answer: {type(exc).__name__}") from exc
        raise_for(response, "creating the Mercado Pago preference")
        created = response.json()
        return Checkout(provider_ref=str(created["id"]), url=str(created["init_point"]))

    def verify_webhook(self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> WebhookEvent:
        signature = headers.get("x-signature", "")
        parts = dict(p.strip().split("=", 1) for p in signature.split(",") if "=" in p)
        ts, v1 = parts.get("ts"), parts.get("v1")
        if not ts or not v1:
            raise SignatureInvalid("The x-signature header is missing or incomplete.", field="x-signature")
        data_id = query.get("data.id") or query.get("id")
        expected = hmac_sha256_hex(self._credentials.webhook_secret, manifest(data_id, headers.get("x-request-id"), ts))
        if not self._credentials.webhook_secret or not constant_time_equal(v1.lower(), expected):
            raise SignatureInvalid(field="x-signature")
        try:
            sent = int(ts)
        except ValueError as exc:
            raise SignatureInvalid("The x-signature timestamp is not a number.", field="x-signature") from exc
        seconds = sent / 1000 if sent > 100_000_000_000 else sent  # Mercado Pago has sent both units
        if abs(self._clock() - seconds) > self._tolerance:
            raise SignatureInvalid("The x-signature timestamp is too old.", field="x-signature")
        try:
            note = msgspec.json.decode(body) if body else {}
        except msgspec.DecodeError as exc:
            raise MalformedWebhook(f"The body is not JSON: {exc}") from exc
        if not isinstance(note, dict):
            raise MalformedWebhook("The body is not a JSON object.")
        body_id = str((note.get("data") or {}).get("id") or "") or None
        if body_id and data_id and body_id != data_id:
            # The signature covers the query's data.id only: a body naming another payment was tampered with.
            raise SignatureInvalid("The body names another payment than the signed one.", field="data.id")
        payment_id = data_id or body_id
        kind = str(note.get("type") or query.get("type") or "")
        event_id = str(note.get("id") or headers.get("x-request-id") or "")
        if not event_id:
            raise MalformedWebhook("The notification carries no id.", field="id")
        return WebhookEvent(
            event_id=event_id,
            kind=f"{kind}:{note.get('action', '')}",
            provider_payment_id=payment_id if kind == "payment" else None,
            charge_id=None,
        )

    async def fetch_payment(self, provider_payment_id: str) -> PaymentReport:
        try:
            response = await self._http.get(f"/v1/payments/{provider_payment_id}", headers=self._headers())
        except Exception as exc:
            raise ProviderError(f"Mercado Pago did not answer: {type(exc).__name__}") from exc
        raise_for(response, "reading the Mercado Pago payment")
        return report_of(response.json())

    async def find_payment(self, charge_id: str, provider_ref: str | None) -> PaymentReport | None:
        params = {"external_reference": charge_id, "sort": "date_created", "criteria": "desc"}
        try:
            response = await self._http.get("/v1/payments/search", params=params, headers=self._headers())
        except Exception as exc:
            raise ProviderError(f"Mercado Pago did not answer: {type(exc).__name__}") from exc
        raise_for(response, "searching Mercado Pago payments")
        reports = [report_of(p) for p in response.json().get("results", [])]
        for wanted in ("paid", "refunded", "failed", "pending"):
            for report in reports:
                if report.status == wanted:
                    return report
        return None

    async def refund(self, provider_payment_id: str, amount: Decimal, idempotency_key: str) -> str:
        try:
            response = await self._http.post(
                f"/v1/payments/{provider_payment_id}/refunds",
                content=_encoder.encode({"amount": amount}),
                headers=self._headers(idempotency_key),
            )
        except Exception as exc:
            raise ProviderError(f"Mercado Pago did not answer: {type(exc).__name__}") from exc
        raise_for(response, "refunding at Mercado Pago")
        return str(response.json()["id"])
