"""Wiring of the payment provider sandbox (its own process, port 8091)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from litestar import Litestar

from kit import logging as kit_logging
from kit import web
from kit.settings import load
from sandbox.payments.mercadopago import Book, Checkout, Inspect, MercadoPagoApi


class PaymentsSandboxSettings(msgspec.Struct, kw_only=True):
    http_host: str = "127.0.0.1"
    http_port: int = 8091
    #: The access token callers must send (Bearer), as Mercado Pago demands; empty: any token.
    access_token: str = ""
    #: Signs the webhooks (x-signature); the payments service verifies with the same secret.
    webhook_secret: str = "sandbox-webhook-secret"  # noqa: S105 - the local sandbox's default, not a real secret
    #: Where browsers reach the hosted checkout (the init_point links).
    public_url: str = "http://127.0.0.1:8091"
    pix_key: str = "pagamentos@clinicflow.local"
    log_level: str = "INFO"
    log_format: str = "json"


def get_settings() -> PaymentsSandboxSettings:
    return load(PaymentsSandboxSettings, "SANDBOX_PAYMENTS_")


def create_app() -> Litestar:
    settings = get_settings()
    kit_logging.setup("sandbox-payments", settings.log_level, settings.log_format)
    book = Book(
        token=settings.access_token,
        secret=settings.webhook_secret,
        public_url=settings.public_url,
        pix_key=settings.pix_key,
    )

    async def ok() -> None:
        return None

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await book.close()

    return web.create_app(
        service="sandbox-payments",
        title="ClinicFlow payment provider sandbox",
        description="A Mercado Pago look-alike: API, hosted checkout (PIX or card), signed webhooks, controls.",
        route_handlers=[MercadoPagoApi, Checkout, Inspect],
        checks={"self": ok},
        lifespan=[lifespan],
        state={"mp_book": book},
    )
