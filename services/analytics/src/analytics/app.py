"""Wiring only: the API and worker applications of analytics."""

from __future__ import annotations

from typing import cast

from litestar import Litestar

from analytics import consumers
from analytics.api import DashboardController, InputController, ReportController
from analytics.domain import Forbidden, InvalidAnalytics, NotFound
from analytics.services.projection import ProjectionUnitOfWork, refresh_facts
from analytics.services.work import AnalyticsUnitOfWork, AnalyticsWorkFactory
from analytics.settings import SERVICE, AnalyticsSettings, get_settings
from kit import objects
from kit.api import create_api_app
from kit.periodic import Periodic
from kit.worker import WorkerContext, create_worker_app

ERRORS: dict[type[Exception], int] = {InvalidAnalytics: 422, NotFound: 404, Forbidden: 403}


def create_api() -> Litestar:
    return create_api_app(
        service=SERVICE,
        title="ClinicFlow analytics",
        description="Reports and dashboard figures from read models built from the other services' events "
        "(docs/analytics.md). Every error is an RFC 9457 problem document.",
        settings=get_settings(),
        route_handlers=[ReportController, DashboardController, InputController],
        error_map=ERRORS,
        unit_of_work=AnalyticsUnitOfWork,
    )


def timers(ctx: WorkerContext) -> list[Periodic]:
    """The fact refresher: drains what the consumers' batches queued into the facts and rollups."""
    settings = ctx.settings
    interval = settings.facts_seconds if isinstance(settings, AnalyticsSettings) else 0.1
    uow = cast(AnalyticsWorkFactory, ctx.uow)  # built with unit_of_work=ProjectionUnitOfWork below
    return [Periodic("analytics-facts", lambda: refresh_facts(uow), interval=interval)]


def create_worker() -> Litestar:
    settings = get_settings()
    return create_worker_app(
        service=SERVICE,
        settings=settings,
        consumers=consumers.build,
        tasks=timers,
        unit_of_work=ProjectionUnitOfWork,
        # the privacy consumer writes export parts there (docs/privacy.md)
        resources=[objects.resource(objects.ObjectStore.from_settings(settings))],
    )
