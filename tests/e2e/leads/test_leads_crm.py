"""The prospects CRM through the gateway with real tokens: record, statuses, owner, requests, lists,
filters, metrics, duplicates, deletion, audit, permissions and clinic isolation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api, staff


def clinic_today() -> date:
    """The clinic's day (São Paulo): dates in filters and follow-ups are the clinic's, not the machine's (UTC)."""
    return datetime.now(ZoneInfo("America/Sao_Paulo")).date()


pytestmark = pytest.mark.e2e


def test_full_record_is_stored_normalised_and_audited(admin: Api, unique_phone: Callable[[], str]) -> None:
    second = unique_phone()
    body = {
        "name": "  Ana   Beatriz Lima ",
        "phones": [unique_phone(), second],
        "source": "Instagram",
        "email": "Ana@Example.com",
        "cpf": "529.982.247-25",
        "birth_date": "1990-04-12",
        "city": "São Paulo",
        "locale": "pt-BR",
        "urgency": "high",
        "next_follow_up": str(clinic_today() + timedelta(days=2)),
        "notes": "Quer harmonização",
        "consents": {"whatsapp": True, "email": False},
        "treatment": "evaluation",
        "reason": "Preço da avaliação",
    }
    answer = admin.http.post("/api/v1/leads", json=body)
    assert answer.status_code == 201, answer.text
    lead = answer.json()
    assert lead["name"] == "Ana Beatriz Lima"
    assert lead["email"] == "ana@example.com"
    assert lead["cpf"] == "52998224725"
    assert lead["phones"][1] == second
    assert (lead["status"], lead["urgency"], lead["source"]) == ("PENDING_CONTACT", "high", "instagram")
    assert lead["consents"] == {"whatsapp": True, "email": False}
    requests = admin.http.get(f"/api/v1/leads/{lead['id']}/requests").json()["items"]
    assert [(r["treatment"], r["reason"]) for r in requests] == [("evaluation", "Preço da avaliação")]
    trail = admin.http.get(f"/api/v1/leads/{lead['id']}/audit").json()["items"]
    assert [(e["entity"], e["action"]) for e in trail] == [("lead", "created"), ("request", "created")]
    assert trail[0]["changes"]["cpf"] == [None, "52998224725"]


def test_edit_status_history_assignment_and_audit(stack: Stack, admin: Api, unique_phone: Callable[[], str]) -> None:
    lead = admin.create_lead(phone=unique_phone())
    lead_id = lead["id"]
    edited = admin.http.patch(
        f"/api/v1/leads/{lead_id}", json={"email": "x@y.com", "city": "Campinas", "urgency": "low", "notes": None}
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["email"], edited.json()["city"], edited.json()["urgency"]) == ("x@y.com", "Campinas", "low")

    moved = admin.http.post(
        f"/api/v1/leads/{lead_id}/status", json={"status": "CONTACTED_CALL_LATER", "comment": "Ligar amanhã"}
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "CONTACTED_CALL_LATER"
    refused = admin.http.post(f"/api/v1/leads/{lead_id}/status", json={"status": "VISIT_COMPLETED"})
    assert refused.status_code == 409
    assert refused.json()["errors"][0]["field"] == "status"
    unknown = admin.http.post(f"/api/v1/leads/{lead_id}/status", json={"status": "SLEEPING"})
    assert unknown.status_code == 422
    history = admin.http.get(f"/api/v1/leads/{lead_id}/status-history").json()["items"]
    assert [(h["from_status"], h["to_status"], h["comment"]) for h in history] == [
        (None, "PENDING_CONTACT", None),
        ("PENDING_CONTACT", "CONTACTED_CALL_LATER", "Ligar amanhã"),
    ]

    agent, agent_id = staff(stack, admin, "sales_agent")
    assigned = admin.http.post(f"/api/v1/leads/{lead_id}/assign", json={"owner_id": agent_id})
    assert assigned.json()["owner_id"] == agent_id
    mine = agent.http.get("/api/v1/leads", params={"owner_id": agent_id}).json()
    assert [x["id"] for x in mine["items"]] == [lead_id]

    trail = admin.http.get(f"/api/v1/leads/{lead_id}/audit").json()["items"]
    actions = [e["action"] for e in trail]
    assert actions == ["created", "updated", "status_changed", "assigned"]
    assert trail[1]["changes"]["city"] == [None, "Campinas"]
    assert trail[2]["changes"]["status"] == ["PENDING_CONTACT", "CONTACTED_CALL_LATER"]
    assert trail[3]["actor_id"] == admin.http.get("/api/v1/me").json()["id"]


def test_bad_input_names_the_field(admin: Api, unique_phone: Callable[[], str]) -> None:
    lead_id = admin.create_lead(phone=unique_phone())["id"]
    for body, field in [
        ({"cpf": "111.444.777-36"}, "cpf"),
        ({"phones": ["123"]}, "phone"),
        ({"urgency": "asap"}, "urgency"),
        ({"source": "nope"}, "source"),
        ({"birth_date": "2999-01-01"}, "birth_date"),
        ({"status": "NOT_INTERESTED"}, "status"),
    ]:
        answer = admin.http.patch(f"/api/v1/leads/{lead_id}", json=body)
        assert answer.status_code in (400, 422), (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert field in {e["field"] for e in answer.json()["errors"]}, (body, answer.json())
    missing = admin.http.patch(f"/api/v1/leads/{uuid.uuid4()}", json={"city": "Rio"})
    assert missing.status_code == 404


def test_duplicates_are_caught_and_can_become_requests(admin: Api, unique_phone: Callable[[], str]) -> None:
    phone = unique_phone()
    first = admin.create_lead(name="Carla Mendes", phone=phone)
    again = admin.http.post("/api/v1/leads", json={"name": "Carla Mendes", "phone": phone, "source": "google_search"})
    assert again.status_code == 409
    problem = again.json()
    assert problem["candidates"][0]["id"] == first["id"]
    assert "same phone" in problem["candidates"][0]["reasons"]
    added = admin.http.post(
        "/api/v1/leads",
        params={"on_duplicate": "add_request"},
        json={"name": "Carla Mendes", "phone": phone, "source": "google_search", "reason": "Voltou a perguntar"},
    )
    assert added.status_code == 200
    assert added.json()["id"] == first["id"]
    reasons = [r["reason"] for r in admin.http.get(f"/api/v1/leads/{first['id']}/requests").json()["items"]]
    assert reasons == ["Voltou a perguntar"]
    # the same family phone, another person: a new lead, no refusal
    sister = admin.http.post("/api/v1/leads", json={"name": "Beatriz Mendes", "phone": phone, "source": "walk_in"})
    assert sister.status_code == 201, sister.text
    assert sister.json()["id"] != first["id"]


def test_lists_filters_sorting_and_free_text(admin: Api, unique_phone: Callable[[], str]) -> None:
    tag = uuid.uuid4().hex[:6]
    phones = [unique_phone() for _ in range(3)]
    made = [
        admin.create_lead(name=f"Zélia {tag} {i}", phone=phones[i], source=src, urgency=urg)
        for i, (src, urg) in enumerate([("tiktok", "high"), ("tiktok", "low"), ("facebook", "high")])
    ]
    found = admin.http.get("/api/v1/leads", params={"q": f"zelia {tag}", "sort": "name"}).json()
    assert [x["id"] for x in found["items"]] == [m["id"] for m in made]
    assert found["total"] == 3
    reversed_words = admin.http.get("/api/v1/leads", params={"q": f"{tag} ZELIA"}).json()
    assert reversed_words["total"] == 3  # whole words, any order, any case or accent
    typing = admin.http.get("/api/v1/leads", params={"q": f"lia {tag[:4]}"}).json()
    assert {m["id"] for m in made} <= {x["id"] for x in typing["items"]}  # fragments while typing
    both = admin.http.get("/api/v1/leads", params={"q": f"Zélia {tag}", "source": "tiktok", "urgency": "high"}).json()
    assert [x["id"] for x in both["items"]] == [made[0]["id"]]
    by_phone = admin.http.get("/api/v1/leads", params={"q": phones[2][3:]}).json()  # national digits only
    assert [x["id"] for x in by_phone["items"]] == [made[2]["id"]]
    today = clinic_today().isoformat()
    created_today = admin.http.get("/api/v1/leads", params={"created_from": today, "q": f"zelia {tag}"}).json()
    assert created_today["total"] == 3
    none_tomorrow = admin.http.get(
        "/api/v1/leads", params={"created_from": (clinic_today() + timedelta(days=2)).isoformat(), "q": f"zelia {tag}"}
    ).json()
    assert none_tomorrow["total"] == 0
    paged = admin.http.get("/api/v1/leads", params={"q": f"zelia {tag}", "sort": "-name", "limit": 2}).json()
    assert [x["name"][-1] for x in paged["items"]] == ["2", "1"]
    assert admin.http.get("/api/v1/leads", params={"sort": "shoe_size"}).status_code == 422
    assert admin.http.get("/api/v1/leads", params={"status": "MAYBE"}).status_code == 422
    tomorrow = admin.http.get("/api/v1/leads", params={"follow_up": "tomorrow"})
    assert tomorrow.status_code == 422
    assert tomorrow.json()["errors"][0]["field"] == "follow_up"


def test_metrics_count_by_status_source_and_follow_ups(admin: Api, unique_phone: Callable[[], str]) -> None:
    before = admin.http.get("/api/v1/leads/metrics").json()
    today = clinic_today().isoformat()
    a = admin.create_lead(phone=unique_phone(), source="telegram", urgency="high", next_follow_up=today)
    admin.create_lead(phone=unique_phone(), source="telegram")
    admin.http.post(f"/api/v1/leads/{a['id']}/status", json={"status": "NOT_INTERESTED"})
    after = admin.http.get("/api/v1/leads/metrics").json()
    assert after["total"] == before["total"] + 2
    assert after["high_urgency"] == before["high_urgency"] + 1
    assert after["by_source"]["telegram"] == before["by_source"].get("telegram", 0) + 2
    assert after["by_status"]["NOT_INTERESTED"] == before["by_status"].get("NOT_INTERESTED", 0) + 1
    assert after["follow_ups_today"] >= 1
    assert admin.http.get("/api/v1/leads/metrics", params={"from": "2026-02-01", "to": "2026-01-01"}).status_code == 422


def test_requests_latest_only(admin: Api, unique_phone: Callable[[], str]) -> None:
    lead_id = admin.create_lead(phone=unique_phone())["id"]
    for reason in ("primeira", "segunda"):
        made = admin.http.post(
            f"/api/v1/leads/{lead_id}/requests", json={"treatment": "evaluation", "channel": "video", "reason": reason}
        )
        assert made.status_code == 201, made.text
    latest = admin.http.get(f"/api/v1/leads/{lead_id}/requests", params={"latest_only": True}).json()["items"]
    assert [r["reason"] for r in latest] == ["segunda"]
    request_id = latest[0]["id"]
    handled = admin.http.patch(
        f"/api/v1/leads/{lead_id}/requests/{request_id}", json={"handled": True, "status": "answered"}
    )
    assert (handled.json()["handled"], handled.json()["status"]) == (True, "answered")
    clinic_latest = admin.http.get("/api/v1/leads/requests", params={"latest_only": True, "limit": 200}).json()["items"]
    assert sum(1 for r in clinic_latest if r["lead_id"] == lead_id) == 1
    bad = admin.http.post(f"/api/v1/leads/{lead_id}/requests", json={"treatment": "teleportation"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "treatment"


def test_configurable_lists(stack: Stack, admin: Api, unique_phone: Callable[[], str]) -> None:
    sources = admin.http.get("/api/v1/leads/lists/source").json()["items"]
    assert [s["slug"] for s in sources][:3] == ["medical_recommendation", "family_recommendation", "google_search"]
    slug = f"billboard_{uuid.uuid4().hex[:6]}"
    made = admin.http.post("/api/v1/leads/lists/source", json={"label": "Outdoor na Paulista", "slug": slug})
    assert made.status_code == 201, made.text
    assert admin.http.post("/api/v1/leads/lists/source", json={"label": "x", "slug": slug}).status_code == 409
    used = admin.create_lead(phone=unique_phone(), source=slug)
    assert used["source"] == slug
    # in use: deleting deactivates instead; new leads may no longer use it
    removed = admin.http.delete(f"/api/v1/leads/lists/source/{made.json()['id']}")
    assert removed.status_code == 200
    assert removed.json()["active"] is False
    refused = admin.http.post("/api/v1/leads", json={"name": "Novo", "phone": unique_phone(), "source": slug})
    assert refused.status_code == 422
    # unused: deleted
    colour = admin.http.post("/api/v1/leads/lists/request_status", json={"label": "Aguardando", "color": "#a855f7"})
    assert colour.json()["color"] == "#A855F7"
    assert admin.http.delete(f"/api/v1/leads/lists/request_status/{colour.json()['id']}").status_code == 204
    assert (
        admin.http.post("/api/v1/leads/lists/request_status", json={"label": "x", "color": "purple"}).status_code == 422
    )
    assert admin.http.get("/api/v1/leads/lists/colours").status_code == 422
    items = admin.http.get("/api/v1/leads/lists/group").json()["items"]
    reordered = admin.http.put("/api/v1/leads/lists/group/order", json={"ids": [i["id"] for i in reversed(items)]})
    assert [i["slug"] for i in reordered.json()["items"]] == [i["slug"] for i in reversed(items)]
    agent, _ = staff(stack, admin, "sales_agent")
    assert agent.http.get("/api/v1/leads/lists/group").status_code == 200
    assert agent.http.post("/api/v1/leads/lists/group", json={"label": "x"}).status_code == 403


def test_lead_statuses_colours_and_order_per_clinic(stack: Stack, admin: Api, other_clinic: Api) -> None:
    defaults = admin.http.get("/api/v1/leads/statuses").json()["items"]
    keys = [s["status"] for s in defaults]
    assert "PENDING_CONTACT" in keys
    assert len(keys) == len(set(keys)) == 10
    painted = admin.http.patch("/api/v1/leads/statuses/RESCHEDULED", json={"color": "#a855f7", "label": "Remarcado"})
    assert painted.status_code == 200, painted.text
    assert (painted.json()["color"], painted.json()["label"]) == ("#A855F7", "Remarcado")
    try:
        order = list(reversed(keys))
        moved = admin.http.put("/api/v1/leads/statuses/order", json={"statuses": order})
        assert [s["status"] for s in moved.json()["items"]] == order
        assert [s["status"] for s in admin.http.get("/api/v1/leads/statuses").json()["items"]] == order
        # another clinic keeps its own
        theirs = other_clinic.http.get("/api/v1/leads/statuses").json()["items"]
        assert next(s for s in theirs if s["status"] == "RESCHEDULED")["label"] is None
        # bad input: a 422 naming the field
        for method, path, body, field in [
            ("PATCH", "/api/v1/leads/statuses/RESCHEDULED", {"color": "purple"}, "color"),
            ("PATCH", "/api/v1/leads/statuses/RESCHEDULED", {"label": " "}, "label"),
            ("PATCH", "/api/v1/leads/statuses/LOST", {"color": "#000000"}, "status"),
            ("PUT", "/api/v1/leads/statuses/order", {"statuses": order[:-1]}, "statuses"),
            ("PUT", "/api/v1/leads/statuses/order", {"statuses": [*order[:-1], "LOST"]}, "statuses"),
        ]:
            refused = admin.http.request(method, path, json=body)
            assert refused.status_code == 422, (path, body, refused.text)
            assert refused.json()["errors"][0]["field"] == field, refused.text
        agent, _ = staff(stack, admin, "sales_agent")
        assert agent.http.get("/api/v1/leads/statuses").status_code == 200
        assert agent.http.patch("/api/v1/leads/statuses/RESCHEDULED", json={"color": "#000000"}).status_code == 403
    finally:  # the shared clinic back as it was for the other tests
        admin.http.patch("/api/v1/leads/statuses/RESCHEDULED", json={"clear_label": True, "reset_color": True})
        admin.http.put("/api/v1/leads/statuses/order", json={"statuses": keys})
    again = admin.http.get("/api/v1/leads/statuses").json()["items"]
    assert again == defaults


def test_delete_needs_admin_and_confirmation_and_is_audited(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    lead_id = admin.create_lead(phone=unique_phone())["id"]
    agent, _ = staff(stack, admin, "sales_agent")
    assert agent.http.delete(f"/api/v1/leads/{lead_id}", params={"confirm": True}).status_code == 403
    unconfirmed = admin.http.delete(f"/api/v1/leads/{lead_id}")
    assert unconfirmed.status_code == 422
    assert unconfirmed.json()["errors"][0]["field"] == "confirm"
    assert admin.http.delete(f"/api/v1/leads/{lead_id}", params={"confirm": True}).status_code == 204
    assert admin.http.get(f"/api/v1/leads/{lead_id}").status_code == 404
    trail = admin.http.get(f"/api/v1/leads/{lead_id}/audit").json()["items"]
    assert trail[-1]["action"] == "deleted"
    assert trail[-1]["changes"]["before"]["status"] == "PENDING_CONTACT"


def test_read_only_roles_cannot_write(stack: Stack, admin: Api, unique_phone: Callable[[], str]) -> None:
    doctor, _ = staff(stack, admin, "professional")
    lead_id = admin.create_lead(phone=unique_phone())["id"]
    assert doctor.http.get(f"/api/v1/leads/{lead_id}").status_code == 200
    assert doctor.http.patch(f"/api/v1/leads/{lead_id}", json={"city": "Rio"}).status_code == 403
    assert doctor.http.post(f"/api/v1/leads/{lead_id}/status", json={"status": "RESCHEDULED"}).status_code == 403
    assert doctor.http.put("/api/v1/leads/settings", json={"dedupe_window_days": 1}).status_code == 403


def test_another_clinic_sees_and_changes_nothing(
    admin: Api, other_clinic: Api, unique_phone: Callable[[], str]
) -> None:
    phone = unique_phone()
    lead: dict[str, Any] = admin.create_lead(name="Segredo Clínico", phone=phone)
    lead_id = lead["id"]
    for method, path, body in [
        ("GET", f"/api/v1/leads/{lead_id}", None),
        ("PATCH", f"/api/v1/leads/{lead_id}", {"city": "x"}),
        ("POST", f"/api/v1/leads/{lead_id}/status", {"status": "RESCHEDULED"}),
        ("POST", f"/api/v1/leads/{lead_id}/assign", {"owner_id": None}),
        ("GET", f"/api/v1/leads/{lead_id}/audit", None),
        ("GET", f"/api/v1/leads/{lead_id}/requests", None),
        ("POST", f"/api/v1/leads/{lead_id}/requests", {"reason": "x"}),
        ("DELETE", f"/api/v1/leads/{lead_id}?confirm=true", None),
    ]:
        answer = other_clinic.http.request(method, path, json=body)
        assert answer.status_code == 404, (method, path, answer.status_code)
    assert other_clinic.http.get("/api/v1/leads", params={"q": "Segredo Clínico"}).json()["total"] == 0
    assert other_clinic.http.get("/api/v1/leads", params={"q": phone}).json()["total"] == 0
    # the same person may be a lead of both clinics: no cross-clinic duplicate
    theirs = other_clinic.http.post(
        "/api/v1/leads", json={"name": "Segredo Clínico", "phone": phone, "source": "walk_in"}
    )
    assert theirs.status_code == 201
    assert admin.http.get(f"/api/v1/leads/{lead_id}").json()["city"] is None
