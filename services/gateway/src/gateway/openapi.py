"""One OpenAPI 3.1 document for integrators: the gateway's own operations and every registered service's public
ones, under the paths the gateway serves them at.

Each service's document comes from its `/schema/openapi.json`. The gateway forwards `/api/v1/<route>/...` and
the public prefixes untouched, so a service's operation keeps its path; operations the gateway does not route
to that service are left out. Component names and operation ids that two services both use (with different
content) are prefixed with the route name, and the references to them rewritten. A new service joins the
document by being registered in GATEWAY_ROUTES (and GATEWAY_PUBLIC_ROUTES for its public ingress).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from typing import Any

import httpx
import msgspec

log = logging.getLogger(__name__)

_METHODS = ("get", "put", "post", "delete", "patch", "options", "head", "trace")
#: How long a merged document is served before the services are asked again.
TTL_SECONDS = 30.0


def gateway_path(path: str, route: str, public_prefixes: list[str]) -> bool:
    """Whether the gateway forwards `path` to the service registered as `route`."""
    return (
        path == f"/api/v1/{route}"
        or path.startswith(f"/api/v1/{route}/")
        or any(path == f"/{p}" or path.startswith(f"/{p}/") for p in public_prefixes)
    )


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                name = value.removeprefix("#/components/schemas/")
                out[key] = f"#/components/schemas/{renames.get(name, name)}"
            else:
                out[key] = _rename_refs(value, renames)
        return out
    if isinstance(node, list):
        return [_rename_refs(item, renames) for item in node]
    return node


def merge(gateway: dict[str, Any], services: dict[str, dict[str, Any]], public: dict[str, str]) -> dict[str, Any]:
    """`gateway`: the gateway's own document; `services`: route name -> that service's document; `public`:
    public prefix -> route name. Pure: no IO, the inputs are not changed."""
    merged = copy.deepcopy(gateway)
    merged["info"] = {
        **merged.get("info", {}),
        "title": "ClinicFlow API",
        "description": "Every operation of ClinicFlow, as the gateway serves it: log in at /api/v1/auth/login and "
        "send the access token as `Authorization: Bearer <token>`. Every error is an RFC 9457 problem document "
        "(application/problem+json).",
    }
    paths: dict[str, Any] = merged.setdefault("paths", {})
    components: dict[str, Any] = merged.setdefault("components", {})
    schemas: dict[str, Any] = components.setdefault("schemas", {})
    operation_ids = {op.get("operationId") for item in paths.values() for m, op in item.items() if m in _METHODS and op}
    tags = {t["name"]: t for t in merged.get("tags", [])}
    for item in paths.values():
        for method, operation in item.items():
            if method in _METHODS and isinstance(operation, dict):
                for tag in operation.get("tags", []):
                    tags.setdefault(tag, {"name": tag})
    for route, document in sorted(services.items()):
        prefixes = [p for p, name in public.items() if name == route]
        renames: dict[str, str] = {}
        own = (document.get("components") or {}).get("schemas") or {}
        for name, schema in own.items():
            if name in schemas and schemas[name] != schema:
                renames[name] = f"{route}_{name}"
        for name, schema in own.items():
            schemas[renames.get(name, name)] = _rename_refs(schema, renames)
        for path, item in (document.get("paths") or {}).items():
            if not gateway_path(path, route, prefixes) or path in paths:
                continue
            item = _rename_refs(item, renames)
            for method, operation in item.items():
                if method not in _METHODS or not isinstance(operation, dict):
                    continue
                op_id = operation.get("operationId")
                if op_id in operation_ids:
                    operation["operationId"] = f"{route}_{op_id}"
                operation_ids.add(operation.get("operationId"))
                for tag in operation.get("tags", []):
                    tags.setdefault(tag, {"name": tag})
            paths[path] = item
        for name, scheme in ((document.get("components") or {}).get("securitySchemes") or {}).items():
            components.setdefault("securitySchemes", {}).setdefault(name, scheme)
    if tags:
        merged["tags"] = sorted(tags.values(), key=lambda t: str(t["name"]))
    merged["paths"] = dict(sorted(paths.items()))
    return merged


class MergedDocument:
    """The merged document, rebuilt at most every TTL_SECONDS. A service that does not answer is left out of
    that build (and named in `x-unavailable`), so the document never waits on, or fails with, one service."""

    def __init__(self, routes: dict[str, str], public: dict[str, str], client: httpx.AsyncClient | None = None) -> None:
        self.routes = routes
        self.public = public
        self.client = client or httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
        self._built: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    async def _fetch(self, route: str, url: str) -> dict[str, Any] | None:
        try:
            answer = await self.client.get(f"{url}/schema/openapi.json")
            answer.raise_for_status()
            document: dict[str, Any] = msgspec.json.decode(answer.content)
            return document
        except (httpx.HTTPError, msgspec.DecodeError) as exc:
            log.warning("OpenAPI document of %s not available: %r", route, exc)
            return None

    async def get(self, gateway: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            if self._built is not None and time.monotonic() - self._built[0] < TTL_SECONDS:
                return self._built[1]
            fetched = await asyncio.gather(*(self._fetch(r, u) for r, u in self.routes.items()))
            found = {r: d for r, d in zip(self.routes, fetched, strict=True) if d is not None}
            document = merge(gateway, found, self.public)
            missing = sorted(set(self.routes) - set(found))
            if missing:
                document["x-unavailable"] = missing
            else:
                self._built = (time.monotonic(), document)
            return document

    async def close(self) -> None:
        await self.client.aclose()
