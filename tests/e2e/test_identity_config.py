"""Roles, sections and departments are the clinic's (gateway API, audited); tokens carry the permissions of
the member's roles and services check those, never role names; a disabled account leaves the directory."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api, known_to_leads, new_clinic, staff, wait_until

pytestmark = pytest.mark.e2e

ID = "/api/v1/identity"


def roles_by_name(api: Api) -> dict[str, dict[str, Any]]:
    answer = api.http.get(f"{ID}/roles")
    assert answer.status_code == 200, answer.text
    return {r["name"]: r for r in answer.json()["items"]}


def add_staff(stack: Stack, admin: Api, roles: list[str], **extra: Any) -> tuple[str, str]:
    email = f"cfg-{uuid.uuid4().hex[:8]}@clinic.example"
    made = admin.http.post(
        "/api/v1/staff",
        json={"email": email, "full_name": "Config Person", "password": "a-long-password", "roles": roles, **extra},
    )
    assert made.status_code == 201, made.text
    known_to_leads(admin, made.json()["id"])
    return email, made.json()["id"]


def test_built_in_roles_are_seeded_and_a_clinic_defines_its_own(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    catalogue = {p["name"] for p in admin.http.get(f"{ID}/permissions").json()["items"]}
    assert {"crm:read", "crm:write", "crm:admin", "crm:responsible", "finance:read"} <= catalogue
    builtin = roles_by_name(admin)
    assert {"admin", "manager", "sales_agent", "reception", "professional", "diagnostic_doctor", "finance"} <= set(
        builtin
    )
    assert all(builtin[n]["builtin"] for n in ("admin", "reception"))

    name = f"desk_{uuid.uuid4().hex[:6]}"
    made = admin.http.post(f"{ID}/roles", json={"name": name, "description": "Front desk", "permissions": ["crm:read"]})
    assert made.status_code == 201, made.text
    role = made.json()
    assert (role["permissions"], role["builtin"]) == (["crm:read"], False)
    assert admin.http.post(f"{ID}/roles", json={"name": name, "permissions": []}).status_code == 409
    bad = admin.http.post(f"{ID}/roles", json={"name": "x_y", "permissions": ["platform:admin"]})
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (422, "permissions")

    # the token carries the role's permissions; leads checks permissions, not the role's name
    email, _ = add_staff(stack, admin, [name])
    member = Api(stack, email, "a-long-password")
    assert member.http.get("/api/v1/me").json()["permissions"] == ["crm:read"]
    body = {"name": "Ana", "phone": unique_phone(), "source": "whatsapp"}
    assert member.http.post("/api/v1/leads", json=body).status_code == 403
    edited = admin.http.patch(f"{ID}/roles/{role['id']}", json={"permissions": ["crm:read", "crm:write"]})
    assert edited.status_code == 200, edited.text
    member = Api(stack, email, "a-long-password")  # the next token has the new permissions
    assert member.http.post("/api/v1/leads", json=body).status_code == 201

    # built-in roles are editable but not deletable; admin keeps crm:admin; a held role stays
    professional = builtin["professional"]
    assert admin.http.patch(f"{ID}/roles/{professional['id']}", json={"description": "Doctors"}).status_code == 200
    locked = admin.http.patch(f"{ID}/roles/{builtin['admin']['id']}", json={"permissions": ["crm:read"]})
    assert (locked.status_code, locked.json()["errors"][0]["field"]) == (422, "permissions")
    assert admin.http.delete(f"{ID}/roles/{professional['id']}").status_code == 409
    assert admin.http.delete(f"{ID}/roles/{role['id']}").status_code == 409  # still held
    unused = admin.http.post(f"{ID}/roles", json={"name": f"tmp_{uuid.uuid4().hex[:6]}", "permissions": []}).json()
    assert admin.http.delete(f"{ID}/roles/{unused['id']}").status_code == 204

    trail = admin.http.get(f"{ID}/audit", params={"entity": "role", "entity_id": role["id"]}).json()
    me = admin.http.get("/api/v1/me").json()["id"]
    assert [(e["action"], e["actor_id"]) for e in trail["items"]] == [("updated", me), ("created", me)]
    assert trail["items"][0]["changes"]["permissions"] == [["crm:read"], ["crm:read", "crm:write"]]


def test_sections_departments_and_disabling_an_account(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    section = admin.http.post(f"{ID}/sections", json={"name": f"Recepção {uuid.uuid4().hex[:4]}"})
    assert section.status_code == 201, section.text
    department = admin.http.post(f"{ID}/departments", json={"name": f"Vendas {uuid.uuid4().hex[:4]}"})
    assert department.status_code == 201, department.text
    assert admin.http.post(f"{ID}/sections", json={"name": section.json()["name"]}).status_code == 409
    sid, did = section.json()["id"], department.json()["id"]
    assert sid in {s["id"] for s in admin.http.get(f"{ID}/sections").json()["items"]}
    assert admin.http.get(f"{ID}/somethings").status_code == 404

    email, user_id = add_staff(stack, admin, ["sales_agent"], section_ids=[sid])
    wrong = admin.http.patch(f"/api/v1/staff/{user_id}", json={"department_ids": [sid]})  # a section, not a dept
    assert (wrong.status_code, wrong.json()["errors"][0]["field"]) == (422, "department_ids")
    moved = admin.http.patch(f"/api/v1/staff/{user_id}", json={"department_ids": [did], "full_name": "Paula Reis"})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["section_ids"], moved.json()["department_ids"]) == ([sid], [did])
    assert admin.http.delete(f"{ID}/sections/{sid}").status_code == 409  # a member belongs to it

    # the directory follows: the new name, then the account disabled
    wait_until(
        lambda: any(m["full_name"] == "Paula Reis" for m in admin.http.get("/api/v1/leads/staff").json()["items"]),
        15.0,
        "leads never heard staff.updated",
    )
    me = admin.http.get("/api/v1/me").json()["id"]
    assert admin.http.patch(f"/api/v1/staff/{me}", json={"active": False}).status_code == 409
    assert admin.http.patch(f"/api/v1/staff/{user_id}", json={"active": False}).status_code == 200
    assert (
        admin.http.post("/api/v1/auth/login", json={"email": email, "password": "a-long-password"}).status_code == 401
    )
    wait_until(
        lambda: user_id not in {m["user_id"] for m in admin.http.get("/api/v1/leads/staff").json()["items"]},
        15.0,
        "leads never heard staff.deactivated",
    )
    lead = admin.create_lead(phone=unique_phone())
    refused = admin.http.post(f"/api/v1/leads/{lead['id']}/assign", json={"owner_id": user_id})
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "owner_id")
    actions = [e["action"] for e in admin.http.get(f"{ID}/audit", params={"entity_id": user_id}).json()["items"]]
    assert actions == ["deactivated", "updated", "created"]


def test_only_admins_configure_and_clinics_see_only_their_own(stack: Stack, admin: Api) -> None:
    doctor, _ = staff(stack, admin, "professional")
    assert doctor.http.get(f"{ID}/roles").status_code == 403
    assert doctor.http.patch(f"/api/v1/staff/{uuid.uuid4()}", json={"active": False}).status_code == 403
    other = new_clinic(stack, admin, "Clínica Isolada")
    mine = roles_by_name(admin)
    theirs = roles_by_name(other)
    assert set(theirs) == {
        "admin",
        "manager",
        "sales_agent",
        "reception",
        "professional",
        "diagnostic_doctor",
        "finance",
        "curator",
        "privacy_officer",
    }
    assert {r["id"] for r in theirs.values()}.isdisjoint(r["id"] for r in mine.values())
    assert other.http.patch(f"{ID}/roles/{mine['manager']['id']}", json={"description": "x"}).status_code == 404
    assert other.http.patch(f"/api/v1/staff/{admin.http.get('/api/v1/me').json()['id']}", json={}).status_code == 404
