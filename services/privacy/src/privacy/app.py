"""Wiring only: the API and worker applications of privacy."""

from __future__ import annotations

from litestar import Litestar

from kit import objects
from kit.api import create_api_app
from kit.periodic import Periodic
from kit.worker import create_worker_app
from privacy import consumers, services
from privacy.api import (
    AuditController,
    ConsentController,
    PublicExportController,
    RequestController,
    SettingsController,
)
from privacy.domain import Conflict, Gone, InvalidPrivacy, LinkInvalid, NotFound
from privacy.services import PrivacyUnitOfWork
from privacy.settings import SERVICE, PrivacySettings, get_settings


def export_links(settings: PrivacySettings) -> services.ExportLinks:
    return services.ExportLinks(settings.link_secret, settings.public_url, settings.export_link_seconds)


def create_api() -> Litestar:
    settings = get_settings()
    return create_api_app(
        service=SERVICE,
        title="ClinicFlow privacy",
        description="Personal data under LGPD, GDPR and 152-FZ: the consent ledger, data subject requests (access, "
        "export, correction, erasure) answered by every service through events, export archives behind signed "
        "single-use links, the read audit, retention. Every error is an RFC 9457 problem document.",
        settings=settings,
        route_handlers=[
            ConsentController,
            RequestController,
            PublicExportController,
            AuditController,
            SettingsController,
        ],
        error_map={InvalidPrivacy: 422, NotFound: 404, Conflict: 409, Gone: 410, LinkInvalid: 403},
        public_paths=["/public/privacy/"],
        state={"settings": settings, "export_links": export_links(settings)},
        resources=[objects.resource(objects.ObjectStore.from_settings(settings))],
        unit_of_work=PrivacyUnitOfWork,
    )


def create_worker() -> Litestar:
    settings = get_settings()
    store = objects.ObjectStore.from_settings(settings)
    return create_worker_app(
        service=SERVICE,
        settings=settings,
        consumers=lambda ctx: consumers.build(ctx, store),
        tasks=lambda ctx: [
            Periodic(
                "privacy-retention",
                lambda: services.retention_round(ctx.uow, store),  # type: ignore[arg-type]
                settings.retention_timer_seconds,
            )
        ],
        resources=[objects.resource(store)],
        unit_of_work=PrivacyUnitOfWork,
    )
