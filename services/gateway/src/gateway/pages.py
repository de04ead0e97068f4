"""The patient pages (web/patient, docs/patient-pages.md): a browser opening a patient link (a GET that accepts
text/html) gets the page, which then reads the same URL as JSON; every other client gets the API as before, so
a link stays one URL for the message, the page and the API. Their files are served at /p/, gzip-compressed
for the phones on slow networks they are made for (hashed assets are cached for good)."""

from __future__ import annotations

import gzip
import mimetypes
import re
from pathlib import Path
from typing import Any

from litestar import MediaType, Request, Response, get
from litestar.exceptions import NotFoundException

from gateway.proxy import Answer

PATIENT_PAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^/public/payments/pay$"), "pay"),
    (re.compile(r"^/public/payments/[0-9a-fA-F-]{36}/done$"), "pay"),
    (re.compile(r"^/public/scheduling/booking$"), "book"),
    (re.compile(r"^/public/scheduling/confirm$"), "confirm"),
    (re.compile(r"^/public/scheduling/reschedule$"), "reschedule"),
    (re.compile(r"^/public/scheduling/anamnesis$"), "anamnesis"),
    (re.compile(r"^/public/forms/[A-Za-z0-9_-]{1,100}$"), "lead-form"),
    (re.compile(r"^/public/funnel/quotes$"), "quote"),
    (re.compile(r"^/public/funnel/photos$"), "photos"),
)
#: Smaller than this is not worth compressing.
_MIN_GZIP = 512
_TEXT = (".html", ".js", ".css", ".svg", ".json", ".txt")
_cache: dict[tuple[str, float], bytes] = {}


def patient_page(method: str, path: str, accept: str) -> str | None:
    """The page a browser navigating to this public path should see, or None (forward to the API)."""
    if method != "GET" or "text/html" not in accept:
        return None
    return next((page for pattern, page in PATIENT_PAGES if pattern.match(path)), None)


def wants_gzip(accept_encoding: str) -> bool:
    return any(part.split(";")[0].strip() == "gzip" for part in accept_encoding.lower().split(","))


def _gzipped(file: Path) -> bytes:
    key = (str(file), file.stat().st_mtime)
    if key not in _cache:
        if len(_cache) > 256:
            _cache.clear()
        _cache[key] = gzip.compress(file.read_bytes(), 9)
    return _cache[key]


def _file_response(file: Path, accept_encoding: str, headers: dict[str, str]) -> Response[bytes]:
    media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or file.suffix in (".js", ".svg"):
        media_type += "; charset=utf-8"
    if file.suffix in _TEXT and wants_gzip(accept_encoding):
        return Response(_gzipped(file), media_type=media_type, headers={**headers, "content-encoding": "gzip"})
    return Response(file.read_bytes(), media_type=media_type, headers=headers)


def page_response(directory: str, page: str, accept_encoding: str = "") -> Response[bytes] | None:
    file = Path(directory) / f"{page}.html"
    if not directory or not file.is_file():
        return None
    # Revalidated on every load (a new build reaches the phone at once); varies with Accept, since the same URL
    # answers JSON to the page's own fetch; the token is in the URL, so no Referer carries it further.
    return _file_response(
        file,
        accept_encoding,
        {"cache-control": "no-cache", "vary": "Accept, Accept-Encoding", "referrer-policy": "no-referrer"},
    )


def compressed_answer(answer: Answer, accept_encoding: str) -> Response[bytes]:
    """A service's answer to a patient page, gzip-compressed when the browser takes it and it is worth it."""
    headers = dict(answer.headers)
    already = any(k.lower() == "content-encoding" for k in headers)
    if already or len(answer.content) < _MIN_GZIP or not wants_gzip(accept_encoding):
        return Response(answer.content, status_code=answer.status_code, headers=headers)
    headers = {k: v for k, v in headers.items() if k.lower() != "vary"}
    headers |= {"content-encoding": "gzip", "vary": "Accept, Accept-Encoding"}
    return Response(gzip.compress(answer.content, 5), status_code=answer.status_code, headers=headers)


def patient_router(directory: str) -> list[Any]:
    """The pages' files at /p/...: public (they hold no data), hashed assets cached for good."""
    if not directory or not Path(directory).is_dir():
        return []
    root = Path(directory).resolve()

    @get(
        "/p/{name:path}",
        name="patient-pages",
        include_in_schema=False,
        opt={"exclude_from_auth": True},
        sync_to_thread=False,
        media_type=MediaType.TEXT,
    )
    def asset(request: Request[Any, Any, Any], name: str) -> Response[bytes]:
        file = (root / name.lstrip("/")).resolve()
        if root not in file.parents or not file.is_file():
            raise NotFoundException(f"No such file: {name}")
        immutable = file.parent == root / "assets"
        cache = "public, max-age=31536000, immutable" if immutable else "no-cache"
        return _file_response(
            file, request.headers.get("accept-encoding", ""), {"cache-control": cache, "vary": "Accept-Encoding"}
        )

    return [asset]
