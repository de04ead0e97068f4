"""HTTP: auth, identity, clinics and staff; roles, sections, departments and their audit; the JWKS; the proxy to
the services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, MediaType, Request, Response, delete, get, patch, post, route
from litestar.datastructures import State
from litestar.exceptions import HTTPException, PermissionDeniedException
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.params import Parameter
from litestar.response import Stream
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from contracts.claims import CRM_ADMIN
from gateway import reads, services
from gateway.domain import PERMISSIONS, PLATFORM_ADMIN, AuditEntry, Role, Tenant, Unit, User
from gateway.openapi import MergedDocument
from gateway.pages import compressed_answer, page_response, patient_page
from gateway.proxy import Upstream
from gateway.schemas import (
    AuditOut,
    AuditPage,
    ClinicIn,
    ClinicOut,
    LoginIn,
    MeOut,
    PermissionOut,
    RefreshIn,
    RoleIn,
    RoleOut,
    RolePatch,
    StaffIn,
    StaffOut,
    StaffPatch,
    TenantOut,
    UnitIn,
    UnitOut,
    UnitPatch,
)
from gateway.services import GatewayWorkFactory
from kit.auth import AuthError
from kit.paging import Page
from kit.web import AuthRequest, Limit, Offset, client_ip, requires

log = logging.getLogger(__name__)


def _tenant(t: Tenant) -> TenantOut:
    return TenantOut(id=t.id, name=t.name, country=t.country, locale=t.locale, timezone=t.timezone)


def _staff(u: User) -> StaffOut:
    return StaffOut(
        id=u.id,
        email=u.email,
        full_name=u.full_name,
        roles=list(u.roles),
        active=u.active,
        created_at=u.created_at,
        section_ids=list(u.section_ids),
        department_ids=list(u.department_ids),
    )


def _role(r: Role) -> RoleOut:
    return RoleOut(
        id=r.id,
        name=r.name,
        description=r.description,
        permissions=sorted(r.permissions),
        builtin=r.builtin,
        updated_at=r.updated_at,
    )


def _unit(u: Unit) -> UnitOut:
    return UnitOut(id=u.id, name=u.name, active=u.active, updated_at=u.updated_at)


def _audit(e: AuditEntry) -> AuditOut:
    return AuditOut(
        entity=e.entity, entity_id=e.entity_id, action=e.action, actor_id=e.actor_id, changes=e.changes, at=e.at
    )


#: The configuration lists under /api/v1/identity/<kind> (the path says the plural).
_KINDS = {"sections": "section", "departments": "department"}
_Kind = Annotated[str, Parameter(description="sections or departments")]


def _unit_kind(kind: str) -> str:
    return _KINDS.get(kind, kind)


def _client_ip(request: Request[Any, Any, Any]) -> str:
    """Behind an Ingress the peer is the proxy; GATEWAY_TRUSTED_PROXY_HOPS says how many to look past."""
    return client_ip(request, request.app.state.proxy_hops)


class AuthController(Controller):
    path = "/api/v1/auth"
    tags = ["auth"]
    security = [{}]  # no token: these issue one

    @post("/login", status_code=200, summary="Log in with e-mail and password")
    async def login(
        self, request: Request[Any, Any, Any], data: LoginIn, state: State, uow: GatewayWorkFactory
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
    async def refresh(self, data: RefreshIn, state: State, uow: GatewayWorkFactory) -> services.TokenPair:
        """Refresh tokens rotate; presenting a used one revokes its whole family."""
        return await services.refresh(uow, state.signer, state.policy, data.refresh_token)


class IdentityController(Controller):
    path = "/api/v1"
    tags = ["identity"]

    @get("/me", summary="Who the token belongs to")
    async def me(self, request: AuthRequest, uow: GatewayWorkFactory) -> MeOut:
        user, tenant, permissions = await services.me(uow, request.user)
        return MeOut(
            id=user.id,
            email=user.email,
            full_name=user.full_name,
            roles=list(user.roles),
            permissions=sorted(permissions),
            tenant=_tenant(tenant),
        )

    @get("/staff", guards=[requires(CRM_ADMIN)], summary="Staff accounts of the clinic")
    async def staff(self, request: AuthRequest, uow: GatewayWorkFactory) -> Page[StaffOut]:
        return Page.all(_staff(u) for u in await services.staff_of(uow, request.user))

    @post("/staff", guards=[requires(CRM_ADMIN)], status_code=HTTP_201_CREATED, summary="Add a staff account")
    async def add_staff(self, request: AuthRequest, data: StaffIn, uow: GatewayWorkFactory) -> StaffOut:
        user = await services.add_staff(
            uow,
            request.user,
            services.NewStaff(
                email=data.email,
                full_name=data.full_name,
                password=data.password,
                roles=data.roles,
                section_ids=data.section_ids,
                department_ids=data.department_ids,
            ),
        )
        return _staff(user)

    @patch("/staff/{user_id:uuid}", guards=[requires(CRM_ADMIN)], summary="Edit a staff account")
    async def edit_staff(
        self, request: AuthRequest, user_id: UUID, data: StaffPatch, uow: GatewayWorkFactory
    ) -> StaffOut:
        """Name, roles, sections, departments, `active`. A disabled account can no longer log in or refresh;
        services hear `staff.deactivated` and stop offering it as an owner. Roles change the permissions of the
        member's next token (access tokens live 15 minutes)."""
        return _staff(await services.update_staff(uow, request.user, str(user_id), data.changes()))

    @post("/clinics", status_code=HTTP_201_CREATED, summary="Open a new clinic (platform operators)")
    async def add_clinic(self, request: AuthRequest, data: ClinicIn, uow: GatewayWorkFactory) -> ClinicOut:
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


class ConfigurationController(Controller):
    """The clinic's own configuration of who is who: roles (named sets of permissions), sections and
    departments, and the audit log of every change to them and to staff accounts."""

    path = "/api/v1/identity"
    tags = ["identity"]
    guards = [requires(CRM_ADMIN)]

    @get("/permissions", summary="Every permission a role may grant")
    async def permissions(self) -> Page[PermissionOut]:
        return Page.all(PermissionOut(name=n, description=d) for n, d in PERMISSIONS.items())

    @get("/roles", summary="The clinic's roles")
    async def roles(self, request: AuthRequest, uow: GatewayWorkFactory) -> Page[RoleOut]:
        return Page.all(_role(r) for r in await services.list_roles(uow, request.user))

    @post("/roles", status_code=HTTP_201_CREATED, summary="Add a role")
    async def add_role(self, request: AuthRequest, data: RoleIn, uow: GatewayWorkFactory) -> RoleOut:
        role = await services.create_role(
            uow, request.user, name=data.name, description=data.description, permissions=data.permissions
        )
        return _role(role)

    @patch("/roles/{role_id:uuid}", summary="Change a role's description or permissions")
    async def edit_role(self, request: AuthRequest, role_id: UUID, data: RolePatch, uow: GatewayWorkFactory) -> RoleOut:
        """Built-in roles too; `admin` keeps `crm:admin`. Holders get the new permissions with their next token."""
        return _role(await services.update_role(uow, request.user, str(role_id), data.changes()))

    @delete("/roles/{role_id:uuid}", status_code=HTTP_204_NO_CONTENT, summary="Delete a role nobody holds")
    async def delete_role(self, request: AuthRequest, role_id: UUID, uow: GatewayWorkFactory) -> None:
        """409 for a built-in role or one that staff still hold."""
        await services.delete_role(uow, request.user, str(role_id))

    @get("/{kind:str}", summary="Sections or departments")
    async def units(self, request: AuthRequest, kind: _Kind, uow: GatewayWorkFactory) -> Page[UnitOut]:
        return Page.all(_unit(u) for u in await services.list_units(uow, request.user, _unit_kind(kind)))

    @post("/{kind:str}", status_code=HTTP_201_CREATED, summary="Add a section or department")
    async def add_unit(self, request: AuthRequest, kind: _Kind, data: UnitIn, uow: GatewayWorkFactory) -> UnitOut:
        return _unit(await services.create_unit(uow, request.user, _unit_kind(kind), data.name))

    @patch("/{kind:str}/{unit_id:uuid}", summary="Rename or (de)activate a section or department")
    async def edit_unit(
        self, request: AuthRequest, kind: _Kind, unit_id: UUID, data: UnitPatch, uow: GatewayWorkFactory
    ) -> UnitOut:
        return _unit(await services.update_unit(uow, request.user, _unit_kind(kind), str(unit_id), data.changes()))

    @delete("/{kind:str}/{unit_id:uuid}", status_code=HTTP_204_NO_CONTENT, summary="Delete an empty one")
    async def delete_unit(self, request: AuthRequest, kind: _Kind, unit_id: UUID, uow: GatewayWorkFactory) -> None:
        """409 while staff belong to it (deactivate it instead)."""
        await services.delete_unit(uow, request.user, _unit_kind(kind), str(unit_id))

    @get("/audit", summary="Who changed staff, roles, sections and departments")
    async def audit(
        self,
        request: AuthRequest,
        uow: GatewayWorkFactory,
        entity: Annotated[str | None, Parameter(description="staff, role, section, department")] = None,
        entity_id: UUID | None = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> AuditPage:
        items, total = await services.audit_trail(
            uow,
            request.user,
            entity=entity,
            entity_id=str(entity_id) if entity_id else None,
            limit=limit,
            offset=offset,
        )
        return AuditPage(items=[_audit(e) for e in items], total=total, limit=limit, offset=offset)


#: Where the merged document and its browsable UI are served (public: integrators read them before a token).
OPENAPI_PATH = "/api/v1/openapi.json"
DOCS_PATH = "/api/v1/docs"


class _MergedScalar(ScalarRenderPlugin):
    """Litestar's Scalar page, pointed at the merged document rather than the gateway's own."""

    @staticmethod
    def get_openapi_json_route(request: Request[Any, Any, Any]) -> str:
        return OPENAPI_PATH


_SCALAR = _MergedScalar()


async def _merged(request: Request[Any, Any, Any], state: State) -> dict[str, Any]:
    document: MergedDocument = state.openapi
    return await document.get(request.app.openapi_schema.to_schema())


@get(OPENAPI_PATH, summary="The whole API in one OpenAPI 3.1 document", tags=["docs"], include_in_schema=False)
async def merged_openapi(request: Request[Any, Any, Any], state: State) -> Response[bytes]:
    """The gateway's operations and every registered service's, under their gateway paths."""
    return Response(msgspec.json.encode(await _merged(request, state)), media_type=MediaType.JSON)


@get(DOCS_PATH, summary="Browse the whole API", tags=["docs"], include_in_schema=False, media_type=MediaType.HTML)
async def merged_docs(request: Request[Any, Any, Any], state: State) -> bytes:
    return _SCALAR.render(request, await _merged(request, state))


@get(
    "/.well-known/jwks.json",
    summary="Public keys that sign access tokens",
    tags=["auth"],
    sync_to_thread=False,
    cache=60,
    security=[{}],
)
def jwks(state: State) -> dict[str, Any]:
    return state.signer.jwks()  # type: ignore[no-any-return]


_METHODS: list[Any] = ["GET", "POST", "PUT", "PATCH", "DELETE"]
#: Public paths also answer browsers' CORS preflight (a clinic's website posting its form).
_PUBLIC_METHODS: list[Any] = [*_METHODS, "OPTIONS"]


#: An oversized public upload is still read up to here before the 413, so the client, done sending, sees the
#: answer instead of a reset connection; beyond it the connection is cut.
_DRAIN_LIMIT = 8 * 1024 * 1024


async def _stream(request: Request[Any, Any, Any], upstream: Upstream, route_name: str) -> Response[Any]:
    """A GET asking for text/event-stream is relayed chunk by chunk (the waiting-room board)."""
    answer = await upstream.open_stream(
        route_name,
        request.method,
        request.url.path,
        request.url.query.encode(),
        list(request.headers.items()),
        _client_ip(request),
        request.url.scheme,
    )

    async def relay() -> AsyncIterator[bytes]:
        try:
            async for chunk in answer.chunks():
                yield chunk
        finally:
            answer.close()

    if answer.content_type != "text/event-stream":
        body = await answer.read()
        answer.close()
        return Response(body, status_code=answer.status_code, headers=answer.headers)
    return Stream(relay(), status_code=answer.status_code, headers=answer.headers)


async def _audit_read(request: Request[Any, Any, Any], state: State, uow: GatewayWorkFactory) -> None:
    """A 2xx GET of a personal record: who (the token's staff member), what, why (`X-Purpose`)."""
    record = reads.record_of(request.url.path, request.url.query)
    header = request.headers.get("authorization", "")
    if record is None or not header.lower().startswith("bearer "):
        return
    try:
        principal = await state.verifier.verify(header[7:].strip())
    except AuthError:
        return  # the service answered 2xx, so the token was good; a key rotation in between is not an audit gap
    purpose = reads.clean_purpose(request.headers.get("x-purpose"))
    await services.record_read(uow, principal, record[0], record[1], purpose, request.url.path)


def _forwarder(route_name: str, max_body_bytes: int | None = None, pages_dir: str | None = None) -> Any:
    async def forward(request: Request[Any, Any, Any], state: State, uow: GatewayWorkFactory) -> Response[Any]:
        upstream: Upstream = state.upstream
        if pages_dir is not None:
            page = patient_page(request.method, request.url.path, request.headers.get("accept", ""))
            served = page_response(pages_dir, page, request.headers.get("accept-encoding", "")) if page else None
            if served is not None:
                return served
        if request.method == "GET" and "text/event-stream" in request.headers.get("accept", ""):
            return await _stream(request, upstream, route_name)
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
        if pages_dir is None and request.method == "GET" and 200 <= answer.status_code < 300:
            try:
                await _audit_read(request, state, uow)
            except Exception:  # the person's record was served; a lost audit entry is logged, not a 500
                log.exception("could not record the read of %s", request.url.path)
        if pages_dir is not None and request.method == "GET" and patient_page("GET", request.url.path, "text/html"):
            # A patient page's own data, on a phone's slow network: compressed like the page's files.
            return compressed_answer(answer, request.headers.get("accept-encoding", ""))
        return Response(answer.content, status_code=answer.status_code, headers=answer.headers)

    return forward


def proxy_handlers(contexts: list[str]) -> list[Any]:
    """One route per context: services verify the token themselves (DESIGN §6)."""
    return [
        route(
            [f"/api/v1/{name}", f"/api/v1/{name}/{{rest:path}}"],
            http_method=_METHODS,
            name=f"proxy-{name}",
            include_in_schema=False,
            opt={"forward_raw": True},  # kit.inputs: the owning service checks query and body
            signature_namespace={"State": State, "GatewayWorkFactory": GatewayWorkFactory},
        )(_forwarder(name))
        for name in contexts
    ]


def public_handlers(
    prefixes: dict[str, str], max_body_bytes: int, limits: dict[str, int] | None = None, pages_dir: str = ""
) -> list[Any]:
    """The public ingress: `/<prefix>/...` forwarded to the route's service, raw body, query and content type
    intact, with no token (webhooks and public forms authenticate in the owning service). `limits` gives
    larger bodies to the paths that take files (a longer prefix is its own route, so it wins); a browser opening a
    patient link gets its page from `pages_dir` (PATIENT_PAGES)."""
    routes = {prefix: (name, max_body_bytes) for prefix, name in prefixes.items()}
    for prefix, size in (limits or {}).items():
        owner = next((n for p, n in prefixes.items() if prefix == p or prefix.startswith(p + "/")), None)
        if owner is not None:
            routes[prefix] = (owner, size)
    return [
        route(
            [f"/{prefix}", f"/{prefix}/{{rest:path}}"],
            http_method=_PUBLIC_METHODS,
            name=f"public-{prefix.replace('/', '-')}",
            include_in_schema=False,
            opt={"forward_raw": True},
            signature_namespace={"State": State, "GatewayWorkFactory": GatewayWorkFactory},
            request_max_body_size=max(_DRAIN_LIMIT, limit + 1024 * 1024),
        )(_forwarder(name, limit, pages_dir))
        for prefix, (name, limit) in routes.items()
    ]
