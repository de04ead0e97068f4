"""Wiring only: the API and worker applications of funnel."""

from __future__ import annotations

from typing import cast

from litestar import Litestar

from funnel import consumers, services
from funnel.api import DealController, PipelineController, WorkController
from funnel.api.assistant import AssistantController
from funnel.api.valuation import PriceListController, ProspectController, ValuationController
from funnel.clock import Clock, make_clock
from funnel.consumers import valuation as valuation_consumers
from funnel.domain import Conflict, FileTooLarge, InvalidFunnel, NotFound, UnsupportedFile
from funnel.domain import valuation as valuation_rules
from funnel.services import assistant, valuation
from funnel.services.work import FunnelUnitOfWork, FunnelWorkFactory
from funnel.settings import SERVICE, FunnelSettings, get_settings
from kit import objects
from kit.api import create_api_app
from kit.periodic import Periodic
from kit.worker import create_worker_app

ERRORS: dict[type[Exception], int] = {
    InvalidFunnel: 422, NotFound: 404, Conflict: 409, UnsupportedFile: 415, FileTooLarge: 413,
    **valuation_rules.ERRORS,
}  # fmt: skip


def _links(settings: FunnelSettings) -> valuation.Links:
    return valuation.Links(settings.link_secret, settings.public_url, settings.link_ttl_days * 86400)


def create_api() -> Litestar:
    settings = get_settings()
    return create_api_app(
        service=SERVICE,
        title="ClinicFlow funnel",
        description="Pipelines and deals moved by the other services' events, curators, treatment plans and "
        "tasks (docs/funnel.md); the valuation -> quote process (docs/quotes.md). Every error is an RFC 9457 "
        "problem document.",
        settings=settings,
        route_handlers=[
            PipelineController,
            DealController,
            WorkController,
            ValuationController,
            PriceListController,
            ProspectController,
            AssistantController,
        ],
        error_map=ERRORS,
        state={"clock": make_clock(settings.clock_file), "valuation_links": _links(settings)},
        resources=[objects.resource(objects.ObjectStore.from_settings(settings))],
        # The prospect's pages (docs/quotes.md): the signed link is the credential, not a staff token.
        public_paths=("/public/funnel/",),
        unit_of_work=FunnelUnitOfWork,
    )


def create_worker() -> Litestar:
    settings = get_settings()
    clock = make_clock(settings.clock_file)
    store = objects.ObjectStore.from_settings(settings)
    return create_worker_app(
        service=SERVICE,
        settings=settings,
        consumers=lambda ctx: (
            consumers.build(ctx, clock) + valuation_consumers.build(ctx, clock, store, _links(settings))
        ),
        tasks=lambda ctx: _timers(cast(FunnelWorkFactory, ctx.uow), clock, settings, store),
        resources=[objects.resource(store)],
        unit_of_work=FunnelUnitOfWork,
    )


def _timers(
    uow: FunnelWorkFactory, clock: Clock, settings: FunnelSettings, store: objects.ObjectStore
) -> list[Periodic]:
    """The worker's durable timers (built with unit_of_work=FunnelUnitOfWork above)."""
    return [
        Periodic("funnel-lost", lambda: services.lost_round(uow, clock), settings.timer_seconds),
        Periodic("funnel-overdue", lambda: services.overdue_round(uow, clock), settings.timer_seconds),
        Periodic("funnel-board-counts", lambda: services.board_counts_round(uow, clock), settings.timer_seconds),
        Periodic("funnel-unconfirmed", lambda: services.unconfirmed_round(uow, clock), settings.timer_seconds),
        *(
            Periodic(name, run, settings.timer_seconds)
            for name, run in valuation.timers(valuation.Env(uow, clock, _links(settings), store))
        ),
        Periodic("funnel-assistant", lambda: assistant.timer_round(uow, clock), settings.timer_seconds),
    ]
