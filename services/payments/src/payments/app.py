"""Wiring only: the API and worker applications of the payments service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import cast

from litestar import Litestar
from litestar.di import Provide

from kit import objects, webhooks
from kit.api import create_api_app
from kit.periodic import Periodic
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
from payments.domain.errors import Conflict, InvalidInput, LinkInvalid, NotConfigured, NotFound, ProviderUnavailable
from payments.pix import BrCodeError
from payments.services import accounts, charges
from payments.services.accounts import ProviderBook
from payments.services.work import PaymentsUnitOfWork, PaymentsWorkFactory
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
            LinkInvalid: 401,
            NotFound: 404,
            Conflict: 409,
            ProviderUnavailable: 502,
            NotConfigured: 503,
            BrCodeError: 502,
            **webhooks.ERROR_MAP,
        },
        public_paths=["/webhooks/payments", "/public/payments"],
        extra_dependencies={
            "book": Provide(lambda: book, sync_to_thread=False),
            "clock": Provide(lambda: clock, sync_to_thread=False),
            "settings": Provide(lambda: settings, sync_to_thread=False),
        },
        extra_lifespan=[close_providers],
        unit_of_work=PaymentsUnitOfWork,
    )


def create_worker() -> Litestar:
    settings = get_settings()
    clock = Clock(settings.clock_file)
    book = ProviderBook(settings)

    def tasks(ctx: WorkerContext) -> list[Periodic]:
        uow = cast(PaymentsWorkFactory, ctx.uow)  # built with unit_of_work=PaymentsUnitOfWork below
        return [
            Periodic("expiry", lambda: charges.expire_due(uow, clock), interval=settings.expiry_poll_seconds),
            Periodic(
                "reconciliation",
                lambda: charges.reconcile(uow, book, clock, after=timedelta(seconds=settings.reconcile_after_seconds)),
                interval=settings.reconcile_poll_seconds,
            ),
            # Credentials from before sealing, or under a key being rotated out, are sealed with the current key.
            Periodic("reseal", lambda: accounts.reseal(uow, book.sealer), interval=settings.reseal_poll_seconds),
        ]

    return create_worker_app(
        service=SERVICE,
        settings=settings,
        consumers=lambda ctx: consumers.build(ctx, book, clock),
        tasks=tasks,
        unit_of_work=PaymentsUnitOfWork,
        # the privacy consumer writes export parts there (docs/privacy.md)
        resources=[objects.resource(objects.ObjectStore.from_settings(settings))],
    )


__all__ = ["PaymentsSettings", "create_api", "create_worker"]
