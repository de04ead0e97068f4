"""Wiring only: the API and worker applications of the leads service."""

from __future__ import annotations

from litestar import Litestar

from kit.api import create_api_app
from kit.worker import create_worker_app
from leads.api import LeadController
from leads.domain import InvalidLead, LeadNotFound
from leads.settings import SERVICE, get_settings


def create_api() -> Litestar:
    return create_api_app(
        service=SERVICE,
        title="ClinicFlow leads",
        description="Prospects: intake, statuses, sources.",
        settings=get_settings(),
        route_handlers=[LeadController],
        error_map={InvalidLead: 422, LeadNotFound: 404},
    )


def create_worker() -> Litestar:
    return create_worker_app(service=SERVICE, settings=get_settings())
