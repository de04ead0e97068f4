"""What every service refuses before a handler runs, in one place (an ASGI middleware of kit's app factory):

- a control character in the decoded path (`%00`-`%1F`, `%7F`): 400;
- a NUL character in a query parameter, a JSON body or a form body (PostgreSQL cannot store it): 422 naming
  the field;
- a body sent with a non-JSON content type to a handler that decodes JSON (`data`): 415.

Handlers that pass the request on untouched (the gateway's proxy) set `opt={"forward_raw": True}`: the owning
service checks the query and body itself; the path is still checked, as the proxy builds a URL from it.
Identifier fields use `Uuid`, so a malformed one is refused by the schema (422, see kit.web).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import parse_qsl

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, ReceiveMessage, Scope, Send

#: A UUID in its canonical text form (any version, either case).
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
Uuid = Annotated[
    str,
    msgspec.Meta(pattern=UUID_PATTERN, examples=["0193a0c4-0000-7000-8000-000000000001"], description="a UUID"),
]
_UUID = re.compile(UUID_PATTERN)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
#: Bodies are scanned up to this size; beyond it the handler's own body limit answers (413).
_SCAN_LIMIT = 10 * 1024 * 1024


class FieldError(Exception):
    """A value that breaks a rule of the request itself (not of a domain): mapped to 422 naming the field."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def uuids(values: tuple[str, ...] | list[str], field: str, *, allow: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Query values that must be UUIDs (or one of `allow`, e.g. 'none'); otherwise a FieldError."""
    for value in values:
        if value not in allow and not _UUID.match(value):
            raise FieldError(f"{value[:80]!r} is not a UUID.", field=field)
    return tuple(values)


def _nul_path(value: Any, path: str) -> str | None:
    """The path (`name`, `phones[0]`, `admin.email`) of the first string or key holding a NUL, if any."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            named = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return named.replace("\x00", "\\u0000")
            if (found := _nul_path(item, named)) is not None:
                return found
        return None
    if isinstance(value, list):
        for i, item in enumerate(value):
            if (found := _nul_path(item, f"{path}[{i}]")) is not None:
                return found
    return None


def nul_field_in_pairs(pairs: list[tuple[str, str]]) -> str | None:
    for key, value in pairs:
        if "\x00" in key or "\x00" in value:
            return key.replace("\x00", "\\u0000") or "body"
    return None


def nul_field_in_body(content_type: str, body: bytes) -> str | None:
    """The field of a JSON or form body that holds a NUL character; None when there is none, or the body is
    unreadable or of another type (the handler then answers for it: 400 or 415)."""
    if b"\\u0000" not in body and b"\x00" not in body and b"%00" not in body:
        return None
    if is_json(content_type):
        try:
            return _nul_path(msgspec.json.decode(body), "")
        except msgspec.DecodeError:
            return None
    if content_type.startswith("application/x-www-form-urlencoded"):
        return nul_field_in_pairs(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    return None  # another type: the handler refuses or reads it (415 before anything is stored)


def is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def _takes_json(handler: Any, cache: dict[int, bool]) -> bool:
    key = id(handler)
    if key not in cache:
        signature = getattr(handler, "parsed_fn_signature", None)
        cache[key] = signature is not None and "data" in signature.parameters
    return cache[key]


Refuse = Callable[[int, str, str | None], Any]


def input_guard(refuse: Refuse) -> Callable[[ASGIApp], ASGIApp]:
    """The middleware; `refuse(status, detail, field)` builds the problem response (an ASGI app)."""
    takes_json: dict[int, bool] = {}

    def factory(app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != ScopeType.HTTP:
                await app(scope, receive, send)
                return
            if _CONTROL.search(scope["path"]):
                await refuse(400, "The path contains a control character.", None)(scope, receive, send)
                return
            handler = scope.get("route_handler")
            if handler is not None and handler.opt.get("forward_raw"):
                await app(scope, receive, send)
                return
            query = scope.get("query_string", b"")
            if b"%00" in query or b"\x00" in query:
                field = nul_field_in_pairs(parse_qsl(query.decode("latin-1"), keep_blank_values=True))
                if field:
                    await refuse(422, "Text may not contain NUL characters.", field)(scope, receive, send)
                    return
            if scope["method"] not in _BODY_METHODS:
                await app(scope, receive, send)
                return
            messages: list[ReceiveMessage] = []
            body = bytearray()
            complete = False
            while len(body) <= _SCAN_LIMIT:
                message = await receive()
                messages.append(message)
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                if not message.get("more_body", False):
                    complete = True
                    break
            content_type = ""
            for name, value in scope["headers"]:
                if name == b"content-type":
                    content_type = value.decode("latin-1").lower()
            if complete and body:
                if handler is not None and _takes_json(handler, takes_json) and not is_json(content_type):
                    detail = f"Send JSON with 'Content-Type: application/json' (got {content_type[:80] or 'none'!r})."
                    await refuse(415, detail, None)(scope, receive, send)
                    return
                field = nul_field_in_body(content_type, bytes(body))
                if field:
                    await refuse(422, "Text may not contain NUL characters.", field)(scope, receive, send)
                    return

            async def replay() -> ReceiveMessage:
                return messages.pop(0) if messages else await receive()

            await app(scope, replay, send)

        return middleware

    return factory
