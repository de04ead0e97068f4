"""The journey of issue 2 through real servers: gateway -> leads -> Kafka -> notifications -> provider."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api, Sandbox, wait_until

pytestmark = pytest.mark.e2e


def test_new_lead_gets_one_welcome_message_within_five_seconds(
    admin: Api, sandbox: Sandbox, unique_phone: Callable[[], str]
) -> None:
    phone = unique_phone()
    started = time.monotonic()
    lead = admin.create_lead(name="Maria  Souza", phone=phone, source="instagram")
    assert lead["phone"] == phone
    assert lead["status"] == "PENDING_CONTACT"
    assert lead["name"] == "Maria Souza"

    received = wait_until(lambda: sandbox.received(phone), 5.0, "the welcome message did not reach the provider")
    wait_until(
        lambda: [m for m in admin.messages(lead["id"]) if m["status"] == "sent"],
        5.0 - (time.monotonic() - started) + 1,
        "the message is not shown as sent",
    )
    time.sleep(1.0)  # anything doubled would arrive by now
    received = sandbox.received(phone)
    assert len(received) == 1
    # Maria never wrote to the clinic, so WhatsApp's 24-hour window is closed: the approved template goes out.
    assert received[0]["type"] == "template"
    assert received[0]["template"] == {"name": "lead_welcome", "language": "pt_BR", "params": ["Maria"]}
    messages = admin.messages(lead["id"])
    assert [m["status"] for m in messages] == ["sent"]
    assert messages[0]["body"].startswith("Olá, Maria!")
    assert messages[0]["provider_message_id"] == received[0]["id"]


def test_message_uses_the_leads_language_and_the_clinics_own_template(
    admin: Api, sandbox: Sandbox, unique_phone: Callable[[], str]
) -> None:
    answer = admin.http.put(
        "/api/v1/notifications/templates/lead_welcome/ru",
        json={"body": "Добрый день, {{ first_name }}! Клиника «Здоровье» на связи."},
    )
    assert answer.status_code == 200, answer.text
    try:
        phone = unique_phone()
        lead = admin.create_lead(name="Ольга Иванова", phone=phone, source="telegram", locale="ru")
        received = wait_until(lambda: sandbox.received(phone), 10.0, "no message")
        assert received[0]["template"]["language"] == "ru"
        assert received[0]["template"]["params"] == ["Ольга"]
        sent = wait_until(lambda: [m for m in admin.messages(lead["id"]) if m["status"] == "sent"], 10.0, "not sent")
        assert sent[0]["body"] == "Добрый день, Ольга! Клиника «Здоровье» на связи."
        phone_es = unique_phone()
        lead_es = admin.create_lead(name="Lucía Pérez", phone=phone_es, source="google_search", locale="es")
        assert wait_until(lambda: sandbox.received(phone_es), 10.0, "no message")[0]["template"]["language"] == "es"
        sent_es = wait_until(lambda: [m for m in admin.messages(lead_es["id"]) if m["status"] == "sent"], 10.0, "no")
        assert sent_es[0]["body"].startswith("¡Hola, Lucía!")
    finally:
        assert admin.http.delete("/api/v1/notifications/templates/lead_welcome/ru").status_code == 204


def test_broken_template_is_refused_with_a_problem(admin: Api) -> None:
    answer = admin.http.put("/api/v1/notifications/templates/lead_welcome/en", json={"body": "Hi {{ nme }"})
    assert answer.status_code == 422
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert problem["errors"][0]["field"] == "body"


def test_provider_outage_is_retried_until_sent(admin: Api, sandbox: Sandbox, unique_phone: Callable[[], str]) -> None:
    sandbox.fail_next(2, status=503)
    phone = unique_phone()
    lead = admin.create_lead(phone=phone)
    wait_until(lambda: sandbox.received(phone), 20.0, "never delivered after the provider recovered")
    message = wait_until(lambda: [m for m in admin.messages(lead["id"]) if m["status"] == "sent"], 10.0, "not sent")
    assert message[0]["attempts"] == 3
    assert len(sandbox.received(phone)) == 1


def test_auth_endpoints(stack: Stack, admin: Api) -> None:
    http = httpx.Client(base_url=stack.gateway_url, timeout=10.0)
    jwks = http.get("/.well-known/jwks.json").json()
    assert jwks["keys"][0]["kty"] == "OKP"
    assert jwks["keys"][0]["alg"] == "EdDSA"
    assert "d" not in jwks["keys"][0]  # never the private part

    me = admin.http.get("/api/v1/me").json()
    assert "crm:admin" in me["permissions"]
    assert me["tenant"]["country"] == "BR"

    refreshed = http.post("/api/v1/auth/refresh", json={"refresh_token": admin.tokens["refresh_token"]})
    assert refreshed.status_code == 200
    assert refreshed.json()["token_type"] == "bearer"
    reused = http.post("/api/v1/auth/refresh", json={"refresh_token": admin.tokens["refresh_token"]})
    assert reused.status_code == 401  # rotation: an old refresh token is dead, and kills its family
    assert (
        http.post("/api/v1/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]}).status_code == 401
    )

    wrong = http.post("/api/v1/auth/login", json={"email": "admin@clinicflow.local", "password": "nope-nope-nope"})
    assert wrong.status_code == 401
    assert wrong.json()["title"]
    assert http.get("/api/v1/me").status_code == 401
    assert http.get("/api/v1/me", headers={"authorization": "Bearer not.a.jwt"}).status_code == 401


def test_login_is_rate_limited(stack: Stack) -> None:
    http = httpx.Client(base_url=stack.gateway_url, timeout=10.0)
    body = {"email": "nobody@example.com", "password": "wrong-password"}
    codes = [http.post("/api/v1/auth/login", json=body).status_code for _ in range(12)]
    assert codes[:10] == [401] * 10
    assert codes[10] == 429
    limited = http.post("/api/v1/auth/login", json=body)
    assert int(limited.headers["retry-after"]) > 0


def test_clinics_are_isolated(stack: Stack, admin: Api, unique_phone: Callable[[], str]) -> None:
    clinic = admin.http.post(
        "/api/v1/clinics",
        json={
            "name": "Clínica Sorriso",
            "country": "ES",
            "locale": "es",
            "timezone": "Europe/Madrid",
            "admin": {
                "email": "dueña@sorriso.example",
                "full_name": "Elena",
                "password": "una-clave-larga",
                "roles": ["admin"],
            },
        },
    )
    assert clinic.status_code == 201, clinic.text
    other = Api(stack, "dueña@sorriso.example", "una-clave-larga")
    mine = admin.create_lead(phone=unique_phone())

    assert other.http.get(f"/api/v1/leads/{mine['id']}").status_code == 404
    assert mine["id"] not in {x["id"] for x in other.http.get("/api/v1/leads").json()["items"]}
    assert other.messages(mine["id"]) == []
    # the Spanish clinic's phones default to region ES
    theirs = other.create_lead(name="Jorge", phone="612 345 678", source="walk_in")
    assert theirs["phone"] == "+34612345678"
    assert admin.http.get(f"/api/v1/leads/{theirs['id']}").status_code == 404
    # and it may not open clinics
    assert other.http.post("/api/v1/clinics", json={}).status_code in (400, 403)


def test_bad_input_gets_problem_details(admin: Api) -> None:
    cases = [
        ({"name": "Ana", "phone": "12345", "source": "whatsapp"}, 422, "phone"),
        ({"name": "Ana", "phone": "+5511912345678", "source": "carrier-pigeon"}, 422, "source"),
        ({"name": "Ana", "phone": "+5511912345678", "source": "whatsapp", "email": "not-mail"}, 422, "email"),
        ({"name": "Ana", "phone": "+5511912345678", "source": "whatsapp", "locale": "fr"}, 422, "locale"),
        ({"name": "Ana", "source": "whatsapp"}, 422, "phones"),
        ({"name": "Ana", "phone": 5511912345678, "source": "whatsapp"}, 400, "phone"),
    ]
    for body, status, field in cases:
        answer = admin.http.post("/api/v1/leads", json=body)
        assert answer.status_code == status, (body, answer.text)
        problem = answer.json()
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert problem["status"] == status
        assert field in {e["field"] for e in problem["errors"]}, problem
    assert admin.http.get("/api/v1/leads/00000000-0000-7000-8000-000000000000").status_code == 404
    assert admin.http.get("/api/v1/leads/not-a-uuid").status_code in (400, 404)
    assert (
        admin.http.post("/api/v1/leads", content=b"{not json", headers={"content-type": "application/json"}).status_code
        == 400
    )
    assert admin.http.get("/api/v1/leads", params={"limit": 0}).status_code == 400


def test_permissions_are_enforced(stack: Stack, admin: Api, unique_phone: Callable[[], str]) -> None:
    made = admin.http.post(
        "/api/v1/staff",
        json={
            "email": f"doc{unique_phone()[-6:]}@clinic.example",
            "full_name": "Dr. Paulo",
            "password": "a-long-password",
            "roles": ["professional"],
        },
    )
    assert made.status_code == 201, made.text
    doctor = Api(stack, made.json()["email"], "a-long-password")
    assert doctor.http.get("/api/v1/leads").status_code == 200  # crm:read
    denied = doctor.http.post("/api/v1/leads", json={"name": "X", "phone": unique_phone(), "source": "walk_in"})
    assert denied.status_code == 403
    assert "crm:write" in denied.json()["detail"]
    assert doctor.http.put("/api/v1/notifications/templates/lead_welcome/en", json={"body": "x"}).status_code == 403


def test_health_metrics_and_docs(stack: Stack) -> None:
    with httpx.Client(timeout=10.0) as http:
        for name in stack.specs:
            assert http.get(f"{stack.url(name)}/health/live").status_code == 200
            ready = http.get(f"{stack.url(name)}/health/ready")
            assert ready.status_code == 200, (name, ready.text)
        metrics = http.get(f"{stack.url('leads-api')}/metrics").text
        assert (
            'clinicflow_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/api/v1/leads",' in metrics
            or 'route="/api/v1/leads"' in metrics
        )
        worker = http.get(f"{stack.url('leads-worker')}/metrics").text
        assert "clinicflow_outbox_backlog" in worker
        assert "clinicflow_events_published_total" in worker
        assert http.get(f"{stack.gateway_url}/schema/openapi.json").json()["info"]["title"] == "ClinicFlow API"
        assert "/api/v1/leads" in http.get(f"{stack.url('leads-api')}/schema/openapi.json").json()["paths"]


def test_correlation_id_flows_from_http_into_events(admin: Api, unique_phone: Callable[[], str]) -> None:
    answer = admin.http.post(
        "/api/v1/leads",
        json={"name": "Rita", "phone": unique_phone(), "source": "walk_in"},
        headers={"x-correlation-id": "trace-me-123"},
    )
    assert answer.status_code == 201
    assert answer.headers["x-correlation-id"] == "trace-me-123"
    # notifications learnt it from the lead.created event's ce_correlationid header
    sent = wait_until(
        lambda: [m for m in admin.messages(answer.json()["id"]) if m["status"] == "sent"], 10.0, "not sent"
    )
    assert sent[0]["correlation_id"] == "trace-me-123"
