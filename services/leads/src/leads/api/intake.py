"""HTTP: the clinic's intake forms (admins), the public web form and the Tilda webhook (no token).

Public endpoints read the raw body themselves (form-urlencoded or JSON), so garbage gets a 4xx problem,
never a 500: a wrong content type 415, a body over 64 KiB 413, unreadable or incomplete fields 422.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, MediaType, Request, get, patch, post
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT
from litestar.types import (
    ASGIApp,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
    Message,
    Receive,
    Scope,
    Send,
)

from contracts.claims import CRM_ADMIN, CRM_READ
from kit.paging import Page
from kit.web import AuthRequest, client_ip, requires
from leads.schemas.intake import FormIn, FormOut, FormPatch, PublicFormOut, Received, fields_from_body
from leads.services import intake as cases
from leads.services.intake import PublicIntake
from leads.services.work import LeadsWorkFactory

AnyRequest = Request[Any, Any, Any]
#: A form submission is a few fields; anything bigger is not one.
MAX_BODY = 64 * 1024
#: Oversized bodies are read up to here and then refused with 413, so the sender (the gateway) is done
#: sending and gets the answer rather than a reset connection.
DRAIN_LIMIT = 1024 * 1024


async def _limited_body(request: AnyRequest) -> bytes:
    body = await request.body()
    if len(body) > MAX_BODY:
        raise HTTPException(status_code=413, detail=f"The body is larger than {MAX_BODY // 1024} KiB.")
    return body


_HOST = re.compile(r"^[A-Za-z0-9.\-:\[\]]{1,255}$")


def base_url(request: AnyRequest, public: PublicIntake) -> str:
    if public.public_url:
        return public.public_url.rstrip("/")
    host = (request.headers.get("x-forwarded-host") or "").split(",")[0].strip()
    proto = (request.headers.get("x-forwarded-proto") or "").split(",")[0].strip().lower()
    if host and _HOST.match(host):
        return f"{proto if proto in ('http', 'https') else request.url.scheme}://{host}"
    return str(request.base_url).rstrip("/")


_PREFLIGHT = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
    (b"access-control-allow-headers", b"content-type"),
    (b"access-control-max-age", b"86400"),
]


def allow_any_origin(app: ASGIApp) -> ASGIApp:
    """Public form endpoints answer any website (no cookies, no credentials), errors included, and answer the
    browser's CORS preflight themselves (Litestar's automatic OPTIONS answer carries no CORS headers)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope["method"] == "OPTIONS":
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": HTTP_204_NO_CONTENT,
                "headers": _PREFLIGHT,
            }
            body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(start)
            await send(body)
            return

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)["access-control-allow-origin"] = "*"
            await send(message)

        await app(scope, receive, send_wrapper)

    return middleware


class FormController(Controller):
    path = "/api/v1/leads/forms"
    tags = ["intake"]

    @post("/", guards=[requires(CRM_ADMIN)], status_code=HTTP_201_CREATED, summary="Create an intake form")
    async def create(self, request: AuthRequest, data: FormIn, uow: LeadsWorkFactory, public: PublicIntake) -> FormOut:
        """`kind`: `web` (the clinic's own form, posting to `url`) or `tilda` (a Tilda webhook). A Tilda form's
        `secret` and complete `webhook_url` appear in this answer only: paste the URL into Tilda now. The form
        takes the clinic's country, time zone and language from your token."""
        made = await cases.create_form(
            uow, request.user, name=data.name, kind=data.kind, source=data.source, treatment=data.treatment
        )
        return FormOut.of(made.form, base_url(request, public), made.secret)

    @get("/", guards=[requires(CRM_READ)], summary="The clinic's intake forms")
    async def forms(self, request: AuthRequest, uow: LeadsWorkFactory, public: PublicIntake) -> Page[FormOut]:
        """Secrets are never listed; rotate one to see a new one."""
        base = base_url(request, public)
        return Page.all(FormOut.of(f, base) for f in await cases.list_forms(uow, request.user))

    @patch("/{form_id:uuid}", guards=[requires(CRM_ADMIN)], summary="Rename, (de)activate, change source")
    async def edit(
        self, request: AuthRequest, form_id: UUID, data: FormPatch, uow: LeadsWorkFactory, public: PublicIntake
    ) -> FormOut:
        """An inactive form answers 404 to submissions. `treatment: null` clears the treatment."""
        form = await cases.update_form(uow, request.user, str(form_id), data.changes())
        return FormOut.of(form, base_url(request, public))

    @post(
        "/{form_id:uuid}/rotate-secret",
        guards=[requires(CRM_ADMIN)],
        status_code=HTTP_200_OK,
        summary="Give a Tilda form a new secret",
    )
    async def rotate(self, request: AuthRequest, form_id: UUID, uow: LeadsWorkFactory, public: PublicIntake) -> FormOut:
        """The old secret stops working at once; the new one is shown in this answer only."""
        made = await cases.rotate_secret(uow, request.user, str(form_id))
        return FormOut.of(made.form, base_url(request, public), made.secret)


class PublicFormController(Controller):
    path = "/public/forms"
    tags = ["public"]
    security = [{}]
    middleware = [allow_any_origin]
    request_max_body_size = DRAIN_LIMIT

    @get("/{key:str}", summary="A web form's public description")
    async def describe(
        self, request: AnyRequest, key: str, uow: LeadsWorkFactory, public: PublicIntake
    ) -> PublicFormOut:
        """Its fields, labels and consent text in the clinic's language, so a website can render it."""
        return PublicFormOut.of(await cases.public_form(uow, key), base_url(request, public))

    @post("/{key:str}", status_code=HTTP_201_CREATED, summary="Submit a web form")
    async def submit(self, request: AnyRequest, key: str, uow: LeadsWorkFactory, public: PublicIntake) -> Received:
        """Form-urlencoded or JSON: `name`, `phone`, `email`?, `message`?, `consent` (true / on / yes / 1),
        `utm_*`, and the hidden honeypot `website` (leave it empty). Rate-limited per client and form (429 with
        Retry-After). The answer never says which lead the submission joined."""
        fields = fields_from_body(request.headers.get("content-type"), await _limited_body(request))
        await cases.submit_web_form(uow, public, key, fields, client_ip=client_ip(request, public.proxy_hops))
        return Received()


class TildaWebhookController(Controller):
    path = "/webhooks/tilda"
    tags = ["public"]
    security = [{}]
    request_max_body_size = DRAIN_LIMIT

    @post("/{key:str}", status_code=HTTP_200_OK, media_type=MediaType.TEXT, summary="Tilda's form webhook")
    async def receive(
        self,
        request: AnyRequest,
        key: str,
        uow: LeadsWorkFactory,
        secret: Annotated[str | None, Parameter(query="secret", max_length=200)] = None,
    ) -> str:
        """Form-urlencoded (or JSON) fields as Tilda sends them. The form's secret comes as `?secret=` or the
        `X-Api-Key` header. Answers `ok` to the `test=test` probe (secret required), to a new submission and
        to a redelivered `tranid` (stored once). No phone → 422 and nothing stored."""
        presented = secret or request.headers.get("x-api-key")
        content_type = request.headers.get("content-type") or ""
        fields = fields_from_body(content_type, await _limited_body(request))
        await cases.receive_tilda(uow, key, presented, fields, content_type=content_type[:100])
        return "ok"
