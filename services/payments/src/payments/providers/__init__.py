"""Payment provider adapters behind one interface (base.PaymentProvider), chosen per clinic."""

from __future__ import annotations

from payments.providers.asaas import Asaas
from payments.providers.base import Credentials, PaymentProvider
from payments.providers.mercadopago import MercadoPago
from payments.providers.stripe import Stripe

PROVIDERS = ("mercadopago", "stripe", "asaas")
__all__ = ["PROVIDERS", "Asaas", "Credentials", "MercadoPago", "PaymentProvider", "Stripe", "make"]


def make(name: str, credentials: Credentials, *, tolerance_seconds: int = 300) -> PaymentProvider:
    if name == "mercadopago":
        return MercadoPago(credentials, tolerance_seconds=tolerance_seconds)
    if name == "stripe":
        return Stripe(credentials, tolerance_seconds=tolerance_seconds)
    if name == "asaas":
        return Asaas(credentials)
    raise ValueError(f"unknown provider {name!r}")
