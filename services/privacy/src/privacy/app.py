"""Wiring only: the API and worker applications of privacy."""

from __future__ import annotations

from litestar import Litestar

from kit import objects
from kit.api import create_api_app
from kit.periodic import Periodic
from kit.sealing import Sealer
from kit.worker import create_worker_app
from privacy import consumers, services
from privacy.api import (
    AuditController,
    ConsentController,
    KeyStoreController,
    PublicExportController,
    RequestController,
    SettingsController,
)
from privacy.domain import Conflict, Gone, InvalidPrivacy, LinkInvalid, NotFound
from privacy.services import PrivacyUnitOfWork
from privacy.settings import SERVICE, PrivacySettings, get_settings


def export_links(settings: PrivacySettings) -> services.ExportLinks:
    return services.ExportLinks(settings.link_secret, settings.public_url, settings.export_link_seconds)


def key_vault(settings: PrivacySettings) -> services.KeyVault | None:
    """None without SEALING_KEYS: the key store then answers 503 and producers wait (kit.personal)."""
    return services.KeyVault(Sealer.from_setting(settings.sealing_keys)) if settings.sealing_keys.strip() else None


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
            KeyStoreController,
        ],
        error_map={InvalidPrivacy: 422, NotFound: 404, Conflict: 409, Gone: 410, LinkInvalid: 403},
        # The key store takes the services' token, not a staff JWT (privacy.api.KeyStoreController).
        public_paths=["/public/privacy/", "/internal/keys"],
        state={"settings": settings, "export_links": export_links(settings), "key_vault": key_vault(settings)},
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
