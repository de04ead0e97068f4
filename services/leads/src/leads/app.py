"""Wiring only: the API and worker applications of the leads service."""

from __future__ import annotations

from litestar import Litestar

from kit.api import create_api_app
from kit.worker import create_worker_app
from leads.api import ROUTES
from leads.domain.errors import Conflict, Forbidden, InvalidLead, NotFound
from leads.settings import SERVICE, get_settings


def create_api() -> Litestar:
    return create_api_app(
        service=SERVICE,
        title="ClinicFlow leads",
        description="Prospects: intake and de-duplication, statuses, requests, activities, lists, matching, "
        "audit. Every error is an RFC 9457 problem document.",
        settings=get_settings(),
        route_handlers=ROUTES,
        error_map={InvalidLead: 422, NotFound: 404, Conflict: 409, Forbidden: 403},
    )


def create_worker() -> Litestar:
    return create_worker_app(service=SERVICE, settings=get_settings())
