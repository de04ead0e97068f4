"""The staff directory through the gateway: the gateway announces staff (its outbox and worker relay), leads
keeps them and refuses unknown people as owners or responsible (422 naming the field)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api, new_clinic, staff

pytestmark = pytest.mark.e2e


def directory(api: Api) -> dict[str, dict[str, object]]:
    answer = api.http.get("/api/v1/leads/staff")
    assert answer.status_code == 200, answer.text
    return {m["user_id"]: m for m in answer.json()["items"]}


def test_the_bootstrap_admin_and_new_staff_are_in_the_directory(stack: Stack, admin: Api) -> None:
    me = admin.http.get("/api/v1/me").json()
    assert directory(admin)[me["id"]]["email"] == me["email"]  # announced on the first start
    _, agent_id = staff(stack, admin, "sales_agent")  # waits until leads knows the new member
    assert directory(admin)[agent_id]["roles"] == ["sales_agent"]


def test_unknown_staff_may_not_own_leads_or_activities(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    stranger = str(uuid.uuid4())
    body = {"name": "Ana", "phone": unique_phone(), "source": "whatsapp", "owner_id": stranger}
    refused = admin.http.post("/api/v1/leads", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "owner_id"
    lead = admin.create_lead(phone=unique_phone())
    assigned = admin.http.post(f"/api/v1/leads/{lead['id']}/assign", json={"owner_id": stranger})
    assert (assigned.status_code, assigned.json()["errors"][0]["field"]) == (422, "owner_id")
    soon = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    planned = admin.http.post(
        f"/api/v1/leads/{lead['id']}/activities",
        json={"type": "call", "scheduled_at": soon, "responsible_id": stranger},
    )
    assert (planned.status_code, planned.json()["errors"][0]["field"]) == (422, "responsible_id")
    # a member of another clinic is a stranger here too
    other = new_clinic(stack, admin, "Clínica Outra")
    other_id = other.http.get("/api/v1/me").json()["id"]
    foreign = admin.http.post(f"/api/v1/leads/{lead['id']}/assign", json={"owner_id": other_id})
    assert (foreign.status_code, foreign.json()["errors"][0]["field"]) == (422, "owner_id")
    # a known member is accepted
    _, agent_id = staff(stack, admin, "sales_agent")
    given = admin.http.post(f"/api/v1/leads/{lead['id']}/assign", json={"owner_id": agent_id})
    assert given.status_code == 200, given.text
    assert given.json()["owner_id"] == agent_id
