"""Wiring only: the API and worker applications of the leads service."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from litestar import Litestar
from litestar.di import Provide

from kit import objects
from kit.api import create_api_app
from kit.periodic import Periodic
from kit.ratelimit import FixedWindowLimiter, RateLimited
from kit.worker import create_worker_app
from leads import consumers
from leads.api import ROUTES
from leads.domain.errors import Conflict, Forbidden, InvalidLead, NotFound
from leads.domain.intake import PayloadTooLarge, Unauthenticated, UnsupportedMediaType
from leads.services import retention
from leads.services.intake import PublicIntake
from leads.services.work import LeadsUnitOfWork, LeadsWorkFactory
from leads.settings import SERVICE, get_settings

#: Paths served without a staff token (the gateway forwards them from its public ingress).
PUBLIC_PATHS = ("/public/", "/webhooks/")


def create_api() -> Litestar:
    settings = get_settings()
    # Intake must not lose a submission because Redis is down: the spam limit then lets it through.
    limiter = FixedWindowLimiter.from_url(settings.redis_url, fail_open=True)
    public = PublicIntake(
        limiter=limiter,
        limit=settings.form_rate_limit,
        window_seconds=settings.form_rate_window_seconds,
        public_url=settings.public_url,
        proxy_hops=settings.trusted_proxy_hops,
    )

    @asynccontextmanager
    async def close_redis(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await limiter.close()

    def provide_public() -> PublicIntake:
        return public

    return create_api_app(
        service=SERVICE,
        title="ClinicFlow leads",
        description="Prospects: intake and de-duplication, statuses, requests, activities, lists, matching, "
        "audit. Every error is an RFC 9457 problem document.",
        settings=settings,
        route_handlers=ROUTES,
        error_map={
            InvalidLead: 422,
            NotFound: 404,
            Conflict: 409,
            Forbidden: 403,
            Unauthenticated: 401,
            UnsupportedMediaType: 415,
            PayloadTooLarge: 413,
            RateLimited: 429,
        },
        public_paths=PUBLIC_PATHS,
        # Not Redis: the intake limiter fails open, so a Valkey restart must not take the api out of rotation.
        extra_dependencies={"public": Provide(provide_public, sync_to_thread=False)},
        extra_lifespan=[close_redis],
        unit_of_work=LeadsUnitOfWork,
    )


def create_worker() -> Litestar:
    settings = get_settings()
    return create_worker_app(
        service=SERVICE,
        settings=settings,
        consumers=consumers.build,
        tasks=lambda ctx: [
            Periodic(
                "leads-retention",
                lambda: retention.retention_round(cast(LeadsWorkFactory, ctx.uow)),
                settings.retention_timer_seconds,
            )
        ],
        unit_of_work=LeadsUnitOfWork,
        # the privacy consumer writes export parts there (docs/privacy.md)
        resources=[objects.resource(objects.ObjectStore.from_settings(settings))],
    )
