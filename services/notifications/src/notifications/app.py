"""Wiring only: the API and worker applications of the notifications service."""

from __future__ import annotations

import asyncio
import logging

from litestar import Litestar

from kit.api import create_api_app
from kit.worker import WorkerContext, create_worker_app
from notifications import consumers, services
from notifications.api import MessageController, TemplateController
from notifications.domain import InvalidTemplate, TemplateNotFound
from notifications.providers import WhatsAppCloud
from notifications.settings import SERVICE, NotificationsSettings, get_settings

log = logging.getLogger(__name__)


def create_api() -> Litestar:
    return create_api_app(
        service=SERVICE,
        title="ClinicFlow notifications",
        description="Outbound messages and the clinic's templates.",
        settings=get_settings(),
        route_handlers=[MessageController, TemplateController],
        error_map={InvalidTemplate: 422, TemplateNotFound: 404},
    )


async def dispatch_forever(ctx: WorkerContext, settings: NotificationsSettings) -> None:
    provider = WhatsAppCloud(
        base_url=settings.whatsapp_api_url,
        api_version=settings.whatsapp_api_version,
        phone_number_id=settings.whatsapp_phone_number_id,
        token=settings.whatsapp_token,
    )
    try:
        while True:
            try:
                sent = await services.dispatch_due(ctx.uow, provider)
            except Exception:
                log.exception("dispatch round failed")
                sent = 0
            if not sent:
                await asyncio.sleep(settings.dispatch_poll_seconds)
    finally:
        await provider.close()


def create_worker() -> Litestar:
    settings = get_settings()
    return create_worker_app(
        service=SERVICE,
        settings=settings,
        consumers=consumers.build,
        tasks=lambda ctx: [dispatch_forever(ctx, settings)],
    )
