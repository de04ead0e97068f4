"""Wiring of the sandbox provider server."""

from __future__ import annotations

import msgspec
from litestar import Litestar

from kit import logging as kit_logging
from kit import web
from kit.settings import load
from sandbox.whatsapp import InspectController, Mailbox, WhatsAppController


class SandboxSettings(msgspec.Struct, kw_only=True):
    http_host: str = "127.0.0.1"
    http_port: int = 8090
    #: When set, requests must carry it as the bearer token, as Meta's API demands.
    whatsapp_token: str = ""
    log_level: str = "INFO"
    log_format: str = "json"


def get_settings() -> SandboxSettings:
    return load(SandboxSettings, "SANDBOX_")


def create_app() -> Litestar:
    settings = get_settings()
    kit_logging.setup("sandbox", settings.log_level, settings.log_format)

    async def ok() -> None:
        return None

    return web.create_app(
        service="sandbox",
        title="ClinicFlow sandbox providers",
        description="Local stand-ins for WhatsApp Cloud API (more providers come with their issues).",
        route_handlers=[WhatsAppController, InspectController],
        checks={"self": ok},
        state={"mailbox": Mailbox(settings.whatsapp_token)},
    )
