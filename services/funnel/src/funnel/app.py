"""Wiring only: the API and worker applications of funnel."""

from __future__ import annotations

from litestar import Litestar

from funnel import consumers, services
from funnel.api import DealController, PipelineController, WorkController
from funnel.api.assistant import AssistantController
from funnel.clock import make_clock
from funnel.domain import Conflict, InvalidFunnel, NotFound
from funnel.services import assistant
from funnel.settings import SERVICE, get_settings
from kit.api import create_api_app
from kit.periodic import Periodic
from kit.worker import create_worker_app

ERRORS: dict[type[Exception], int] = {InvalidFunnel: 422, NotFound: 404, Conflict: 409}


def create_api() -> Litestar:
    settings = get_settings()
    return create_api_app(
        service=SERVICE,
        title="ClinicFlow funnel",
        description="Pipelines and deals moved by the other services' events, curators, treatment plans and "
        "tasks (docs/funnel.md). Every error is an RFC 9457 problem document.",
        settings=settings,
        route_handlers=[PipelineController, DealController, WorkController, AssistantController],
        error_map=ERRORS,
        state={"clock": make_clock(settings.clock_file)},
    )


def create_worker() -> Litestar:
    settings = get_settings()
    clock = make_clock(settings.clock_file)
    return create_worker_app(
        service=SERVICE,
        settings=settings,
        consumers=lambda ctx: consumers.build(ctx, clock),
        tasks=lambda ctx: [
            Periodic("funnel-lost", lambda: services.lost_round(ctx.uow, clock), settings.timer_seconds),
            Periodic("funnel-overdue", lambda: services.overdue_round(ctx.uow, clock), settings.timer_seconds),
            Periodic("funnel-assistant", lambda: assistant.timer_round(ctx.uow, clock), settings.timer_seconds),
        ],
    )
