"""Litestar wiring shared by every service: problems, auth, metrics, health, correlation ids."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Annotated, Any

import msgspec
from litestar import Litestar, MediaType, Request, Response, get
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders, State
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import (
    Components,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
    SecurityScheme,
)
from litestar.params import Parameter
from litestar.plugins import PluginProtocol
from litestar.types import (
    ASGIApp,
    ControllerRouterHandler,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kit import context, inputs, metrics, tracing
from kit.auth import AuthError, JwksVerifier, Principal

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PUBLIC_PATHS = ("/health", "/metrics", "/schema", "/.well-known")

Check = Callable[[], Awaitable[None]]

#: A request whose token was verified: `request.user` is the caller's Principal.
AuthRequest = Request[Principal, str, Any]
#: Paging parameters every list endpoint shares.
Limit = Annotated[int, Parameter(ge=1, le=200, description="page size, 1-200")]
Offset = Annotated[int, Parameter(ge=0, le=100_000)]
ErrorMap = dict[type[Exception], int]


# --- RFC 9457 problem details -------------------------------------------------------------
class Problem(msgspec.Struct, omit_defaults=True):
    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    correlation_id: str | None = None
    errors: list[dict[str, str]] | None = None


_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal error",
    502: "Bad gateway",
    503: "Unavailable",
}


def problem(
    status: int,
    detail: str | None = None,
    *,
    title: str | None = None,
    slug: str | None = None,
    errors: list[dict[str, str]] | None = None,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Response[bytes]:
    """An RFC 9457 document; `extensions` adds members of its own (e.g. `candidates`)."""
    body = Problem(
        type=f"https://clinicflow.dev/problems/{slug or _TITLES.get(status, 'error').lower().replace(' ', '-')}",
        title=title or _TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        instance=instance,
        correlation_id=context.correlation_id.get(),
        errors=errors,
    )
    encoded = msgspec.json.encode(body)
    if extensions:
        merged = {**extensions, **msgspec.to_builtins(body)}  # the standard members win
        encoded = msgspec.json.encode(merged)
    return Response(encoded, status_code=status, media_type=PROBLEM_JSON, headers=headers)


#: How msgspec and Litestar word a malformed UUID (kit.inputs.Uuid, or a parameter typed `UUID`).
_NOT_UUID = (f"Expected `str` matching regex {inputs.UUID_PATTERN!r}", "Invalid UUID")


def _validation_errors(extra: Any) -> list[dict[str, str]]:
    items = extra if isinstance(extra, list) else [extra] if extra else []
    out = []
    for item in items:
        if isinstance(item, dict):
            message = str(item.get("message", ""))
            named = re.search(r"at `\$\.([^`]+)`|(?:missing required|unknown) field `([^`]+)`", message)
            field = next((g for g in named.groups() if g), None) if named else None
            field = field or str(item.get("key") or "body")
            if message.startswith(_NOT_UUID):
                message = "must be a UUID"
            out.append({"field": field, "message": message})
    return out


def _on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[bytes]:
    """400 when the request cannot be read (not JSON, a wrong type, a missing or unknown field, a value out of
    range); 422 when it was read but an identifier is not a UUID, like any other value that breaks a rule."""
    errors = _validation_errors(exc.extra)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or exc.detail
    if errors and all(e["message"] == "must be a UUID" for e in errors):
        return problem(422, detail, errors=errors, instance=request.url.path)
    return problem(
        400, detail, title="Invalid request", slug="invalid-request", errors=errors or None, instance=request.url.path
    )


def _on_field_error(request: Request[Any, Any, Any], exc: inputs.FieldError) -> Response[bytes]:
    return problem(422, str(exc), errors=[{"field": exc.field, "message": str(exc)}], instance=request.url.path)


def _refusal(status: int, detail: str, field: str | None) -> ASGIApp:
    """A problem document as a bare ASGI app, for kit.inputs' middleware (before any handler runs)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        errors = [{"field": field, "message": detail}] if field else None
        body = Problem(
            type=f"https://clinicflow.dev/problems/{_TITLES[status].lower().replace(' ', '-')}",
            title=_TITLES[status],
            status=status,
            detail=detail,
            instance=scope["path"].encode("unicode_escape").decode()[:500],
            correlation_id=context.correlation_id.get(),
            errors=errors,
        )
        encoded = msgspec.json.encode(body)
        headers = [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(encoded)).encode())]
        start: HTTPResponseStartEvent = {"type": "http.response.start", "status": status, "headers": headers}
        await send(start)
        end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": encoded, "more_body": False}
        await send(end)

    return app


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if exc.status_code >= 500:
        log.error("HTTP %s on %s: %s", exc.status_code, request.url.path, exc.detail)
    headers = dict(exc.headers or {})
    return problem(exc.status_code, exc.detail, instance=request.url.path, headers=headers or None)


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(
        500, "Something went wrong on our side; quote the correlation id when reporting it.", instance=request.url.path
    )


def _on_auth(request: Request[Any, Any, Any], exc: AuthError) -> Response[bytes]:
    return problem(401, str(exc), instance=request.url.path, headers={"WWW-Authenticate": "Bearer"})


def domain_error_handler(status: int) -> Callable[[Request[Any, Any, Any], Exception], Response[bytes]]:
    """Map a service's domain error class to a status; its `field` attribute names the field."""

    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        field = getattr(exc, "field", None)
        errors = [{"field": field, "message": str(exc)}] if field else None
        slug = getattr(exc, "slug", None)
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        extensions = getattr(exc, "problem_extensions", None)
        return problem(
            status,
            str(exc),
            errors=errors,
            slug=slug,
            instance=request.url.path,
            headers=headers,
            extensions=extensions() if callable(extensions) else None,
        )

    return handle


def client_ip(request: ASGIConnection[Any, Any, Any, Any], proxy_hops: int) -> str:
    """The address the nearest trusted proxy saw: X-Forwarded-For counted from the right (never the client's
    own claims to the left of it), or the peer address when no proxy is trusted."""
    peer = request.client.host if request.client else "unknown"
    if proxy_hops <= 0:
        return peer
    chain = [ip.strip() for value in request.headers.getall("x-forwarded-for", []) for ip in value.split(",")]
    chain = [ip for ip in chain if ip]
    if not chain:
        return peer
    return chain[-min(proxy_hops, len(chain))][:64]


# --- middleware ---------------------------------------------------------------------------
def observability_middleware(service: str) -> Callable[[ASGIApp], ASGIApp]:
    """Correlation id in and out, and a latency histogram labelled by route template."""

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            incoming = dict(scope["headers"]).get(context.CORRELATION_HEADER.encode())
            correlation = incoming.decode()[:100] if incoming else context.new_id()
            token = context.correlation_id.set(correlation)
            status = 500
            started = time.perf_counter()

            async def send_wrapper(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    MutableScopeHeaders.from_message(message)[context.CORRELATION_HEADER] = correlation
                await send(message)

            try:
                await app(scope, receive, send_wrapper)
            finally:
                route = scope.get("path_template") or "unmatched"
                metrics.HTTP_LATENCY.labels(service, scope["method"], route, str(status)).observe(
                    time.perf_counter() - started
                )
                context.correlation_id.reset(token)

        return middleware

    return factory


class JwtAuthMiddleware(AbstractAuthenticationMiddleware):
    def __init__(self, app: ASGIApp, verifier: JwksVerifier, exclude: Sequence[str]) -> None:
        super().__init__(app, exclude=list(exclude))
        self.verifier = verifier

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException(
                "Send the access token from POST /api/v1/auth/login as 'Authorization: Bearer <token>'.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            principal = await self.verifier.verify(token.strip())
        except AuthError as exc:
            raise NotAuthorizedException(str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc
        context.tenant_id.set(principal.tenant_id)
        return AuthenticationResult(user=principal, auth=token)


def requires(
    *permissions: str,
) -> Callable[[ASGIConnection[Any, Any, Any, Any], BaseRouteHandler], Awaitable[None]]:
    """Guard: the caller's token must hold every named permission."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        # async on purpose: Litestar runs a sync guard in a thread pool, a thread hop on every request.
        principal: Principal = connection.user
        missing = [p for p in permissions if not principal.has(p)]
        if missing:
            raise PermissionDeniedException(f"This needs the permission {', '.join(missing)}.")

    return guard


# --- health and metrics -------------------------------------------------------------------
#: Names of the process's background tasks that have died (empty while all run): /health/live fails on any.
Liveness = Callable[[], list[str]]


def health_handlers(checks: dict[str, Check], liveness: Liveness | None = None) -> list[ControllerRouterHandler]:
    @get("/health/live", media_type=MediaType.JSON, include_in_schema=False, sync_to_thread=False)
    def live() -> Response[dict[str, Any]]:
        # A worker whose relay or consumer task died still answers HTTP: fail liveness so Kubernetes restarts it.
        dead = liveness() if liveness is not None else []
        if dead:
            return Response({"status": "dead", "dead": dead}, status_code=503)
        return Response({"status": "ok"}, status_code=200)

    @get("/health/ready", media_type=MediaType.JSON, include_in_schema=False)
    async def ready() -> Response[dict[str, Any]]:
        results: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
                results[name] = "ok"
            except Exception as exc:
                results[name] = f"failing: {type(exc).__name__}: {exc}"[:300]
        healthy = all(v == "ok" for v in results.values())
        return Response(
            {"status": "ok" if healthy else "unavailable", "checks": results}, status_code=200 if healthy else 503
        )

    @get("/metrics", include_in_schema=False, sync_to_thread=False)
    def metrics_endpoint() -> Response[bytes]:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return [live, ready, metrics_endpoint]


# --- OpenAPI: errors as they are sent ----------------------------------------------------
_PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    title="Problem",
    description="An RFC 9457 problem document (application/problem+json); `errors` names the offending fields.",
    required=["type", "title", "status"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, format=None, examples=["https://clinicflow.dev/problems/not-found"]),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING),
        "instance": Schema(type=OpenAPIType.STRING),
        "correlation_id": Schema(type=OpenAPIType.STRING),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                required=["field", "message"],
                properties={"field": Schema(type=OpenAPIType.STRING), "message": Schema(type=OpenAPIType.STRING)},
            ),
        ),
    },
)
_ERROR_DESCRIPTIONS = {
    "400": "The request cannot be read (not JSON, a wrong type, a missing or unknown field)",
    "401": "No valid access token",
    "403": "The token lacks a permission",
    "404": "Not found in this clinic",
    "415": "Not sent as application/json",
    "422": "A value breaks a rule; `errors` names the field",
}


def _problem_response(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={PROBLEM_JSON: OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Problem"))},
    )


def describe_problems(app: Litestar) -> None:
    """Replace Litestar's default error shape (`status_code`, `detail`, `extra`) in the app's OpenAPI document
    with the problem documents the API sends, and add the errors every operation can answer with, so clients
    generated from it handle errors correctly."""
    spec = app.openapi_schema
    if spec.components is None:
        spec.components = Components()
    spec.components.schemas = {**(spec.components.schemas or {}), "Problem": _PROBLEM_SCHEMA}
    for path, item in (spec.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            public = operation.security == [{}] or (not operation.security and not spec.security)
            codes = {code for code in responses if code[0] in "45"}
            if operation.parameters or operation.request_body:
                codes |= {"400", "422"}
            if "{" in path:
                codes.add("404")
            if operation.request_body is not None:
                codes.add("415")
            if not public:
                codes |= {"401", "403"}
            for code in sorted(codes):
                existing = responses.get(code)
                described = existing.description if isinstance(existing, OpenAPIResponse) else None
                if described in (None, "", "Bad request syntax or unsupported method"):
                    described = _ERROR_DESCRIPTIONS.get(code, "An error")
                responses[code] = _problem_response(described or "An error")
            operation.responses = responses


# --- the app ------------------------------------------------------------------------------
class _Litestar(Litestar):
    """Litestar with only the msgspec plugin. Every schema of ours is a msgspec Struct; Litestar would also add
    its pydantic and attrs plugins whenever those packages are installed (pydantic comes with development tools,
    attrs with aiohttp), importing pydantic and its plugin into every process for nothing (~0.2 s of CPU per
    process start here)."""

    @staticmethod
    def _get_default_plugins(plugins: list[PluginProtocol]) -> list[PluginProtocol]:
        from litestar.plugins.core import MsgspecDIPlugin

        return [*plugins, MsgspecDIPlugin()]


def create_app(
    *,
    service: str,
    title: str,
    route_handlers: Sequence[ControllerRouterHandler],
    checks: dict[str, Check],
    lifespan: Sequence[Callable[[Litestar], AbstractAsyncContextManager[None]]] = (),
    error_map: ErrorMap | None = None,
    verifier: JwksVerifier | None = None,
    public_paths: Sequence[str] = (),
    dependencies: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
    description: str = "",
    liveness: Liveness | None = None,
) -> Litestar:
    middleware: list[Any] = [observability_middleware(service)]
    if verifier is not None:
        middleware.append(
            DefineMiddleware(
                JwtAuthMiddleware, verifier=verifier, exclude=[f"^{p}" for p in (*PUBLIC_PATHS, *public_paths)]
            )
        )
    middleware.append(inputs.input_guard(_refusal))
    handlers: dict[Any, Any] = {
        ValidationException: _on_validation,
        HTTPException: _on_http,
        AuthError: _on_auth,
        inputs.FieldError: _on_field_error,
        Exception: _on_unexpected,
    }
    for exc_type, status in (error_map or {}).items():
        handlers[exc_type] = domain_error_handler(status)
    app = _Litestar(
        route_handlers=[*route_handlers, *health_handlers(checks, liveness)],
        middleware=middleware,
        exception_handlers=handlers,
        lifespan=list(lifespan),
        dependencies=dependencies,
        state=State(state or {}),
        openapi_config=OpenAPIConfig(
            title=title,
            version="1.0.0",
            description=description,
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
            ),
            security=[{"bearer": []}] if verifier is not None else None,
        ),
        plugins=tracing.litestar_plugins(),
        # Our JSON logging (kit.logging.setup) stays; Litestar would install its own handlers.
        logging_config=None,
        debug=False,
    )
    describe_problems(app)
    return app
