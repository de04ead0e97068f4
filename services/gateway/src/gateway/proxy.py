"""Forward `/api/v1/<context>/...` to the owning service, body and status untouched."""

from __future__ import annotations

import httpx

from kit import context

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
    ) -> httpx.Response:
        out = [(k, v) for k, v in headers if k.lower() not in _DROP and k.lower() != context.CORRELATION_HEADER]
        out += [(context.CORRELATION_HEADER, context.current_correlation_id()), ("x-forwarded-for", client_ip)]
        url = httpx.URL(self.routes[service] + path, query=query)
        return await self.client.request(method, url, headers=out, content=body)

    async def close(self) -> None:
        await self.client.aclose()


def response_headers(response: httpx.Response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.lower() not in _DROP and k.lower() != "content-encoding"}
