"""Wiring only: the gateway application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar, Router
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router
from redis.asyncio import Redis

from gateway import services
from gateway.api import (
    DOCS_PATH,
    OPENAPI_PATH,
    AuthController,
    ConfigurationController,
    IdentityController,
    jwks,
    merged_docs,
    merged_openapi,
    proxy_handlers,
    public_handlers,
)
from gateway.domain import (
    Conflict,
    InvalidCredentials,
    InvalidInput,
    InvalidPath,
    NotFound,
    TooManyAttempts,
    UpstreamUnavailable,
)
from gateway.openapi import MergedDocument
from gateway.pages import patient_router
from gateway.proxy import Upstream
from gateway.ratelimit import RateLimiter
from gateway.security import SigningKey
from gateway.settings import SERVICE, get_bootstrap, get_settings
from kit import tracing
from kit.api import create_api_app
from kit.auth import JwksVerifier
from kit.worker import create_worker_app

log = logging.getLogger(__name__)


def console_router(directory: str) -> list[Router]:
    """The staff console's built files at `/` (the SPA routes in the URL fragment, so no fallback is needed).
    Public: the files hold no data; every call they make carries the token. index.html is revalidated on each
    load, so a new build reaches the browser; the hashed assets under /assets never change."""
    if not directory:
        return []
    root = Path(directory)
    if not (root / "index.html").is_file():
        log.warning("the staff console is not built (%s/index.html missing): `just console-build`", directory)
        return []
    return [
        create_static_files_router(
            path="/",
            directories=[root],
            html_mode=True,
            name="console",
            cache_control=CacheControlHeader(no_cache=True),
            opt={"exclude_from_auth": True},
        )
    ]


def create_api() -> Litestar:
    settings = get_settings()
    signer = SigningKey.load(Path(settings.jwt_private_key_file), generate=settings.generate_dev_keys)
    verifier = JwksVerifier(settings.jwks_url, ttl=float("inf"))
    verifier.set_keys(signer.jwks())
    redis = Redis.from_url(settings.redis_url)
    routes = settings.route_map()
    public_routes = settings.public_route_map()
    state: dict[str, Any] = {
        "proxy_hops": settings.trusted_proxy_hops,
        "signer": signer,
        # the read audit of proxied personal records (gateway.reads) names the token's staff member
        "verifier": verifier,
        "limiter": RateLimiter(redis),
        "policy": services.TokenPolicy(
            access_ttl=settings.access_token_ttl,
            refresh_ttl=settings.refresh_token_ttl,
            login_limit=settings.login_attempts,
            login_window=settings.login_window_seconds,
        ),
        "upstream": Upstream(routes),
        "openapi": MergedDocument(routes, public_routes),
    }

    @asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        boot = get_bootstrap()
        if boot.admin_email and boot.admin_password:
            await services.bootstrap(
                state["uow"],
                email=boot.admin_email,
                password=boot.admin_password,
                clinic=services.NewClinic(
                    name=boot.clinic_name,
                    country=boot.clinic_country,
                    locale=boot.clinic_locale,
                    timezone=boot.clinic_timezone,
                ),
            )
        await services.announce_staff(state["uow"])
        try:
            yield
        finally:
            await state["upstream"].close()
            await state["openapi"].close()
            await redis.aclose()

    async def check_services() -> None:
        async with httpx.AsyncClient(timeout=2.0) as client:
            for url in routes.values():
                (await client.get(f"{url}/health/live")).raise_for_status()

    app = create_api_app(
        service=SERVICE,
        title="ClinicFlow API",
        description="Staff log in here; /api/v1/<context>/... is served by each context's service, and the "
        "public ingress (/public/forms/..., /webhooks/<provider>/...) by the service that owns it. "
        "Every error is an RFC 9457 problem document.",
        settings=settings,
        route_handlers=[
            AuthController,
            IdentityController,
            ConfigurationController,
            jwks,
            merged_openapi,
            merged_docs,
            *proxy_handlers(list(routes)),
            *public_handlers(
                public_routes, settings.public_max_body_bytes, settings.public_limit_map(), settings.patient_dir
            ),
            *patient_router(settings.patient_dir),
            *console_router(settings.console_dir),
        ],
        error_map={
            InvalidInput: 422,
            InvalidPath: 400,
            NotFound: 404,
            InvalidCredentials: 401,
            Conflict: 409,
            TooManyAttempts: 429,
            UpstreamUnavailable: 503,
        },
        # Not Redis: it only holds the login rate limits; one Valkey restart must not unready every gateway pod
        # (the whole site). Logins fail while it is away; everything else keeps working (deploy/k8s/README.md).
        extra_checks={"services": check_services},
        public_paths=[
            "/api/v1/auth/",
            OPENAPI_PATH,
            DOCS_PATH,
            *(f"/api/v1/{name}" for name in routes),
            *(f"/{p}" for p in public_routes),
        ],
        verifier=verifier,
        extra_lifespan=[lifespan],
        state=state,
        unit_of_work=services.GatewayUnitOfWork,
    )
    if tracing.enabled():
        # The proxied calls become client spans and carry the gateway's traceparent to the services (imported
        # here: with tracing off the instrumentation is not loaded at all).
        from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor

        AioHttpClientInstrumentor().instrument(tracer_provider=tracing.provider())
    return app


def create_worker() -> Litestar:
    """The outbox relay of the staff directory's events (the gateway consumes nothing)."""
    return create_worker_app(service=SERVICE, settings=get_settings())
