"""Wiring only: the API and worker applications of telephony."""

from __future__ import annotations

from litestar import Litestar

from kit import resources, webhooks
from kit.api import create_api_app
from kit.worker import create_worker_app
from telephony import consumers
from telephony.api import AccountController, CallController, NumberController, WebhookController
from telephony.domain import Conflict, InvalidTelephony, NotFound
from telephony.settings import SERVICE, get_settings


def create_api() -> Litestar:
    settings = get_settings()
    return create_api_app(
        service=SERVICE,
        title="ClinicFlow telephony",
        description="Calls from the clinics' IP telephony (Zadarma, Twilio Voice, Mango Office, Telfin, Asterisk, "
        "Bitrix24): call cards, tracking numbers and their marketing sources, the live stream of incoming calls. "
        "Every error is an RFC 9457 problem document.",
        settings=settings,
        route_handlers=[AccountController, NumberController, CallController, WebhookController],
        error_map={InvalidTelephony: 422, NotFound: 404, Conflict: 409, **webhooks.ERROR_MAP},
        public_paths=["/webhooks/telephony"],
        resources=[resources.redis(settings.redis_url)],
    )


def create_worker() -> Litestar:
    return create_worker_app(service=SERVICE, settings=get_settings(), consumers=consumers.build)
