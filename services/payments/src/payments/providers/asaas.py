"""Asaas: PIX charges (`POST /v3/payments` with billingType PIX and its `pixQrCode`), `asaas-access-token`
webhooks. The token authenticates the sender but signs nothing, so the status is read back from the API."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
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
    raise_for,
)

NAME = "asaas"
API_URL = "https://api.asaas.com"
_STATUS = {
    "RECEIVED": "paid",
    "CONFIRMED": "paid",
    "RECEIVED_IN_CASH": "paid",
    "REFUNDED": "refunded",
    "REFUND_REQUESTED": "refunded",
}
#: Events about a payment's money; the rest (created, updated, overdue, deleted) change nothing here.
PAYMENT_EVENTS = frozenset(
    {
        "PAYMENT_CONFIRMED",
        "PAYMENT_RECEIVED",
        "PAYMENT_REFUNDED",
        "PAYMENT_PARTIALLY_REFUNDED",
        "PAYMENT_CREDIT_CARD_CAPTURE_REFUSED",
    }
)
_encoder = msgspec.json.Encoder(decimal_format="number")


def _report(payment: dict[str, Any]) -> PaymentReport:
    status = str(payment.get("status", ""))
    value = payment.get("value")
    billing = payment.get("billingType")
    paid = payment.get("clientPaymentDate") or payment.get("paymentDate") or payment.get("confirmedDate")
    refunds = [
        Decimal(str(r.get("value") or 0)) for r in payment.get("refunds") or [] if r.get("status") != "CANCELLED"
    ]
    if status == "REFUNDED" and value is not None:
        refunded: Decimal | None = Decimal(str(value))
    else:
        refunded = sum(refunds, Decimal(0)) if refunds else None
    return PaymentReport(
        provider_payment_id=str(payment["id"]),
        charge_id=payment.get("externalReference") or None,
        status=_STATUS.get(status, "failed" if status == "REFUSED" else "pending"),
        amount=Decimal(str(value)).quantize(Decimal("0.01")) if value is not None else None,
        method={"PIX": "pix", "CREDIT_CARD": "credit", "DEBIT_CARD": "debit"}.get(str(billing)),
        paid_at=datetime.fromisoformat(paid).replace(tzinfo=UTC) if paid else None,
        refunded=refunded.quantize(Decimal("0.01")) if refunded else None,
    )


class Asaas:
    name = NAME

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        self._http = client(credentials.api_url or API_URL)

    def _headers(self) -> dict[str, str]:
        return {"access_token": self._credentials.access_token, "content-type": "application/json"}

    async def close(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, what: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._http.request(
                method, path, content=_encoder.encode(body) if body is not None else None, headers=self._headers()
            )
        except Exception as exc:
            raise ProviderError(f"Asaas did not answer: {type(exc).__name__}") from exc
        raise_for(response, what)
        return response.json()

    @staticmethod
    def payment_body(request: CheckoutRequest, customer_id: str) -> dict[str, Any]:
        return {
            "customer": customer_id,
            "billingType": "PIX",
            "value": request.amount,
            "dueDate": request.expires_at.date().isoformat(),
            "description": request.description[:500],
            "externalReference": request.charge_id,
        }

    @staticmethod
    def customer_body(request: CheckoutRequest) -> dict[str, Any]:
        return {
            "name": request.payer_name or "Paciente",
            "email": request.payer_email,
            "mobilePhone": request.payer_phone,
            "cpfCnpj": request.payer_cpf,
            "externalReference": request.charge_id,
        }

    async def create_checkout(self, request: CheckoutRequest, idempotency_key: str) -> Checkout:
        if request.methods != ("pix",) and "pix" not in request.methods:
            raise ProviderError("Asaas charges here are PIX only; allow the pix method.")
        customer = await self._call("POST", "/v3/customers", "creating the Asaas customer", self.customer_body(request))
        payment = await self._call(
            "POST", "/v3/payments", "creating the Asaas payment", self.payment_body(request, str(customer["id"]))
        )
        qr = await self._call("GET", f"/v3/payments/{payment['id']}/pixQrCode", "reading the Asaas PIX code")
        return Checkout(provider_ref=str(payment["id"]), url=str(payment["invoiceUrl"]), pix_code=qr.get("payload"))

    def verify_webhook(self, body: bytes, headers: Mapping[str, str], query: Mapping[str, str]) -> WebhookEvent:
        token = headers.get("asaas-access-token", "")
        if not self._credentials.webhook_secret or not constant_time_equal(token, self._credentials.webhook_secret):
            raise SignatureInvalid("The asaas-access-token header is missing or wrong.", field="asaas-access-token")
        try:
            event = msgspec.json.decode(body)
            event_id, kind = str(event["id"]), str(event["event"])
            payment = event.get("payment") or {}
        except (msgspec.DecodeError, KeyError, TypeError) as exc:
            raise MalformedWebhook(f"Not an Asaas event: {exc}") from exc
        relevant = kind in PAYMENT_EVENTS and payment.get("id")
        return WebhookEvent(
            event_id=event_id,
            kind=kind,
            provider_payment_id=str(payment["id"]) if relevant else None,
            charge_id=payment.get("externalReference") if relevant else None,
        )

    async def fetch_payment(self, provider_payment_id: str) -> PaymentReport:
        return _report(await self._call("GET", f"/v3/payments/{provider_payment_id}", "reading the Asaas payment"))

    async def find_payment(self, charge_id: str, provider_ref: str | None) -> PaymentReport | None:
        return await self.fetch_payment(provider_ref) if provider_ref else None

    async def refund(self, provider_payment_id: str, amount: Decimal, idempotency_key: str) -> str:
        refunded = await self._call(
            "POST", f"/v3/payments/{provider_payment_id}/refund", "refunding at Asaas", {"value": amount}
        )
        return f"{refunded.get('id', provider_payment_id)}:{idempotency_key[:36]}"
