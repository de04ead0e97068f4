"""The API process of a service: database engine and unit of work on app.state, token checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.di import Provide
from litestar.types import ControllerRouterHandler
from sqlalchemy import text

from kit import logging as kit_logging
from kit import personal, tracing, web
from kit import resources as kit_resources
from kit.auth import JwksVerifier
from kit.db import UnitOfWork, UnitOfWorkFactory, make_engine, uow_factory
from kit.resources import Resource
from kit.settings import ServiceSettings


def create_api_app(
    *,
    service: str,
    title: str,
    settings: ServiceSettings,
    route_handlers: Sequence[ControllerRouterHandler],
    error_map: web.ErrorMap,
    description: str = "",
    extra_checks: dict[str, web.Check] | None = None,
    public_paths: Sequence[str] = (),
    extra_dependencies: dict[str, Any] | None = None,
    verifier: JwksVerifier | None = None,
    extra_lifespan: Sequence[Callable[[Litestar], AbstractAsyncContextManager[None]]] = (),
    state: dict[str, Any] | None = None,
    resources: Sequence[Resource[Any]] = (),
    unit_of_work: type[UnitOfWork] = UnitOfWork,
) -> Litestar:
    """`unit_of_work`: the service's UnitOfWork subclass with its repositories (kit.db.UnitOfWork.opened).
    `resources` (kit.resources) are the preferred way to add Redis and friends: each becomes a dependency,
    a readiness check and a close at shutdown; the `extra_*` keywords stay for what is not a resource."""
    kit_logging.setup(service, settings.log_level, settings.log_format)
    tracing.setup(service, settings)
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    cipher = personal.from_settings(
        settings.personal_keys_url, settings.personal_keys_token, settings.personal_keys_cache_seconds
    )
    uow = uow_factory(engine, service, unit_of_work, cipher)
    if state is not None:
        state["uow"] = uow

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if cipher is not None:
                await cipher.close()
            await engine.dispose()

    async def check_database() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    def provide_uow() -> UnitOfWorkFactory:
        return uow

    return web.create_app(
        service=service,
        title=title,
        description=description,
        route_handlers=route_handlers,
        checks={"database": check_database, **kit_resources.checks(resources), **(extra_checks or {})},
        lifespan=[lifespan, kit_resources.lifespan(resources), *extra_lifespan],
        # The key store did not answer: nothing was stored, the caller may try again (kit.personal).
        error_map={personal.KeysUnavailable: 503, **(error_map or {})},
        verifier=verifier or JwksVerifier(settings.jwks_url),
        state=state,
        public_paths=public_paths,
        dependencies={
            "uow": Provide(provide_uow, sync_to_thread=False),
            **kit_resources.dependencies(resources),
            **(extra_dependencies or {}),
        },
    )
