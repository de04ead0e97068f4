"""HTTP: auth, identity, clinics and staff; the JWKS; the proxy to the services."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, Request, Response, get, post, route
from litestar.datastructures import State
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.response import Stream
from litestar.status_codes import HTTP_201_CREATED

from gateway import services
from gateway.domain import PLATFORM_ADMIN, Tenant, User
from gateway.proxy import Upstream, response_headers
from gateway.schemas import ClinicIn, ClinicOut, LoginIn, MeOut, RefreshIn, StaffIn, StaffOut, TenantOut
from kit.auth import CRM_ADMIN
from kit.db import UnitOfWorkFactory
from kit.web import AuthRequest, client_ip, requires


def _tenant(t: Tenant) -> TenantOut:
    return TenantOut(id=t.id, name=t.name, country=t.country, locale=t.locale, timezone=t.timezone)


def _staff(u: User) -> StaffOut:
    return StaffOut(
        id=u.id, email=u.email, full_name=u.full_name, roles=list(u.roles), active=u.active, created_at=u.created_at
    )


def _client_ip(request: Request[Any, Any, Any]) -> str:
    """Behind an Ingress the peer is the proxy; GATEWAY_TRUSTED_PROXY_HOPS says how many to look past."""
    return client_ip(request, request.app.state.proxy_hops)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]

    @post("/login", status_code=200, summary="Log in with e-mail and password")
    async def login(
        self, request: Request[Any, Any, Any], data: LoginIn, state: State, uow: UnitOfWorkFactory
    ) -> services.TokenPair:
        """Rate-limited per client and e-mail. The access token is an EdDSA JWT (see the JWKS)."""
        return await services.login(
            uow,
            state.signer,
            state.limiter,
            state.policy,
            email=data.email,
            password=data.password,
            client_ip=_client_ip(request),
        )

    @post("/refresh", status_code=200, summary="Swap a refresh token for a new pair")
    async def refresh(self, data: RefreshIn, state: State, uow: UnitOfWorkFactory) -> services.TokenPair:
        """Refresh tokens rotate; presenting a used one revokes its whole family."""
        return await services.refresh(uow, state.signer, state.policy, data.refresh_token)


class IdentityController(Controller):
    path = "/api/v1"
    tags = ["identity"]

    @get("/me", summary="Who the token belongs to")
    async def me(self, request: AuthRequest, uow: UnitOfWorkFactory) -> MeOut:
        user, tenant = await services.me(uow, request.user)
        return MeOut(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            roles=list(user.roles),
            permissions=sorted(user.permissions),
            tenant=_tenant(tenant),
        )

    @get("/staff", guards=[requires(CRM_ADMIN)], summary="Staff accounts of the clinic")
    async def staff(self, request: AuthRequest, uow: UnitOfWorkFactory) -> list[StaffOut]:
        return [_staff(u) for u in await services.staff_of(uow, request.user)]

    @post("/staff", guards=[requires(CRM_ADMIN)], status_code=HTTP_201_CREATED, summary="Add a staff account")
    async def add_staff(self, request: AuthRequest, data: StaffIn, uow: UnitOfWorkFactory) -> StaffOut:
        user = await services.add_staff(
            uow,
            request.user,
            services.NewStaff(email=data.email, full_name=data.full_name, password=data.password, roles=data.roles),
        )
        return _staff(user)

    @post("/clinics", status_code=HTTP_201_CREATED, summary="Open a new clinic (platform operators)")
    async def add_clinic(self, request: AuthRequest, data: ClinicIn, uow: UnitOfWorkFactory) -> ClinicOut:
        if not request.user.has(PLATFORM_ADMIN):
            raise PermissionDeniedException("Only the platform operator may open clinics.")
        tenant, admin = await services.create_clinic(
            uow,
            services.NewClinic(name=data.name, country=data.country, locale=data.locale, timezone=data.timezone),
            services.NewStaff(
                email=data.admin.email,
                full_name=data.admin.full_name,
                password=data.admin.password,
                roles=data.admin.roles,
            ),
        )
        return ClinicOut(tenant=_tenant(tenant), admin=_staff(admin))


@get(
    "/.well-known/jwks.json",
    summary="Public keys that sign access tokens",
    tags=["auth"],
    sync_to_thread=False,
    cache=60,
)
def jwks(state: State) -> dict[str, Any]:
    return state.signer.jwks()  # type: ignore[no-any-return]


_METHODS: list[Any] = ["GET", "POST", "PUT", "PATCH", "DELETE"]
#: Public paths also answer browsers' CORS preflight (a clinic's website posting its form).
_PUBLIC_METHODS: list[Any] = [*_METHODS, "OPTIONS"]


#: An oversized public upload is still read up to here before the 413, so the client, done sending, sees the
#: answer instead of a reset connection; beyond it the connection is cut.
_DRAIN_LIMIT = 8 * 1024 * 1024


def _forwarder(route_name: str, max_body_bytes: int | None = None) -> Any:
    async def forward(request: Request[Any, Any, Any], state: State) -> Response[Any]:
        upstream: Upstream = state.upstream
        if request.method == "GET" and "text/event-stream" in request.headers.get("accept", ""):
            return await _relay_stream(upstream, route_name, request)
        body = await request.body()
        if max_body_bytes is not None and len(body) > max_body_bytes:
            raise HTTPException(status_code=413, detail=f"The body is larger than {max_body_bytes} bytes.")
        answer = await upstream.forward(
            route_name,
            request.method,
            request.url.path,
            request.url.query.encode(),
            list(request.headers.items()),
            body,
            _client_ip(request),
            request.url.scheme,
        )
        return Response(answer.content, status_code=answer.status_code, headers=response_headers(answer))

    return forward


async def _relay_stream(upstream: Upstream, route_name: str, request: Request[Any, Any, Any]) -> Stream:
    """Server-sent events (a staff screen's live notifications) pass through unbuffered."""
    answer = await upstream.open_stream(
        route_name,
        request.url.path,
        request.url.query.encode(),
        list(request.headers.items()),
        _client_ip(request),
        request.url.scheme,
    )

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in answer.aiter_raw():
                yield chunk
        finally:
            await answer.aclose()

    return Stream(relay(), status_code=answer.status_code, headers=response_headers(answer))


def proxy_handlers(contexts: list[str]) -> list[Any]:
    """One route per context: services verify the token themselves (DESIGN §6)."""
    return [
        route(
            [f"/api/v1/{name}", f"/api/v1/{name}/{{rest:path}}"],
            http_method=_METHODS,
            name=f"proxy-{name}",
            include_in_schema=False,
            signature_namespace={"State": State},
        )(_forwarder(name))
        for name in contexts
    ]


def public_handlers(prefixes: dict[str, str], max_body_bytes: int) -> list[Any]:
    """The public ingress: `/<prefix>/...` forwarded to the route's service, raw body, query and content type
    intact, with no token (webhooks and public forms authenticate in the owning service)."""
    return [
        route(
            [f"/{prefix}", f"/{prefix}/{{rest:path}}"],
            http_method=_PUBLIC_METHODS,
            name=f"public-{prefix.replace('/', '-')}",
            include_in_schema=False,
            signature_namespace={"State": State},
            request_max_body_size=_DRAIN_LIMIT,
        )(_forwarder(name, max_body_bytes))
        for prefix, name in prefixes.items()
    ]
