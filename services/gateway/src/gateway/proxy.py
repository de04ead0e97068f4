"""Forward `/api/v1/<context>/...` and the public ingress to the owning service, body and status untouched."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import aiohttp

from gateway.domain import UpstreamUnavailable
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


class Upstream:
    """The services behind the gateway, over aiohttp's pooled keep-alive connections.

    aiohttp parses HTTP in C: httpx (httpcore, anyio, h11) cost the gateway ~2.5 ms CPU per proxied request here,
    most of it in its connection pool's bookkeeping; this is a fraction of that.
    """

    def __init__(self, routes: dict[str, str]) -> None:
        self.routes = routes
        self._session: aiohttp.ClientSession | None = None

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
        target = self.routes[service] + path + ("?" + query.decode("latin-1") if query else "")
        try:
            async with self._client().request(method, target, headers=out, data=body or None) as response:
                content = await response.read()
                return Answer(response.status, response_headers(response.headers), content)
        except (aiohttp.ClientError, TimeoutError) as exc:  # refused, reset, timed out: never a 500 for the client
            log.warning("upstream %s failed for %s %s: %r", service, method, path, exc)
            raise UpstreamUnavailable(service) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def response_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _DROP and k.lower() != "content-encoding"}
