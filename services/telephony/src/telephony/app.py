"""Wiring only: the API and worker applications of telephony."""

from __future__ import annotations

from typing import cast

from litestar import Litestar

from kit import objects, resources, webhooks
from kit.api import create_api_app
from kit.periodic import Periodic
from kit.resources import Resource
from kit.worker import WorkerContext, create_worker_app
from telephony import consumers, services
from telephony.api import (
    AccountController,
    CallController,
    NumberController,
    PublicRecordingController,
    RecordingController,
    WebhookController,
)
from telephony.domain import Conflict, Gone, InvalidTelephony, LinkInvalid, NotFound
from telephony.provider_api import Defaults, ProviderApi, ProviderApiError
from telephony.services.work import TelephonyUnitOfWork, TelephonyWorkFactory
from telephony.settings import SERVICE, TelephonySettings, get_settings


def provider_api(settings: TelephonySettings) -> Resource[ProviderApi]:
    api = ProviderApi(
        Defaults(
            twilio=settings.twilio_api_url,
            telfin=settings.telfin_api_url,
            zadarma=settings.zadarma_api_url,
            mango=settings.mango_api_url,
        )
    )
    return Resource("provider_api", api, close=api.close)


def playback(settings: TelephonySettings) -> services.PlaybackLinks:
    return services.PlaybackLinks(settings.link_secret, settings.public_url, settings.recording_link_seconds)


def create_api() -> Litestar:
    settings = get_settings()
    return create_api_app(
        service=SERVICE,
        title="ClinicFlow telephony",
        description="Calls from the clinics' IP telephony (Zadarma, Twilio Voice, Mango Office, Telfin, Asterisk, "
        "Bitrix24): call cards, tracking numbers and their marketing sources, the live stream of incoming calls, "
        "click-to-call, recordings behind signed expiring links. Every error is an RFC 9457 problem document.",
        settings=settings,
        route_handlers=[
            AccountController,
            NumberController,
            CallController,
            RecordingController,
            PublicRecordingController,
            WebhookController,
        ],
        error_map={
            InvalidTelephony: 422,
            NotFound: 404,
            Conflict: 409,
            Gone: 410,
            LinkInvalid: 403,
            ProviderApiError: 502,
            **webhooks.ERROR_MAP,
        },
        public_paths=["/webhooks/telephony", "/public/telephony/"],
        unit_of_work=TelephonyUnitOfWork,
        state={
            "settings": settings,
            "playback": playback(settings),
            "directory": services.Directory(ttl=settings.directory_cache_seconds),
        },
        resources=[
            resources.redis(settings.redis_url),
            objects.resource(objects.ObjectStore.from_settings(settings)),
            provider_api(settings),
        ],
    )


def create_worker() -> Litestar:
    settings = get_settings()
    store = objects.ObjectStore.from_settings(settings)
    api = provider_api(settings)

    def tasks(ctx: WorkerContext) -> list[Periodic]:
        uow = cast(TelephonyWorkFactory, ctx.uow)  # built with unit_of_work=TelephonyUnitOfWork below
        return [
            Periodic(
                "telephony-recordings",
                lambda: services.recordings_round(uow, api.value, store),
                settings.recording_timer_seconds,
            ),
            Periodic(
                "telephony-retention",
                lambda: services.retention_round(uow, store, default_days=settings.recording_retention_days),
                settings.retention_timer_seconds,
            ),
        ]

    return create_worker_app(
        service=SERVICE,
        settings=settings,
        consumers=consumers.build,
        unit_of_work=TelephonyUnitOfWork,
        tasks=tasks,
        resources=[objects.resource(store), api],
    )
