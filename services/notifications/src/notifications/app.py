"""Wiring only: the API and worker applications of the notifications service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from litestar import Litestar
from redis.asyncio import Redis

from kit import objects, webhooks
from kit.api import create_api_app
from kit.periodic import Periodic
from kit.sealing import Sealer
from kit.worker import WorkerContext, create_worker_app
from notifications import consumers, services
from notifications.api import (
    AccountController,
    AssistantController,
    ConsentController,
    ConversationController,
    InAppController,
    MessageController,
    RuleController,
    SettingsController,
    StatsController,
    TemplateController,
    WebhookController,
)
from notifications.channels import (
    ChannelAdapter,
    InstagramMessaging,
    SmtpEmail,
    TelegramBot,
    TwilioSms,
    WhatsAppCloud,
    WhatsAppMedia,
)
from notifications.domain import (
    AssistantFailed,
    AssistantNotConfigured,
    AssistantTimeout,
    AssistantUnavailable,
    InvalidInput,
    InvalidRule,
    InvalidTemplate,
    NotFound,
    OutsideWindow,
    TemplateNotFound,
)
from notifications.llm import ChatCompletions
from notifications.services import consent
from notifications.services.work import NotificationsUnitOfWork, NotificationsWorkFactory
from notifications.settings import SERVICE, NotificationsSettings, get_settings

log = logging.getLogger(__name__)


def create_api() -> Litestar:
    settings = get_settings()
    redis = Redis.from_url(settings.redis_url)
    llm = ChatCompletions(timeout=settings.assistant_timeout_seconds)
    sealer = Sealer.from_setting(settings.sealing_keys) if settings.sealing_keys.strip() else None
    state: dict[str, Any] = {
        "settings": settings,
        "redis": redis,
        "llm": llm,
        "sealer": sealer,
    }

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await redis.aclose()
            await llm.close()

    return create_api_app(
        service=SERVICE,
        title="ClinicFlow notifications",
        description="Messages on WhatsApp, SMS, e-mail, Telegram, Instagram and in-app; templates, rules, consent, "
        "conversations, and the providers' webhooks.",
        settings=settings,
        route_handlers=[
            MessageController,
            TemplateController,
            RuleController,
            SettingsController,
            ConsentController,
            AccountController,
            ConversationController,
            AssistantController,
            InAppController,
            StatsController,
            WebhookController,
        ],
        error_map={
            InvalidTemplate: 422,
            TemplateNotFound: 404,
            InvalidRule: 422,
            InvalidInput: 422,
            OutsideWindow: 409,
            NotFound: 404,
            AssistantNotConfigured: 409,
            AssistantFailed: 502,
            AssistantUnavailable: 503,
            AssistantTimeout: 504,
            **webhooks.ERROR_MAP,
        },
        # Not Redis: it only fans the live inbox stream out; a Valkey restart must not unready every api pod.
        public_paths=["/webhooks/"],
        extra_lifespan=[lifespan],
        state=state,
        resources=[objects.resource(objects.ObjectStore.from_settings(settings))],
        unit_of_work=NotificationsUnitOfWork,
    )


def adapters(settings: NotificationsSettings) -> dict[str, ChannelAdapter]:
    callback = f"{settings.public_base_url.rstrip('/')}/webhooks/twilio/status" if settings.public_base_url else None
    out: list[ChannelAdapter] = [
        WhatsAppCloud(
            base_url=settings.whatsapp_api_url,
            api_version=settings.whatsapp_api_version,
            phone_number_id=settings.whatsapp_phone_number_id,
            token=settings.whatsapp_token,
        ),
        TwilioSms(
            base_url=settings.twilio_api_url,
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            from_number=settings.twilio_from_number,
            status_callback=callback,
        ),
        SmtpEmail(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            username=settings.smtp_username,
            password=settings.smtp_password,
            start_tls=settings.smtp_start_tls or None,
        ),
        TelegramBot(base_url=settings.telegram_api_url, token=settings.telegram_bot_token or "0:sandbox"),
        InstagramMessaging(
            base_url=settings.instagram_api_url,
            api_version=settings.instagram_api_version,
            token=settings.instagram_token,
        ),
    ]
    return {a.channel: a for a in out}


async def dispatch_forever(ctx: WorkerContext, settings: NotificationsSettings) -> None:
    channels = adapters(settings)
    redis = Redis.from_url(settings.redis_url)
    dispatcher = services.Dispatcher(
        cast(NotificationsWorkFactory, ctx.uow),  # built with unit_of_work=NotificationsUnitOfWork below
        channels,
        publisher=redis,
        batch_size=settings.dispatch_batch_size,
        concurrency=settings.dispatch_concurrency,
    )
    try:
        while True:
            try:
                sent = await dispatcher.dispatch_due()
            except Exception:
                log.exception("dispatch round failed")
                sent = 0
            if not sent:
                await asyncio.sleep(settings.dispatch_poll_seconds)
    finally:
        for adapter in channels.values():
            await adapter.close()
        await redis.aclose()


async def fetch_media_forever(ctx: WorkerContext, settings: NotificationsSettings) -> None:
    """The photos and documents people send on WhatsApp, fetched from the Graph API into the object store after
    their webhook was answered (services.fetch_media_due); then their message.received goes out."""
    media = WhatsAppMedia(
        base_url=settings.whatsapp_api_url, api_version=settings.whatsapp_api_version, token=settings.whatsapp_token
    )
    uow = cast(NotificationsWorkFactory, ctx.uow)  # built with unit_of_work=NotificationsUnitOfWork below
    store = ctx.resources["objects"]
    try:
        while True:
            try:
                handled = await services.fetch_media_due(uow, media, store)
            except Exception:
                log.exception("media round failed")
                handled = 0
            if not handled:
                await asyncio.sleep(settings.media_poll_seconds)
    finally:
        await media.close()


def create_worker() -> Litestar:
    settings = get_settings()
    return create_worker_app(
        service=SERVICE,
        settings=settings,
        consumers=consumers.build,
        tasks=lambda ctx: [
            dispatch_forever(ctx, settings),
            fetch_media_forever(ctx, settings),
            Periodic(
                "notifications-retention",
                lambda: consent.retention_round(cast(NotificationsWorkFactory, ctx.uow), ctx.resources.get("objects")),
                settings.retention_timer_seconds,
            ),
        ],
        # the privacy consumer writes export parts there (docs/privacy.md)
        resources=[objects.resource(objects.ObjectStore.from_settings(settings))],
        unit_of_work=NotificationsUnitOfWork,
    )
