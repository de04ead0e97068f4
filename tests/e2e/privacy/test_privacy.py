"""Personal data end to end through the gateway, on the real stack (docs/privacy.md): a person with a lead,
a payment, an appointment and messages -> consent given and withdrawn (notifications holds the message back) ->
an export request answered by leads, scheduling, payments, notifications and analytics through events -> the
archive behind a signed single-use link contains all of it -> erasure -> every service's API shows the person
anonymised, the paid fiscal records retained. Plus the 4xx: unknown person, another clinic's person, no role,
bad input."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import text

from contracts import from_headers, spec_for
from contracts.leads import LeadCreatedV1
from contracts.privacy import ANSWERING_SERVICES
from contracts.topics import LEADS, SCHEDULING
from devkit.stack import Stack
from kit.db import make_engine
from kit.personal import PREFIX
from tests.e2e.clinic import add_branch, add_procedure, add_professional, free_times, ok
from tests.e2e.conftest import Api, opened, staff, wait_until

pytestmark = pytest.mark.e2e
API = "/api/v1/privacy"
SP = ZoneInfo("America/Sao_Paulo")


def problem(answer: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    if field is not None:
        assert field in [e["field"] for e in body.get("errors", [])] or body.get("field") == field, body
    return body


def notifications_consent_rows(stack: Stack, phone: str) -> int:
    """Rows of notifications' consent copy about a phone (it learns them from consent.* events)."""

    async def read() -> int:
        engine = make_engine(stack.database_url("notifications"), pool_size=1)
        try:
            async with engine.connect() as conn:
                found = await conn.execute(text("SELECT count(*) FROM privacy_consents WHERE phone = :p"), {"p": phone})
                return int(found.scalar_one())
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def events_on_broker(stack: Stack, topic: str, key: str) -> list[tuple[Any, Any]]:
    """(meta, payload as published) of every record of `key` on `topic`, read raw from the broker."""

    async def read() -> list[tuple[Any, Any]]:
        assert stack.infra is not None
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=stack.infra.kafka_bootstrap, auto_offset_reset="earliest",
            enable_auto_commit=False, group_id=None,
        )  # fmt: skip
        await consumer.start()
        found: list[tuple[Any, Any]] = []
        try:
            while batch := await consumer.getmany(timeout_ms=1500):
                for records in batch.values():
                    for record in records:
                        if record.key == key.encode():
                            meta = from_headers(list(record.headers))
                            found.append((meta, msgspec.json.decode(record.value, type=spec_for(meta.type).struct)))
        finally:
            await consumer.stop()
        return found

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def opened_by_a_new_reader(stack: Stack, events: list[tuple[Any, Any]]) -> list[Any]:
    """The events as a consumer that has cached no key opens them, through privacy's key store."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, opened(stack, [(event, meta) for meta, event in events])).result()


def open_request(api: Api, kind: str, **subject: Any) -> dict[str, Any]:
    """Open a request once privacy knows the person (it learns leads from their events a moment later)."""

    def attempt() -> dict[str, Any] | None:
        answer = api.http.post(f"{API}/requests", json={"kind": kind, "subject": subject})
        if answer.status_code == 404:
            return None
        return ok(answer, 201)  # type: ignore[no-any-return]

    return wait_until(attempt, 30, f"privacy never learnt of {subject}")  # type: ignore[no-any-return]


def finished(api: Api, request_id: str) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        found: dict[str, Any] = ok(api.http.get(f"{API}/requests/{request_id}"))
        return found if found["status"] == "completed" else None

    return check


def test_a_person_is_exported_and_erased_across_the_services(
    stack: Stack, admin: Api, other_clinic: Api, unique_phone: Callable[[], str]
) -> None:
    phone = unique_phone()
    email = f"maria-{uuid.uuid4().hex[:6]}@example.com"
    lead = admin.create_lead(name="Maria Privacidade", phone=phone, email=email, source="instagram")
    lead_id = lead["id"]
    # payments: a payment link for her
    charge = ok(
        admin.http.post(
            "/api/v1/payments/payments",
            json={
                "person": {"lead_id": lead_id, "name": "Maria Privacidade", "phone": phone, "email": email},
                "description": "Limpeza de pele",
                "amount": "350.00",
                "methods": ["pix"],
            },
        ),
        201,
    )
    # scheduling: an appointment
    branch = add_branch(admin, "Privacidade")
    pro = add_professional(admin, branch, "Dra. Lia")
    procedure = add_procedure(admin, f"Avaliação {uuid.uuid4().hex[:4]}")
    day = datetime.now(SP).date() + timedelta(days=2)
    slot = next(
        s for s in free_times(admin, branch["id"], procedure["id"], day, pro["id"]) if s["local"].endswith("10:00")
    )
    appointment = ok(
        admin.http.post(
            "/api/v1/scheduling/appointments",
            json={
                "branch_id": branch["id"],
                "procedure_id": procedure["id"],
                "professional_id": pro["id"],
                "starts_at": slot["starts_at"],
                "person": {"lead_id": lead_id, "name": "Maria Privacidade", "phone": phone, "locale": "pt-BR"},
            },
        ),
        201,
    )
    # notifications: the welcome message (lead.created) and the booking's message
    wait_until(lambda: admin.messages(lead_id), 30, "no message was queued for the lead")

    # --- consent: given, withdrawn, the history kept -------------------------------------------
    given = ok(
        admin.http.post(
            f"{API}/consents",
            json={
                "lead_id": lead_id,
                "purpose": "marketing",
                "channel": "whatsapp",
                "source": "console",
                "text": "Aceito receber novidades da clínica pelo WhatsApp.",
            },
        ),
        201,
    )
    assert (given["granted"], given["person_key"]) == (True, f"lead:{lead_id}")
    ok(
        admin.http.post(
            f"{API}/consents/withdraw", json={"lead_id": lead_id, "purpose": "marketing", "channel": "any"}
        ),
        201,
    )
    person = ok(admin.http.get(f"{API}/consents/person", params={"lead_id": lead_id}))
    assert [(c["purpose"], c["channel"], c["granted"]) for c in person["history"]] == [
        ("marketing", "whatsapp", True),
        ("marketing", "any", False),
    ]
    problem(admin.http.post(f"{API}/consents", json={"lead_id": lead_id, "purpose": "spam"}), 422, "purpose")
    problem(admin.http.post(f"{API}/consents", json={"lead_id": lead_id, "purpose": "marketing"}), 422, "text")

    # --- 4xx: unknown person, another clinic's, no role, bad identifiers ---------------------------
    problem(
        admin.http.post(f"{API}/requests", json={"kind": "export", "subject": {"lead_ids": [str(uuid.uuid4())]}}), 404
    )
    problem(other_clinic.http.post(f"{API}/requests", json={"kind": "export", "subject": {"lead_ids": [lead_id]}}), 404)
    reception, _ = staff(stack, admin, "reception")
    problem(reception.http.post(f"{API}/requests", json={"kind": "export", "subject": {"lead_ids": [lead_id]}}), 403)
    problem(reception.http.get(f"{API}/requests"), 403)
    problem(admin.http.post(f"{API}/requests", json={"kind": "export", "subject": {"cpfs": ["123.456.789-00"]}}), 422)
    problem(admin.http.post(f"{API}/requests", json={"kind": "everything", "subject": {"lead_ids": [lead_id]}}), 422)

    # --- export ------------------------------------------------------------------------------------
    export = open_request(admin, "export", lead_ids=[lead_id])
    assert export["status"] == "in_progress"
    assert sorted(p["service"] for p in export["parts"]) == sorted(ANSWERING_SERVICES)
    due = datetime.fromisoformat(export["due_at"]) - datetime.fromisoformat(export["requested_at"])
    assert due == timedelta(days=15)  # LGPD: the clinic is in Brazil
    assert phone in export["subject"]["phones"]  # privacy added what it knows of the person
    done = wait_until(finished(admin, export["id"]), 60, "the services never answered the export")
    assert done["archive_ready"]
    assert {p["service"]: p["status"] for p in done["parts"]} == dict.fromkeys(ANSWERING_SERVICES, "ready")
    problem(other_clinic.http.post(f"{API}/requests/{export['id']}/link"), 404)
    link = ok(admin.http.post(f"{API}/requests/{export['id']}/link"), 201)
    public = httpx.Client(timeout=20.0)
    archive = public.get(link["url"])
    assert archive.status_code == 200, archive.text
    assert archive.headers["content-type"] == "application/zip"
    files = zipfile.ZipFile(io.BytesIO(archive.content))
    parts = {name: json.loads(files.read(name)) for name in files.namelist()}
    assert set(parts) == {"manifest.json", *(f"{service}.json" for service in ANSWERING_SERVICES)}
    assert parts["manifest.json"]["law"] == "LGPD"
    assert [r["name"] for r in parts["leads.json"]["data"]["leads"]] == ["Maria Privacidade"]
    assert [r["id"] for r in parts["scheduling.json"]["data"]["appointments"]] == [appointment["id"]]
    assert [r["id"] for r in parts["payments.json"]["data"]["charges"]] == [charge["id"]]
    to_her = [m for m in parts["notifications.json"]["data"]["messages"] if m["recipient"] == "person"]
    assert to_her
    assert {m["to"] for m in to_her} <= {phone, email}
    # single use: the second open is refused, and a forged token too
    problem(public.get(link["url"]), 410)
    problem(public.get(link["url"][:-4] + "abcd"), 403)

    # --- the event log: her personal fields travel sealed with her key ------------------------------
    published = events_on_broker(stack, LEADS.name, lead_id)
    created = [e for m, e in published if m.type == LeadCreatedV1.TYPE]
    assert created
    assert created[0].name.startswith(PREFIX)
    assert created[0].phone.startswith(PREFIX)
    assert "Privacidade" not in msgspec.json.encode([e for _, e in published]).decode()
    booked_events = events_on_broker(stack, SCHEDULING.name, appointment["id"])
    assert booked_events
    assert booked_events[0][1].person.name.startswith(PREFIX)
    assert [e.name for e in opened_by_a_new_reader(stack, published) if isinstance(e, LeadCreatedV1)] == [
        "Maria Privacidade"
    ]

    # --- erasure -----------------------------------------------------------------------------------
    erasure = open_request(admin, "erasure", lead_ids=[lead_id])
    wait_until(finished(admin, erasure["id"]), 60, "the services never answered the erasure")
    erased = ok(admin.http.get(f"{API}/requests/{erasure['id']}"))
    by_service = {p["service"]: p for p in erased["parts"]}
    assert {s: p["status"] for s, p in by_service.items()} == dict.fromkeys((*ANSWERING_SERVICES, "privacy"), "erased")
    assert by_service["privacy"]["counts"]["keys_shredded"] >= 1
    # her old events no longer open: the same records now read as erased, their ids and amounts intact
    reopened = opened_by_a_new_reader(stack, published)
    assert [(e.name, e.phone, e.lead_id) for e in reopened if isinstance(e, LeadCreatedV1)] == [
        ("[erased]", "", lead_id)
    ]
    (_, first_booked), *_ = booked_events
    (booked_again,) = opened_by_a_new_reader(stack, booked_events[:1])
    assert (booked_again.person.name, booked_again.person.lead_id) == ("[erased]", first_booked.person.lead_id)
    seen = ok(admin.http.get(f"/api/v1/leads/{lead_id}"))
    assert seen["name"] == "Erased person"
    assert not seen.get("email")
    assert phone not in json.dumps(seen)
    booked = ok(admin.http.get(f"/api/v1/scheduling/appointments/{appointment['id']}"))
    assert "Maria Privacidade" not in json.dumps(booked)
    assert phone not in json.dumps(booked)
    paid = ok(admin.http.get(f"/api/v1/payments/payments/{charge['id']}"))
    assert "Maria Privacidade" not in json.dumps(paid)
    assert email not in json.dumps(paid)
    assert paid["amount"] == charge["amount"]  # amounts stay: revenue is unchanged
    for message in admin.messages(lead_id):
        assert phone not in json.dumps(message)
        assert "Maria" not in json.dumps(message)


def test_a_withdrawn_consent_holds_the_message_back_at_once(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    """Marketing withdrawn for a phone before the person's lead exists: the welcome message is not sent."""
    phone = unique_phone()
    ok(
        admin.http.post(f"{API}/consents/withdraw", json={"phone": phone, "purpose": "marketing", "channel": "any"}),
        201,
    )
    wait_until(lambda: notifications_consent_rows(stack, phone), 30, "notifications never learnt the withdrawal")
    lead = admin.create_lead(name="Rita Sem Marketing", phone=phone, source="instagram")

    def outcome() -> list[dict[str, Any]] | None:
        found = [m for m in admin.messages(lead["id"]) if m["status"] in ("sent", "delivered", "failed", "read")]
        return found or None

    messages = wait_until(outcome, 30, "the welcome message was never settled")
    assert {m["status"] for m in messages} == {"failed"}, messages
    assert all("opted out" in (m.get("last_error") or "") for m in messages), messages


def test_opening_a_lead_through_the_gateway_is_in_the_read_audit(admin: Api, unique_phone: Callable[[], str]) -> None:
    lead = admin.create_lead(name="Clara Auditada", phone=unique_phone(), source="instagram")
    ok(admin.http.get(f"/api/v1/leads/{lead['id']}", headers={"x-purpose": "treatment"}))
    me = ok(admin.http.get("/api/v1/me"))

    def audited() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = ok(admin.http.get(f"{API}/audit/reads", params={"record_id": lead["id"]}))[
            "items"
        ]
        return found

    entries = wait_until(audited, 30, "the gateway's record.read never reached the audit")
    assert [(e["record_kind"], e["purpose"], e["actor_id"]) for e in entries] == [("lead", "treatment", me["id"])]


def test_the_read_audit_and_the_clinic_settings(admin: Api, other_clinic: Api) -> None:
    record = str(uuid.uuid4())
    ok(
        admin.http.post(
            f"{API}/audit/reads",
            json={"record_kind": "anamnesis", "record_id": record, "purpose": "treatment", "path": "/desk"},
        ),
        201,
    )
    found = ok(admin.http.get(f"{API}/audit/reads", params={"record_id": record}))
    assert [(e["record_kind"], e["purpose"]) for e in found["items"]] == [("anamnesis", "treatment")]
    assert ok(other_clinic.http.get(f"{API}/audit/reads", params={"record_id": record}))["items"] == []
    problem(admin.http.post(f"{API}/audit/reads", json={"record_kind": "diary", "record_id": "x", "path": "/"}), 422)
    clinic = ok(admin.http.get(f"{API}/clinic"))
    assert (clinic["country"], clinic["region"], clinic["law"], clinic["response_days"]) == ("BR", "br", "LGPD", 15)
    rule = ok(admin.http.put(f"{API}/retention/read_audit", json={"days": 730}))
    assert rule["days"] == 730
    problem(admin.http.put(f"{API}/retention/everything", json={"days": 10}), 422, "kind")
