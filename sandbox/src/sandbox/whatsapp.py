"""A WhatsApp Cloud API look-alike: accepts `POST /{version}/{phone_number_id}/messages` (text, interactive
reply buttons and lists, approved templates) the way Meta does, records what it got, and lets tests inject failures.
Media a person sends (an image posted by the webhook simulator) are served as Meta serves them: `GET
/{version}/{media-id}` gives the medium's URL, which answers the bytes to the same bearer token.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.params import Parameter


class Text(msgspec.Struct, frozen=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    preview_url: bool = False


class Reply(msgspec.Struct, frozen=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=20)]


class ReplyButton(msgspec.Struct, frozen=True):
    type: str
    reply: Reply


class Row(msgspec.Struct, frozen=True):
    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=24)]
    description: Annotated[str, msgspec.Meta(max_length=72)] | None = None


class Section(msgspec.Struct, frozen=True):
    rows: Annotated[list[Row], msgspec.Meta(min_length=1, max_length=10)]
    title: Annotated[str, msgspec.Meta(max_length=24)] | None = None


class Action(msgspec.Struct, frozen=True):
    #: Reply buttons (type button), or the list's opening button and its sections (type list).
    buttons: Annotated[list[ReplyButton], msgspec.Meta(max_length=3)] = []
    button: Annotated[str, msgspec.Meta(min_length=1, max_length=20)] | None = None
    sections: Annotated[list[Section], msgspec.Meta(max_length=10)] = []


class InteractiveBody(msgspec.Struct, frozen=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class Interactive(msgspec.Struct, frozen=True):
    type: str
    body: InteractiveBody
    action: Action


class Language(msgspec.Struct, frozen=True):
    code: str


class Template(msgspec.Struct, frozen=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
    language: Language
    components: list[dict[str, Any]] = []


class SendMessage(msgspec.Struct, frozen=True, kw_only=True):
    messaging_product: str
    to: Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9]{8,15}$")]
    type: str = "text"
    recipient_type: str = "individual"
    text: Text | None = None
    interactive: Interactive | None = None
    template: Template | None = None


class Recorded(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    phone_number_id: str
    to: str
    type: str
    body: str | None
    idempotency_key: str | None
    received_at: datetime
    #: Reply buttons of an interactive message or quick replies of a template: [{"id", "title"}].
    buttons: list[dict[str, str]] = []
    #: An approved template: {"name", "language", "params"}.
    template: dict[str, Any] | None = None
    subject: str | None = None
    #: button or list, for an interactive message (a tap on a list row comes back as a list_reply).
    interactive: str | None = None


class Faults(msgspec.Struct, frozen=True):
    fail_next: int = 0
    status: int = 503


class Mailbox:
    def __init__(self, token: str) -> None:
        self.token = token
        self.messages: list[Recorded] = []
        self.by_key: dict[str, Recorded] = {}
        self.duplicates = 0
        self.fail_next = 0
        self.fail_status = 503
        self.lock = asyncio.Lock()
        #: Media the person "sent" (WebhookSimulator), by media id: (bytes, mime type), as Meta keeps them.
        self.media: dict[str, tuple[bytes, str]] = {}


def _content(data: SendMessage) -> tuple[str | None, list[dict[str, str]], dict[str, Any] | None]:
    """What the person would see: the text, the buttons, and for a template its name and parameters."""
    if data.interactive is not None and data.interactive.type == "list":
        rows = [{"id": r.id, "title": r.title} for s in data.interactive.action.sections for r in s.rows]
        return data.interactive.body.text, rows, None
    if data.interactive is not None:
        buttons = [{"id": b.reply.id, "title": b.reply.title} for b in data.interactive.action.buttons]
        return data.interactive.body.text, buttons, None
    if data.template is not None:
        params: list[str] = []
        buttons = []
        for component in data.template.components:
            for p in component.get("parameters") or []:
                if component.get("type") == "body" and p.get("type") == "text":
                    params.append(str(p.get("text")))
                elif component.get("type") == "button" and p.get("type") == "payload":
                    buttons.append({"id": str(p.get("payload")), "title": str(component.get("index"))})
        template = {"name": data.template.name, "language": data.template.language.code, "params": params}
        return None, buttons, template
    return (data.text.body if data.text else None), [], None


def _error(status: int, message: str, code: int) -> Response[dict[str, Any]]:
    # Meta's Graph API error shape.
    return Response(
        {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": secrets.token_hex(8)}},
        status_code=status,
    )


def _authorised(request: Request[Any, Any, Any], box: Mailbox) -> bool:
    auth = request.headers.get("authorization", "")
    return auth.startswith("Bearer ") and (not box.token or auth[7:] == box.token)


class WhatsAppController(Controller):
    tags = ["whatsapp"]

    @get("/{version:str}/{media_id:str}", summary="A received medium's URL (Graph API: GET /{media-id})")
    async def media_url(
        self, request: Request[Any, Any, Any], state: State, version: str, media_id: str
    ) -> Response[dict[str, Any]]:
        box: Mailbox = state.mailbox
        if not _authorised(request, box):
            return _error(401, "Invalid OAuth access token.", 190)
        found = box.media.get(media_id)
        if found is None:
            return _error(400, f"(#100) Unsupported get request. Object with ID '{media_id}' does not exist.", 100)
        data, mime = found
        url = f"{str(request.base_url).rstrip('/')}/sandbox/whatsapp/media/{media_id}"
        return Response(
            {
                "messaging_product": "whatsapp", "url": url, "mime_type": mime, "id": media_id,
                "sha256": hashlib.sha256(data).hexdigest(), "file_size": str(len(data)),
            }
        )  # fmt: skip

    @post("/{version:str}/{phone_number_id:str}/messages", status_code=200)
    async def send(
        self, request: Request[Any, Any, Any], state: State, version: str, phone_number_id: str, data: SendMessage
    ) -> Response[dict[str, Any]]:
        box: Mailbox = state.mailbox
        if not _authorised(request, box):
            return _error(401, "Invalid OAuth access token.", 190)
        if data.messaging_product != "whatsapp":
            return _error(400, "(#100) Param messaging_product must be 'whatsapp'", 100)
        if data.type == "text" and data.text is None:
            return _error(400, "(#100) The parameter text['body'] is required.", 100)
        if data.type == "interactive" and (data.interactive is None or data.interactive.type not in ("button", "list")):
            return _error(400, "(#100) interactive of type 'button' or 'list' is required.", 100)
        if data.interactive is not None and data.interactive.type == "button" and not data.interactive.action.buttons:
            return _error(400, "(#100) action['buttons'] needs 1 to 3 reply buttons.", 100)
        if data.interactive is not None and data.interactive.type == "list":
            rows = sum(len(s.rows) for s in data.interactive.action.sections)
            if data.interactive.action.button is None or not 1 <= rows <= 10:
                return _error(400, "(#100) a list needs action['button'] and 1 to 10 rows in its sections.", 100)
        if data.type == "template" and data.template is None:
            return _error(400, "(#100) The parameter template is required.", 100)
        if data.type not in ("text", "interactive", "template"):
            return _error(400, f"(#100) Unsupported message type {data.type!r}.", 100)
        key = request.headers.get("x-idempotency-key")
        async with box.lock:
            if box.fail_next > 0:
                box.fail_next -= 1
                return _error(box.fail_status, "Service temporarily unavailable", 2)
            if key and key in box.by_key:
                box.duplicates += 1
                recorded = box.by_key[key]
            else:
                body, buttons, template = _content(data)
                recorded = Recorded(
                    id=f"wamid.{secrets.token_urlsafe(24)}",
                    phone_number_id=phone_number_id,
                    to=data.to.lstrip("+"),
                    type=data.type,
                    body=body,
                    idempotency_key=key,
                    received_at=datetime.now(UTC),
                    buttons=buttons,
                    template=template,
                    interactive=data.interactive.type if data.interactive else None,
                )
                box.messages.append(recorded)
                if key:
                    box.by_key[key] = recorded
        return Response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": data.to, "wa_id": recorded.to}],
                "messages": [{"id": recorded.id}],
            }
        )


class MediaDownloadController(Controller):
    """Meta's media URL: the bytes, only with the same bearer token as the API."""

    path = "/sandbox/whatsapp/media"
    tags = ["whatsapp"]

    @get("/{media_id:str}", summary="Download a received medium (bearer token required, as at Meta)")
    async def download(self, request: Request[Any, Any, Any], state: State, media_id: str) -> Response[Any]:
        box: Mailbox = state.mailbox
        if not _authorised(request, box):
            return _error(401, "Invalid OAuth access token.", 190)
        found = box.media.get(media_id)
        if found is None:
            return _error(404, "Media not found.", 100)
        return Response(found[0], media_type=found[1])


class InspectController(Controller):
    path = "/sandbox/whatsapp"
    tags = ["sandbox"]

    @get("/messages", summary="What the sandbox received")
    async def messages(self, state: State, to: Annotated[str | None, Parameter(query="to")] = None) -> dict[str, Any]:
        box: Mailbox = state.mailbox
        wanted = to.lstrip("+") if to else None
        items = [m for m in box.messages if wanted is None or m.to == wanted]
        return {"items": items, "duplicates": box.duplicates}

    @delete("/messages", status_code=204)
    async def clear(self, state: State) -> None:
        box: Mailbox = state.mailbox
        async with box.lock:
            box.messages.clear()
            box.by_key.clear()
            box.duplicates = 0

    @post("/faults", status_code=200, summary="Fail the next N sends with the given status")
    async def faults(self, state: State, data: Faults) -> Faults:
        box: Mailbox = state.mailbox
        box.fail_next, box.fail_status = data.fail_next, data.status
        return data
