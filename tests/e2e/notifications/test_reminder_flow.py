"""The reminder path through the running system: reminder.due on the broker -> WhatsApp with buttons at the
sandbox -> the sandbox posts a signed "Confirm" tap to the gateway -> message.received on the broker ->
appointment.confirmed -> the staff's in-app notification on the live stream."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contracts import Event, EventMeta, from_headers, to_headers
from contracts.notifications import MessageReceivedV1
from contracts.people import Person
from contracts.scheduling import AppointmentConfirmedV1, ReminderAction, ReminderDueV1
from contracts.topics import NOTIFICATIONS
from devkit.stack import Stack
from kit.context import new_id
from tests.e2e.conftest import Api, Sandbox, opened, staff, wait_until

pytestmark = pytest.mark.e2e


def publish(stack: Stack, tenant_id: str, event: Event) -> None:
    """Publish a contract event the way its producer's relay would (kit's producer settings)."""
    assert stack.infra is not None
    meta = EventMeta(
        id=new_id(),
        source="clinicflow/scheduling",
        type=event.TYPE,
        time=datetime.now(UTC),
        subject=event.aggregate_id(),
        tenant_id=tenant_id,
        correlation_id=new_id(),
    )

    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=stack.infra.kafka_bootstrap, acks="all")  # type: ignore[union-attr]
        await producer.start()
        try:
            await producer.send_and_wait(
                event.TOPIC, msgspec.json.encode(event), key=event.aggregate_id().encode(), headers=to_headers(meta)
            )
        finally:
            await producer.stop()

    asyncio.run(send())


def received_on_broker(stack: Stack, match: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
    """The first message.received event on the notifications topic that `match` accepts."""
    assert stack.infra is not None

    async def read() -> dict[str, Any]:
        consumer = AIOKafkaConsumer(
            NOTIFICATIONS.name,
            bootstrap_servers=stack.infra.kafka_bootstrap,  # type: ignore[union-attr]
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for records in (await consumer.getmany(timeout_ms=500)).values():
                        for r in records:
                            meta = from_headers(list(r.headers))
                            if not meta.type.endswith("message.received.v1"):
                                continue
                            event = msgspec.json.decode(r.value, type=MessageReceivedV1)
                            (event,) = await opened(stack, [(event, meta)])  # as notifications' consumers see it
                            body = msgspec.to_builtins(event)
                            if match(body):
                                return {"meta": meta, **body}
        finally:
            await consumer.stop()

    return asyncio.run(read())


class EventStream:
    """A staff screen: reads the server-sent events of /api/v1/notifications/inapp/stream in a thread."""

    def __init__(self, url: str, token: str) -> None:
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.opened = threading.Event()
        self._stop = False
        self._thread = threading.Thread(target=self._run, args=(url, token), daemon=True)
        self._thread.start()

    def _run(self, url: str, token: str) -> None:
        try:
            self._read(url, token)
        except httpx.HTTPError:
            if not self._stop:  # the server went away while the screen still listened
                raise

    def _read(self, url: str, token: str) -> None:
        headers = {"authorization": f"Bearer {token}", "accept": "text/event-stream"}
        with (
            httpx.Client(timeout=httpx.Timeout(60.0, connect=5.0)) as client,
            client.stream("GET", url, headers=headers) as r,
        ):
            assert r.status_code == 200, r.read()
            assert r.headers["content-type"].startswith("text/event-stream")
            self.opened.set()
            kind, data = "message", ""
            for line in r.iter_lines():
                if self._stop:
                    return
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data += line[5:].strip()
                elif not line and data:
                    self.events.put((kind, json.loads(data)))
                    kind, data = "message", ""

    def next(self, kind: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            got, data = self.events.get(timeout=max(deadline - time.monotonic(), 0.01))
            if got == kind:
                return data

    def close(self) -> None:
        self._stop = True


def test_reminder_tap_confirmation_reaches_the_staff_stream(
    stack: Stack, admin: Api, sandbox: Sandbox, unique_phone: Callable[[], str]
) -> None:
    tenant_id = admin.http.get("/api/v1/me").json()["tenant"]["id"]
    reception, _ = staff(stack, admin, "reception")
    phone, appointment = unique_phone(), new_id()
    person = Person(lead_id=new_id(), patient_id=new_id(), name="Beatriz Nunes", phone=phone, locale="pt-BR")
    starts = datetime.now(UTC) + timedelta(days=1)
    confirm, reschedule = f"appt:{appointment}:confirm", f"appt:{appointment}:reschedule"
    reminder = ReminderDueV1(
        appointment_id=appointment,
        person=person,
        reminder_id=new_id(),
        offset_minutes=1440,
        starts_at=starts,
        timezone="America/Sao_Paulo",
        branch_name="Moema",
        professional_name="Dra. Ana Lima",
        procedure_name="Limpeza de pele",
        due_at=datetime.now(UTC),
        actions=[
            ReminderAction(id=confirm, kind="confirm", url="https://clinic.example/p/c"),
            ReminderAction(id=reschedule, kind="reschedule", url="https://clinic.example/p/r"),
        ],
    )
    # Through the gateway, as a staff screen connects: the proxy relays the event stream unbuffered.
    stream = EventStream(f"{stack.gateway_url}/api/v1/notifications/inapp/stream", reception.tokens["access_token"])
    try:
        assert stream.opened.wait(20), "the live stream did not open"
        assert stream.next("unread", 10)["unread"] >= 0
        publish(stack, tenant_id, reminder)

        (sent,) = wait_until(lambda: sandbox.received(phone), 20.0, "the reminder did not reach WhatsApp")
        assert sent["type"] == "template"  # never wrote to the clinic: the approved template, with its buttons
        assert sent["template"]["name"] == "appointment_reminder"
        assert [b["id"] for b in sent["buttons"]] == [confirm, reschedule]

        # A forged tap is refused and leaves nothing behind.
        forged = sandbox.http.post(
            "/sandbox/whatsapp/inbound", json={"reply_to": sent["id"], "button_id": confirm, "forge": True}
        ).json()
        assert forged["status"] == 401
        tap = sandbox.http.post(
            "/sandbox/whatsapp/inbound",
            json={"reply_to": sent["id"], "button_id": confirm, "button_title": "Confirmar"},
        ).json()
        assert tap["status"] == 200, tap

        event = received_on_broker(stack, lambda b: b.get("button_id") == confirm)
        assert event["channel"] == "whatsapp"
        assert event["sender"] == phone
        assert event["lead_id"] == person.lead_id
        assert event["provider_message_id"] == tap["message_id"]
        ours = wait_until(
            lambda: [m for m in admin.messages(person.lead_id or "") if m["provider_message_id"] == sent["id"]],
            10.0,
            "the reminder is not listed",
        )
        assert event["reply_to_message_id"] == ours[0]["id"]
        assert event["meta"].tenant_id == tenant_id

        # Scheduling confirms the appointment (published here: that service is built in parallel).
        confirmed = AppointmentConfirmedV1(
            appointment_id=appointment, person=person, starts_at=starts, via="whatsapp", confirmed_at=datetime.now(UTC)
        )
        publish(stack, tenant_id, confirmed)
        note = stream.next("notification", 30)
        assert note["audience"] == "role:reception"
        assert "Beatriz Nunes" in note["body"]
    finally:
        stream.close()

    unread = reception.http.get("/api/v1/notifications/inapp/unread").json()["unread"]
    assert unread >= 1
    listed = reception.http.get("/api/v1/notifications/inapp", params={"unread": "true"}).json()["items"]
    assert note["id"] in [i["id"] for i in listed]
    assert reception.http.post("/api/v1/notifications/inapp/read", json={"ids": [note["id"]]}).json() == {"marked": 1}

    # The conversation holds both sides; the escalation steps were cancelled by the confirmation.
    (conv,) = admin.http.get("/api/v1/notifications/conversations", params={"lead_id": person.lead_id}).json()["items"]
    detail = admin.http.get(f"/api/v1/notifications/conversations/{conv['id']}").json()
    assert [(i["direction"], i["channel"]) for i in detail["items"]] == [("out", "whatsapp"), ("in", "whatsapp")]
    assert detail["items"][1]["button_id"] == confirm
    statuses = {m["rule"]: m["status"] for m in admin.messages(person.lead_id or "")}
    assert statuses == {
        "reminder": "sent",
        "reminder-sms": "cancelled",
        "reminder-call-task": "cancelled",
        "staff-patient-confirmed": "sent",
    }

    # The person wrote, so the 24-hour window is open: staff reply with free text.
    reply = admin.http.post(f"/api/v1/notifications/conversations/{conv['id']}/messages", json={"text": "Até amanhã!"})
    assert reply.status_code == 201, reply.text
    texts = wait_until(lambda: [m for m in sandbox.received(phone) if m["type"] == "text"], 15.0, "reply not sent")
    assert texts[0]["body"] == "Até amanhã!"


def test_webhook_verification_signatures_and_stop(
    stack: Stack, admin: Api, sandbox: Sandbox, unique_phone: Callable[[], str]
) -> None:
    verify = stack._dev_secret("whatsapp-verify-token")
    gateway = httpx.Client(base_url=stack.gateway_url, timeout=10.0)
    ok = gateway.get(
        "/webhooks/whatsapp",
        params={"hub.mode": "subscribe", "hub.verify_token": verify, "hub.challenge": "1158201444"},
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    wrong = gateway.get(
        "/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "no", "hub.challenge": "1"}
    )
    assert wrong.status_code == 403
    assert (
        gateway.post("/webhooks/whatsapp", content=b"{}", headers={"x-hub-signature-256": "sha256=00"}).status_code
        == 401
    )
    assert (
        gateway.post(
            "/webhooks/telegram", json={"update_id": 1}, headers={"x-telegram-bot-api-secret-token": "wrong"}
        ).status_code
        == 401
    )
    forged_sms = sandbox.http.post("/sandbox/sms/inbound", json={"sender": unique_phone(), "body": "oi", "forge": True})
    assert forged_sms.json()["status"] == 401

    # The clinic connects its WhatsApp number; a STOP from a person opts them out of WhatsApp.
    connect = admin.http.put("/api/v1/notifications/channels/whatsapp", json={"account_id": "100000000000001"})
    assert connect.status_code == 200, connect.text
    phone = unique_phone()
    stop = sandbox.http.post("/sandbox/whatsapp/inbound", json={"sender": phone, "text": "PARAR"}).json()
    assert stop["status"] == 200, stop
    answer = admin.http.get("/api/v1/notifications/opt-outs")
    assert answer.status_code == 200, answer.text
    opted = answer.json()["items"]
    assert {"channel": "whatsapp", "address": phone} in [
        {"channel": o["channel"], "address": o["address"]} for o in opted
    ]
    # A new lead with that number gets no WhatsApp (the welcome rule has no other channel: it fails, visibly).
    lead = admin.create_lead(name="Caio Prado", phone=phone, source="whatsapp")
    failed = wait_until(lambda: [m for m in admin.messages(lead["id"]) if m["status"] == "failed"], 20.0, "not failed")
    assert "opted out" in failed[0]["last_error"]
    assert sandbox.received(phone) == []


def test_rules_templates_and_settings_api(admin: Api) -> None:
    rules = admin.http.get("/api/v1/notifications/rules").json()
    keys = {r["key"] for r in rules["items"]}
    assert {
        "welcome",
        "payment-link",
        "payment-receipt",
        "payment-nudge",
        "booking-confirmation",
        "reminder",
        "staff-patient-confirmed",
        "anamnesis-link",
    } <= keys
    bad = admin.http.put(
        "/api/v1/notifications/rules/clinic-vip",
        json={
            "event_type": "lead.status_changed",
            "template": "lead_welcome",
            "channels": ["inapp"],
            "recipient": "role:janitor",
        },
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "recipient"
    made = admin.http.put(
        "/api/v1/notifications/rules/clinic-qualified",
        json={
            "event_type": "lead.status_changed",
            "conditions": {"to_status": "QUALIFIED"},
            "template": "lead_welcome",
            "channels": ["whatsapp", "sms"],
            "recipient": "person",
        },
    )
    assert made.status_code == 200, made.text
    off = admin.http.put("/api/v1/notifications/rules/clinic-qualified/enabled", json={"enabled": False})
    assert off.json()["enabled"] is False
    assert admin.http.delete("/api/v1/notifications/rules/clinic-qualified").status_code == 204

    preview = admin.http.post("/api/v1/notifications/templates/appointment_reminder/es/preview", json={})
    assert preview.status_code == 200, preview.text
    assert [b["title"] for b in preview.json()["buttons"]] == ["Confirmar", "Reprogramar"]
    email = admin.http.put(
        "/api/v1/notifications/templates/payment_receipt/en",
        params={"channel": "email"},
        json={"body": "Thanks {{ first_name }}: {{ currency }} {{ amount }}", "subject": "Receipt"},
    )
    assert email.status_code == 200, email.text
    shown = admin.http.post(
        "/api/v1/notifications/templates/payment_receipt/en/preview", params={"channel": "email"}, json={}
    ).json()
    assert (shown["subject"], shown["body"]) == ("Receipt", "Thanks Maria: BRL 350.00")
    assert (
        admin.http.delete("/api/v1/notifications/templates/payment_receipt/en", params={"channel": "email"}).status_code
        == 204
    )

    settings = admin.http.put("/api/v1/notifications/settings", json={"timezone": "Mars/Olympus", "locale": "pt-BR"})
    assert settings.status_code == 422
    assert settings.json()["errors"][0]["field"] == "timezone"
