"""Wiring only: the API and worker applications of privacy."""

from __future__ import annotations

from litestar import Litestar

from kit.api import create_api_app
from kit.worker import create_worker_app
from privacy.api import ItemController
from privacy.domain import InvalidPrivacy
from privacy.services import PrivacyUnitOfWork
from privacy.settings import SERVICE, get_settings


def create_api() -> Litestar:
    return create_api_app(
        service=SERVICE,
        title="ClinicFlow privacy",
        description="Every error is an RFC 9457 problem document.",
        settings=get_settings(),
        route_handlers=[ItemController],
        error_map={InvalidPrivacy: 422},
        unit_of_work=PrivacyUnitOfWork,
    )


def create_worker() -> Litestar:
    # consumers=lambda ctx: [IdempotentConsumer(...)], tasks=lambda ctx: [Periodic(...)]: docs/architecture.md
    return create_worker_app(service=SERVICE, settings=get_settings(), unit_of_work=PrivacyUnitOfWork)
