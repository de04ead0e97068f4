"""Wiring of the sandbox provider server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgspec
from litestar import Litestar

from kit import logging as kit_logging
from kit import web
from kit.settings import load
from sandbox.channels import (
    ChannelInspectController,
    Hooks,
    InstagramController,
    TelegramController,
    TwilioController,
    WebhookSimulator,
    start_smtp,
)
from sandbox.telephony import Pbx, TelephonyApiController, TelephonyController
from sandbox.whatsapp import InspectController, Mailbox, MediaDownloadController, WhatsAppController


class SandboxSettings(msgspec.Struct, kw_only=True):
    http_host: str = "127.0.0.1"
    http_port: int = 8090
    #: When set, requests must carry it as the bearer token, as Meta's API demands.
    whatsapp_token: str = ""
    #: Signs the webhooks the sandbox posts (X-Hub-Signature-256), for WhatsApp and Instagram.
    whatsapp_app_secret: str = ""
    whatsapp_phone_number_id: str = "100000000000001"
    twilio_auth_token: str = ""
    telegram_bot_token: str = ""
    telegram_secret_token: str = ""
    instagram_token: str = ""
    #: Where the providers' webhooks go: the gateway's public ingress.
    webhook_base_url: str = "http://127.0.0.1:8000"
    #: The SMTP server that keeps every mail it gets (0: none).
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 0
    log_level: str = "INFO"
    log_format: str = "json"


def get_settings() -> SandboxSettings:
    return load(SandboxSettings, "SANDBOX_")


def create_app() -> Litestar:
    settings = get_settings()
    kit_logging.setup("sandbox", settings.log_level, settings.log_format)
    boxes = {
        "sms": Mailbox(settings.twilio_auth_token),
        "telegram": Mailbox(settings.telegram_bot_token),
        "instagram": Mailbox(settings.instagram_token),
        "email": Mailbox(""),
    }

    @asynccontextmanager
    async def smtp(_: Litestar) -> AsyncIterator[None]:
        server = (
            await start_smtp(boxes["email"], settings.smtp_host, settings.smtp_port) if settings.smtp_port else None
        )
        try:
            yield
        finally:
            if server is not None:
                server.close()
                await server.wait_closed()

    async def ok() -> None:
        return None

    return web.create_app(
        service="sandbox",
        title="ClinicFlow sandbox providers",
        description="Local stand-ins for WhatsApp Cloud API, Twilio SMS, Telegram, Instagram, an SMTP server and "
        "a PBX (Zadarma, Twilio Voice, Telfin, Asterisk, Bitrix24: calls, call APIs, recordings); they record "
        "what they receive and post signed webhooks "
        "back to the gateway.",
        route_handlers=[
            WhatsAppController,
            MediaDownloadController,
            InspectController,
            TwilioController,
            TelegramController,
            InstagramController,
            ChannelInspectController,
            WebhookSimulator,
            TelephonyController,
            TelephonyApiController,
        ],
        checks={"self": ok},
        lifespan=[smtp],
        state={
            "mailbox": Mailbox(settings.whatsapp_token),
            "pbx": Pbx(),
            "boxes": boxes,
            "hooks": Hooks(
                base_url=settings.webhook_base_url,
                whatsapp_app_secret=settings.whatsapp_app_secret,
                phone_number_id=settings.whatsapp_phone_number_id,
                twilio_auth_token=settings.twilio_auth_token,
                telegram_secret_token=settings.telegram_secret_token,
            ),
        },
    )
