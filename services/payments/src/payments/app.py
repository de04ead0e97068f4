"""Wiring only: the API and worker applications of the payments service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

from litestar import Litestar
from litestar.di import Provide

from kit.api import create_api_app
from kit.worker import WorkerContext, create_worker_app
from payments import consumers
from payments.api import (
    AccountController,
    CatalogueController,
    ChargeController,
    FinanceController,
    PublicController,
    WebhookController,
)
from payments.clock import Clock
from payments.domain.errors import Conflict, InvalidInput, NotFound, ProviderUnavailable
from payments.pix import BrCodeError
from payments.providers.base import MalformedWebhook, SignatureInvalid
from payments.services import charges
from payments.services.accounts import ProviderBook
from payments.settings import SERVICE, PaymentsSettings, get_settings

log = logging.getLogger(__name__)


def create_api() -> Litestar:
    settings = get_settings()
    book = ProviderBook(settings)
    clock = Clock(settings.clock_file)

    @asynccontextmanager
    async def close_providers(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await book.close()

    return create_api_app(
        service=SERVICE,
        title="ClinicFlow payments",
        description="Charges and payment links (PIX, credit, debit), provider webhooks, receipts, the finance view.",
        settings=settings,
        route_handlers=[
            ChargeController,
            CatalogueController,
            FinanceController,
            AccountController,
            WebhookController,
            PublicController,
        ],
        error_map={
            InvalidInput: 422,
            NotFound: 404,
            Conflict: 409,
            ProviderUnavailable: 502,
            SignatureInvalid: 401,
            MalformedWebhook: 400,
            BrCodeError: 502,
        },
        public_paths=["/webhooks/payments", "/public/payments"],
        extra_dependencies={
            "book": Provide(lambda: book, sync_to_thread=False),
            "clock": Provide(lambda: clock, sync_to_thread=False),
        },
        extra_lifespan=[close_providers],
    )


async def every(seconds: float, name: str, round_: Callable[[], Awaitable[int]]) -> None:
    """Run `round_` every `seconds`; a round that did work is followed at once by another."""
    while True:
        try:
            done = await round_()
        except Exception:
            log.exception("%s round failed", name)
            done = 0
        if not done:
            await asyncio.sleep(seconds)


def create_worker() -> Litestar:
    settings = get_settings()
    clock = Clock(settings.clock_file)
    book = ProviderBook(settings)

    def tasks(ctx: WorkerContext) -> list[object]:
        return [
            every(settings.expiry_poll_seconds, "expiry", lambda: charges.expire_due(ctx.uow, clock)),
            every(
                settings.reconcile_poll_seconds,
                "reconciliation",
                lambda: charges.reconcile(
                    ctx.uow, book, clock, after=timedelta(seconds=settings.reconcile_after_seconds)
                ),
            ),
        ]

    return create_worker_app(
        service=SERVICE,
        settings=settings,
        consumers=consumers.build,
        tasks=tasks,  # type: ignore[arg-type]
    )


__all__ = ["PaymentsSettings", "create_api", "create_worker"]
