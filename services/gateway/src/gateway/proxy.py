"""Forward `/api/v1/<context>/...` and the public ingress to the owning service, body and status untouched."""

from __future__ import annotations

import logging
import re

import httpx

from gateway.domain import InvalidPath, UpstreamUnavailable
from kit import context

log = logging.getLogger(__name__)

#: Hop-by-hop headers (RFC 9110 §7.6.1) and ones httpx sets itself.
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


class Upstream:
    def __init__(self, routes: dict[str, str], client: httpx.AsyncClient | None = None) -> None:
        self.routes = routes
        self.client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(30.0, connect=3.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        )

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
    ) -> httpx.Response:
        out = [(k, v) for k, v in headers if k.lower() not in _DROP and k.lower() not in _FORWARDING]
        out += [(context.CORRELATION_HEADER, context.current_correlation_id()), *forwarding(headers, client_ip, scheme)]
        if _CONTROL.search(path):
            raise InvalidPath()
        try:
            url = httpx.URL(self.routes[service] + path, query=query)
        except httpx.InvalidURL as exc:
            raise InvalidPath() from exc
        try:
            return await self.client.request(method, url, headers=out, content=body)
        except httpx.TransportError as exc:  # refused, reset, timed out: never a 500 for the client
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
    ) -> httpx.Response:
        """Like `forward`, for a live answer (server-sent events): the body is read as it arrives; the caller
        closes the response. No read timeout: a quiet stream is not a dead one (services send keep-alives)."""
        out = [(k, v) for k, v in headers if k.lower() not in _DROP and k.lower() not in _FORWARDING]
        out += [(context.CORRELATION_HEADER, context.current_correlation_id()), *forwarding(headers, client_ip, scheme)]
        url = httpx.URL(self.routes[service] + path, query=query)
        request = self.client.build_request(method, url, headers=out, timeout=httpx.Timeout(None, connect=3.0))
        try:
            return await self.client.send(request, stream=True)
        except httpx.TransportError as exc:
            log.warning("upstream %s failed for %s %s: %r", service, method, path, exc)
            raise UpstreamUnavailable(service) from exc

    async def close(self) -> None:
        await self.client.aclose()


def response_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower() not in _DROP and k.lower() != "content-encoding"}
