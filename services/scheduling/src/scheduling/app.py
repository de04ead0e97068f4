"""Wiring only: the API and worker applications of the scheduling service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

from litestar import Litestar
from litestar.di import Provide

from kit import objects
from kit.api import create_api_app
from kit.db import UnitOfWorkFactory
from kit.periodic import Periodic
from kit.worker import WorkerContext, create_worker_app
from scheduling import consumers
from scheduling.api import ROUTES
from scheduling.clock import make_clock
from scheduling.domain.errors import Conflict, Forbidden, Invalid, LinkInvalid, NotFound, PaymentRequired
from scheduling.services import booking, reminders, waitlist
from scheduling.services.catalog import CatalogCache
from scheduling.services.env import Env, Links
from scheduling.services.live import BoardHub
from scheduling.services.work import SchedulingUnitOfWork, SchedulingWorkFactory
from scheduling.settings import SERVICE, SchedulingSettings, get_settings

log = logging.getLogger(__name__)

#: Patient pages, forwarded by the gateway's public ingress without a staff token.
PUBLIC_PATHS = ("/public/",)
ERRORS = {Invalid: 422, NotFound: 404, Conflict: 409, PaymentRequired: 402, Forbidden: 403, LinkInvalid: 401}


def make_env(settings: SchedulingSettings, uow: UnitOfWorkFactory, catalog: CatalogCache | None = None) -> Env:
    """`uow`: kit's factory, built with `unit_of_work=SchedulingUnitOfWork` (the app factories below)."""
    return Env(
        uow=cast(SchedulingWorkFactory, uow),
        clock=make_clock(settings.clock_file),
        links=Links(secret=settings.link_secret, public_url=settings.public_url, ttl_seconds=settings.link_ttl_seconds),
        catalog=catalog,
    )


def create_api() -> Litestar:
    settings = get_settings()
    hub = BoardHub(settings.database_url)
    catalog = CatalogCache(settings.database_url)  # availability's set-up snapshots, invalidated by NOTIFY
    state: dict[str, Any] = {"board_hub": hub, "proxy_hops": settings.trusted_proxy_hops}
    holder: dict[str, Env] = {}

    @asynccontextmanager
    async def close_hub(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await hub.close()
            await catalog.close()

    def provide_env() -> Env:
        if "env" not in holder:
            holder["env"] = make_env(settings, state["uow"], catalog)
        return holder["env"]

    return create_api_app(
        service=SERVICE,
        title="ClinicFlow scheduling",
        description="Clinic set-up, availability, appointments (no double booking), payment-gated booking, "
        "reminders, agenda, reception and the waiting room, returns, online booking and anamnesis. Every error "
        "is an RFC 9457 problem document.",
        settings=settings,
        route_handlers=ROUTES,
        error_map=ERRORS,  # type: ignore[arg-type]
        public_paths=PUBLIC_PATHS,
        extra_dependencies={"env": Provide(provide_env, sync_to_thread=False)},
        extra_lifespan=[close_hub],
        state=state,
        unit_of_work=SchedulingUnitOfWork,
    )


def create_worker() -> Litestar:
    settings = get_settings()
    envs: dict[str, Env] = {}

    def env_of(ctx: WorkerContext) -> Env:
        if "env" not in envs:
            envs["env"] = make_env(settings, ctx.uow)
        return envs["env"]

    return create_worker_app(
        service=SERVICE,
        settings=settings,
        consumers=lambda ctx: consumers.build(ctx, env_of(ctx)),
        # kit.periodic timers: a round that found work runs again at once, a failing one is logged and counted
        # (clinicflow_task_runs_total{task="reminders"} feeds the ClinicFlowRemindersOverdue alert).
        tasks=lambda ctx: [
            Periodic(
                "reminders",
                lambda: reminders.dispatch_due(env_of(ctx), limit=settings.reminder_batch),
                settings.reminder_poll_seconds,
            ),
            # Lapsed waitlist offers pass to the next person before the generic purge drops other holds.
            Periodic("waitlist-offers", lambda: waitlist.pass_on_lapsed_offers(env_of(ctx)), 2.0),
            Periodic("hold-expiry", lambda: booking.expire_holds(env_of(ctx)), 5.0),
        ],
        unit_of_work=SchedulingUnitOfWork,
        # the privacy consumer writes export parts there (docs/privacy.md)
        resources=[objects.resource(objects.ObjectStore.from_settings(settings))],
    )
