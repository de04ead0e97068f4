"""The merged OpenAPI document, from documents in hand (no servers)."""

from __future__ import annotations

from typing import Any

from gateway.openapi import gateway_path, merge


def _op(op_id: str, ref: str | None = None, tag: str = "t") -> dict[str, Any]:
    body = {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}} if ref else None
    operation: dict[str, Any] = {"operationId": op_id, "tags": [tag], "responses": {"200": {"description": "ok"}}}
    if body:
        operation["requestBody"] = body
    return operation


GATEWAY = {
    "openapi": "3.1.0",
    "info": {"title": "gateway", "version": "1"},
    "paths": {"/api/v1/auth/login": {"post": _op("Login", "Problem", "auth")}},
    "components": {"schemas": {"Problem": {"type": "object", "title": "Problem"}}},
}
LEADS = {
    "paths": {
        "/api/v1/leads": {"post": _op("Create", "LeadIn", "leads")},
        "/public/forms/{key}": {"post": _op("Submit", "Page", "public")},
        "/api/v1/notifications/sneaky": {"get": _op("Sneaky")},  # not routed to leads by the gateway
    },
    "components": {
        "schemas": {
            "LeadIn": {"type": "object"},
            "Page": {"type": "object", "properties": {"items": {"$ref": "#/components/schemas/LeadIn"}}},
            "Problem": {"type": "object", "title": "Problem"},
        },
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    },
}
NOTIFICATIONS = {
    "paths": {"/api/v1/notifications/messages": {"get": _op("Create", "Page", "notifications")}},
    "components": {"schemas": {"Page": {"type": "array"}}},
}


def test_every_service_joins_under_its_gateway_paths() -> None:
    merged = merge(GATEWAY, {"leads": LEADS, "notifications": NOTIFICATIONS}, {"public/forms": "leads"})
    assert list(merged["paths"]) == [
        "/api/v1/auth/login",
        "/api/v1/leads",
        "/api/v1/notifications/messages",
        "/public/forms/{key}",
    ]
    assert merged["info"]["title"] == "ClinicFlow API"
    assert {t["name"] for t in merged["tags"]} >= {"auth", "leads", "notifications", "public"}
    assert merged["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_colliding_names_are_prefixed_and_references_follow() -> None:
    merged = merge(GATEWAY, {"leads": LEADS, "notifications": NOTIFICATIONS}, {"public/forms": "leads"})
    schemas = merged["components"]["schemas"]
    assert schemas["Page"] == LEADS["components"]["schemas"]["Page"]  # first come keeps the name
    assert schemas["notifications_Page"] == {"type": "array"}
    assert "notifications_Problem" not in schemas  # identical schemas are shared
    messages = merged["paths"]["/api/v1/notifications/messages"]["get"]
    assert messages["requestBody"]["content"]["application/json"]["schema"]["$ref"] == (
        "#/components/schemas/notifications_Page"
    )
    assert messages["operationId"] == "notifications_Create"  # leads' Create came first
    assert merged["paths"]["/api/v1/leads"]["post"]["operationId"] == "Create"


def test_the_inputs_are_left_alone() -> None:
    before = repr(LEADS)
    merge(GATEWAY, {"leads": LEADS}, {})
    assert repr(LEADS) == before


def test_gateway_path() -> None:
    assert gateway_path("/api/v1/leads", "leads", [])
    assert gateway_path("/api/v1/leads/{id}", "leads", [])
    assert not gateway_path("/api/v1/leadsx", "leads", [])
    assert gateway_path("/webhooks/tilda/{key}", "leads", ["webhooks/tilda"])
    assert not gateway_path("/health/live", "leads", ["public/forms"])
