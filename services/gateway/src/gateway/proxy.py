"""Forward `/api/v1/<context>/...` and the public ingress to the owning service, body and status untouched."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp

from gateway.domain import InvalidPath, UpstreamUnavailable
from kit import context

log = logging.getLogger(__name__)

#: Hop-by-hop headers (RFC 9110 §7.6.1) and ones the client sets itself.
_DROP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


#: Set by the proxy itself (from what came in), never passed through as sent.
_FORWARDING = {context.CORRELATION_HEADER, "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto"}
#: A decoded control character (%00-%1F, %7F) cannot go into the upstream URL: refused, never a 500.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def forwarding(headers: list[tuple[str, str]], client_ip: str, scheme: str) -> list[tuple[str, str]]:
    """X-Forwarded-For: the incoming chain plus the peer we saw (services trust only the hops they are told
    to, counted from the right); X-Forwarded-Host/-Proto: what an outer proxy said, else what we received."""
    seen = {k.lower(): v for k, v in headers}
    chain = [v.strip() for k, v in headers if k.lower() == "x-forwarded-for" and v.strip()]
    out = [
        ("x-forwarded-for", ", ".join([*chain, client_ip])),
        ("x-forwarded-proto", seen.get("x-forwarded-proto") or scheme),
    ]
    host = seen.get("x-forwarded-host") or seen.get("host")
    return [*out, ("x-forwarded-host", host)] if host else out


@dataclass(frozen=True, slots=True)
class Answer:
    """What the service answered: status, headers (hop-by-hop ones dropped) and the whole body."""

    status_code: int
    headers: dict[str, str]
    content: bytes


class StreamAnswer:
    """A live answer of a service: status and headers now, the body as it arrives."""

    def __init__(self, status_code: int, headers: dict[str, str], response: aiohttp.ClientResponse) -> None:
        self.status_code = status_code
        self.headers = headers
        #: The media type alone, e.g. text/event-stream (header names in `headers` keep the service's case).
        self.content_type = response.content_type
        self._response = response

    async def chunks(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.content.iter_any():
            yield chunk

    async def read(self) -> bytes:
        try:
            return await self._response.read()
        except aiohttp.ClientError as exc:  # cut off mid-body: the service went away
            raise UpstreamUnavailable(str(self._response.url.host)) from exc

    def close(self) -> None:
        self._response.close()


class Upstream:
    """The services behind the gateway, over aiohttp's pooled keep-alive connections.

    aiohttp parses HTTP in C: httpx (httpcore, anyio, h11) cost the gateway ~2.5 ms CPU per proxied request here,
    most of it in its connection pool's bookkeeping; this is a fraction of that.
    """

    def __init__(self, routes: dict[str, str]) -> None:
        self.routes = routes
        self._session: aiohttp.ClientSession | None = None

    def _target(self, service: str, path: str, query: bytes) -> str:
        """The upstream URL. The path arrives decoded: quoted again, so a decoded `?`, `#` or `%` stays part of
        the path; a control character (%00-%1F, %7F) cannot go into a URL and is refused, never a 500."""
        if _CONTROL.search(path):
            raise InvalidPath()
        target = self.routes[service] + quote(path, safe="/:@!$&'()*+,;=~")
        return target + "?" + query.decode("latin-1") if query else target

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:  # made on the running loop (granian's worker), at the first request
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=200, limit_per_host=100, keepalive_timeout=30),
                timeout=aiohttp.ClientTimeout(total=30.0, connect=3.0),
                auto_decompress=True,
                skip_auto_headers=("User-Agent",),
            )
        return self._session

    async def forward(
        self,
        service: str,
        method: str,
        path: str,
        query: bytes,
        headers: list[tuple[str, str]],
        body: bytes,
        client_ip: str,
        scheme: str = "http",
    ) -> Answer:
        out = [(k, v) for k, v in headers if k.lower() not in _DROP and k.lower() not in _FORWARDING]
        out += [(context.CORRELATION_HEADER, context.current_correlation_id()), *forwarding(headers, client_ip, scheme)]
        target = self._target(service, path, query)
        try:
            async with self._client().request(method, target, headers=out, data=body or None) as response:
                content = await response.read()
                return Answer(response.status, response_headers(response.headers), content)
        except (aiohttp.ClientError, TimeoutError) as exc:  # refused, reset, timed out: never a 500 for the client
            log.warning("upstream %s failed for %s %s: %r", service, method, path, exc)
            raise UpstreamUnavailable(service) from exc

    async def open_stream(
        self,
        service: str,
        method: str,
        path: str,
        query: bytes,
        headers: list[tuple[str, str]],
        client_ip: str,
        scheme: str = "http",
    ) -> StreamAnswer:
        """Like `forward`, for a live answer (server-sent events): the body is read as it arrives; the caller
        closes it. No read timeout: a quiet stream is not a dead one (services send keep-alives)."""
        out = [(k, v) for k, v in headers if k.lower() not in _DROP and k.lower() not in _FORWARDING]
        out += [(context.CORRELATION_HEADER, context.current_correlation_id()), *forwarding(headers, client_ip, scheme)]
        target = self._target(service, path, query)
        timeout = aiohttp.ClientTimeout(total=None, connect=3.0, sock_read=None)
        try:
            response = await self._client().request(method, target, headers=out, timeout=timeout)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("upstream %s failed for %s %s: %r", service, method, path, exc)
            raise UpstreamUnavailable(service) from exc
        return StreamAnswer(response.status, response_headers(response.headers), response)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def response_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _DROP and k.lower() != "content-encoding"}
