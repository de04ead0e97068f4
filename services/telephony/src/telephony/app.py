"""Wiring only: the API and worker applications of telephony."""

from __future__ import annotations

from litestar import Litestar

from kit.api import create_api_app
from kit.worker import create_worker_app
from telephony.api import ItemController
from telephony.domain import InvalidTelephony
from telephony.settings import SERVICE, get_settings


def create_api() -> Litestar:
    return create_api_app(
        service=SERVICE,
        title="ClinicFlow telephony",
        description="Every error is an RFC 9457 problem document.",
        settings=get_settings(),
        route_handlers=[ItemController],
        error_map={InvalidTelephony: 422},
    )


def create_worker() -> Litestar:
    # consumers=lambda ctx: [IdempotentConsumer(...)], tasks=lambda ctx: [Periodic(...)]: docs/architecture.md
    return create_worker_app(service=SERVICE, settings=get_settings())
