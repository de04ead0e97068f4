"""The sales card follows the other services, through the gateway on the real stack: a booking in scheduling
moves the lead to APPOINTMENT_SCHEDULED and shows the appointment; a reschedule moves the time; a cancellation
follows; a WhatsApp message from an unknown number (message.received, published here with kit's producer)
becomes a lead with source WhatsApp, once, however often it is delivered."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest

from contracts import EventMeta, to_headers
from contracts.notifications import MessageReceivedV1
from devkit.stack import Stack
from kit.messaging import make_producer
from tests.e2e.clinic import add_branch, add_procedure, add_professional, free_start, ok, tenant_of
from tests.e2e.conftest import Api, outbox, wait_until

pytestmark = pytest.mark.e2e
SP = ZoneInfo("America/Sao_Paulo")
API = "/api/v1/scheduling"


@pytest.fixture(scope="module")
def clinic(admin: Api) -> dict[str, Any]:
    """A branch open every day with one professional and a procedure that needs no prepayment."""
    branch = add_branch(admin, "Sync")
    return {
        "branch": branch,
        "pro": add_professional(admin, branch, "Dra. Lia", lunch=False),
        "procedure": add_procedure(admin, f"Avaliação {uuid.uuid4().hex[:4]}", 30),
        "tenant_id": tenant_of(admin),
    }


def free_slot(admin: Api, clinic: dict[str, Any], day: date, hour: str) -> str:
    return free_start(admin, clinic["branch"]["id"], clinic["procedure"]["id"], day, hour, clinic["pro"]["id"])


def lead_of(admin: Api, lead_id: str) -> dict[str, Any]:
    return ok(admin.http.get(f"/api/v1/leads/{lead_id}"))  # type: ignore[no-any-return]


def same_instant(a: str | None, b: str) -> bool:
    return a is not None and datetime.fromisoformat(a) == datetime.fromisoformat(b)


def test_booking_rescheduling_and_cancelling_move_the_lead(
    stack: Stack, admin: Api, clinic: dict[str, Any], unique_phone: Callable[[], str]
) -> None:
    phone = unique_phone()
    lead = admin.create_lead(name="Rita Campos", phone=phone)
    day = datetime.now(SP).date() + timedelta(days=4)
    starts = free_slot(admin, clinic, day, "09:00")
    booked = ok(
        admin.http.post(
            f"{API}/appointments",
            json={
                "branch_id": clinic["branch"]["id"],
                "procedure_id": clinic["procedure"]["id"],
                "professional_id": clinic["pro"]["id"],
                "starts_at": starts,
                "person": {"lead_id": lead["id"], "name": "Rita Campos", "phone": phone},
            },
        ),
        201,
    )
    appt_id = booked["id"]
    seen = wait_until(
        lambda: (x := lead_of(admin, lead["id"]))["status"] == "APPOINTMENT_SCHEDULED" and x,
        20,
        "the booking did not move the lead",
    )
    assert seen["next_appointment_id"] == appt_id
    assert same_instant(seen["next_appointment_at"], starts)
    assert seen["next_appointment_procedure"] == clinic["procedure"]["name"]
    assert seen["next_appointment_branch"] == clinic["branch"]["name"]
    history = ok(admin.http.get(f"/api/v1/leads/{lead['id']}/status-history"))["items"]
    scheduled = [h for h in history if h["to_status"] == "APPOINTMENT_SCHEDULED"]
    assert [h["comment"] for h in scheduled] == ["booked via scheduling"]

    later = free_slot(admin, clinic, day, "15:00")
    ok(admin.http.post(f"{API}/appointments/{appt_id}/reschedule", json={"starts_at": later}))
    wait_until(
        lambda: same_instant(lead_of(admin, lead["id"])["next_appointment_at"], later),
        20,
        "the reschedule did not move the time shown",
    )

    ok(admin.http.post(f"{API}/appointments/{appt_id}/cancel", json={"reason": "viagem"}))
    gone = wait_until(
        lambda: (x := lead_of(admin, lead["id"]))["status"] == "APPOINTMENT_CANCELED" and x,
        20,
        "the cancellation did not move the lead",
    )
    assert gone["next_appointment_id"] is None
    statuses = [h["to_status"] for h in ok(admin.http.get(f"/api/v1/leads/{lead['id']}/status-history"))["items"]]
    assert statuses.count("APPOINTMENT_SCHEDULED") == 1
    assert statuses.count("APPOINTMENT_CANCELED") == 1
    # What leads published about it went through its outbox.
    moves = [
        (e["from_status"], e["to_status"], e["comment"])
        for t, e in outbox(stack, lead["id"])
        if t.endswith("lead.status_changed.v1")
    ]
    assert moves == [
        ("PENDING_CONTACT", "APPOINTMENT_SCHEDULED", "booked via scheduling"),
        ("APPOINTMENT_SCHEDULED", "APPOINTMENT_CANCELED", "cancelled via scheduling"),
    ]


def test_a_no_show_and_a_return_visit_show_on_the_sales_card(
    stack: Stack, admin: Api, clinic: dict[str, Any], unique_phone: Callable[[], str]
) -> None:
    """No-show: the lead needs a follow-up and its owner a call-back to rebook. A finished visit's return,
    booked by reception: the lead is scheduled again and says it is the return of that visit."""
    phone = unique_phone()
    lead = admin.create_lead(name="Clara Nunes", phone=phone)
    person = {"lead_id": lead["id"], "name": "Clara Nunes", "phone": phone}
    day = datetime.now(SP).date() + timedelta(days=5)
    clock = stack.clock_file("scheduling")  # scheduling's time moves; leads keeps its own

    def book(hour: str) -> dict[str, Any]:
        body = {
            "branch_id": clinic["branch"]["id"],
            "procedure_id": clinic["procedure"]["id"],
            "professional_id": clinic["pro"]["id"],
            "starts_at": free_slot(admin, clinic, day, hour),
            "person": person,
        }
        return ok(admin.http.post(f"{API}/appointments", json=body), 201)  # type: ignore[no-any-return]

    def at(moment: datetime) -> None:
        clock.write_text(str((moment - datetime.now(UTC)).total_seconds()))
        time.sleep(0.1)  # the services re-read the file when its mtime changes

    missed = book("10:00")
    wait_until(lambda: lead_of(admin, lead["id"])["next_appointment_id"] == missed["id"], 20, "booking not shown")
    try:
        at(datetime.fromisoformat(missed["starts_at"]) + timedelta(minutes=20))
        ok(admin.http.post(f"{API}/appointments/{missed['id']}/no-show"))
        card = wait_until(
            lambda: (x := lead_of(admin, lead["id"]))["status"] == "REQUIRES_FOLLOW_UP" and x,
            20,
            "the no-show did not move the lead",
        )
        assert card["next_appointment_id"] is None
        calls = ok(admin.http.get(f"/api/v1/leads/{lead['id']}/activities"))["items"]
        assert [(c["type"], c["state"], c["title"]) for c in calls] == [
            ("call", "scheduled", "Call Clara Nunes to rebook (missed appointment)")
        ]
        assert calls[0]["responsible_id"] == ok(admin.http.get("/api/v1/me"))["id"]  # no owner: who marked it

        visit = book("11:00")
        wait_until(lambda: lead_of(admin, lead["id"])["status"] == "APPOINTMENT_SCHEDULED", 20, "second booking")
        at(datetime.fromisoformat(visit["starts_at"]) - timedelta(minutes=10))
        ok(admin.http.post(f"{API}/appointments/{visit['id']}/check-in"))
        ok(admin.http.post(f"{API}/appointments/{visit['id']}/start"))
        done = {"return_needed": True, "return_in_days": 30}
        ok(admin.http.post(f"{API}/appointments/{visit['id']}/complete", json=done))
        wait_until(lambda: lead_of(admin, lead["id"])["status"] == "VISIT_COMPLETED", 20, "visit not followed")
        back_day = day + timedelta(days=30)
        back_at = free_slot(admin, clinic, back_day, "15:00")
        back = ok(admin.http.post(f"{API}/appointments/{visit['id']}/return", json={"starts_at": back_at}), 201)
    finally:
        clock.write_text("0")
    card = wait_until(
        lambda: (x := lead_of(admin, lead["id"]))["status"] == "APPOINTMENT_SCHEDULED" and x,
        20,
        "the return did not schedule the lead",
    )
    assert card["next_appointment_id"] == back["id"]
    assert same_instant(card["next_appointment_at"], back_at)
    history = ok(admin.http.get(f"/api/v1/leads/{lead['id']}/status-history"))["items"]
    assert [(h["to_status"], h["comment"]) for h in history[1:]] == [
        ("APPOINTMENT_SCHEDULED", "booked via scheduling"),
        ("REQUIRES_FOLLOW_UP", "did not come to the appointment (no-show)"),
        ("APPOINTMENT_SCHEDULED", "booked via scheduling"),
        ("VISIT_COMPLETED", "visit completed via scheduling"),
        ("APPOINTMENT_SCHEDULED", "return visit booked via scheduling"),
    ]
    trail = wait_until(
        lambda: [
            e
            for e in ok(admin.http.get(f"/api/v1/leads/{lead['id']}/audit"))["items"]
            if e["action"] == "return_booked"
        ],
        20,
        "return.booked not recorded",
    )
    assert trail[0]["changes"]["return_of"] == visit["id"]
    assert trail[0]["changes"]["return_appointment_id"] == back["id"]


def publish(stack: Stack, tenant_id: str, event: MessageReceivedV1, event_id: str) -> None:
    """What notifications publishes for an inbound message, sent here with kit's producer."""

    async def send() -> None:
        assert stack.infra is not None
        producer = make_producer(stack.infra.kafka_bootstrap, idempotent=False, client_id="e2e-notifications")
        await producer.start()
        try:
            meta = EventMeta(
                id=event_id,
                source="clinicflow/notifications",
                type=event.TYPE,
                time=datetime.now(UTC),
                subject=event.conversation_id,
                tenant_id=tenant_id,
                correlation_id=str(uuid.uuid4()),
            )
            await producer.send_and_wait(
                event.TOPIC, msgspec.json.encode(event), key=event.conversation_id.encode(), headers=to_headers(meta)
            )
        finally:
            await producer.stop()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, send()).result()


def leads_with(admin: Api, phone: str) -> list[dict[str, Any]]:
    items = ok(admin.http.get("/api/v1/leads", params={"q": phone}))["items"]
    return [x for x in items if phone in x["phones"]]


def test_a_message_from_an_unknown_number_becomes_one_lead(
    stack: Stack, admin: Api, clinic: dict[str, Any], unique_phone: Callable[[], str]
) -> None:
    phone = unique_phone()
    # One key for all of them: one partition, handled in order, so the last one seen means all were handled.
    key = str(uuid.uuid4())

    def message(text: str) -> MessageReceivedV1:
        return MessageReceivedV1(
            conversation_id=key,
            message_id=str(uuid.uuid4()),
            channel="whatsapp",
            sender=phone,
            sender_name="Joana Reis",
            text=text,
            provider="sandbox",
            provider_message_id=f"wamid.{uuid.uuid4().hex}",
            received_at=datetime.now(UTC),
        )

    first = message("Oi, quanto custa a avaliação?")
    event_id = str(uuid.uuid4())
    publish(stack, clinic["tenant_id"], first, event_id)
    publish(stack, clinic["tenant_id"], first, event_id)  # a redelivery: the inbox drops it
    found = wait_until(lambda: leads_with(admin, phone), 20, "no lead for the unknown sender")
    assert len(found) == 1
    lead = lead_of(admin, found[0]["id"])
    assert (lead["name"], lead["source"], lead["channel"]) == ("Joana Reis", "whatsapp", "message")
    assert [t.split(".")[-2] for t, _ in outbox(stack, lead["id"])][:1] == ["created"]
    # The same person writes again before notifications knows the lead: no second lead, no new request.
    publish(stack, clinic["tenant_id"], message("Alô?"), str(uuid.uuid4()))
    # Someone who only asks the clinic to stop writing is no prospect.
    stopper = unique_phone()
    stop = msgspec.structs.replace(message("PARAR"), sender=stopper, consent=False)  # as notifications reads it
    publish(stack, clinic["tenant_id"], stop, str(uuid.uuid4()))
    marker = unique_phone()  # a later message (same key) of another person: once it is a lead, all were handled
    publish(stack, clinic["tenant_id"], msgspec.structs.replace(message("x"), sender=marker), str(uuid.uuid4()))
    wait_until(lambda: leads_with(admin, marker), 20, "the marker message made no lead")
    assert len(leads_with(admin, phone)) == 1
    assert leads_with(admin, stopper) == []
    requests = ok(admin.http.get(f"/api/v1/leads/{lead['id']}/requests"))["items"]
    assert len(requests) == 1


def test_an_online_booking_by_an_unknown_person_makes_a_scheduled_lead(
    admin: Api, clinic: dict[str, Any], unique_phone: Callable[[], str]
) -> None:
    phone = unique_phone()
    link = ok(admin.http.post(f"{API}/booking-links", json={}), 201)
    day = datetime.now(SP).date() + timedelta(days=5)
    with httpx.Client(base_url=admin.http.base_url, timeout=10) as patient:
        token = {"token": link["token"]}
        free = ok(
            patient.get(
                "/public/scheduling/booking/slots",
                params={
                    **token,
                    "branch_id": clinic["branch"]["id"],
                    "procedure_id": clinic["procedure"]["id"],
                    "from": day.isoformat(),
                    "to": day.isoformat(),
                },
            )
        )["slots"]
        chosen = next(s for s in free if s["local"].endswith("11:00"))
        booked = ok(
            patient.post(
                "/public/scheduling/booking",
                params=token,
                json={
                    "branch_id": clinic["branch"]["id"],
                    "procedure_id": clinic["procedure"]["id"],
                    "starts_at": chosen["starts_at"],
                    "name": "Otávio Neves",
                    "phone": phone,
                },
            ),
            201,
        )
    found = wait_until(lambda: leads_with(admin, phone), 20, "the online booking made no lead")
    assert len(found) == 1
    lead = lead_of(admin, found[0]["id"])
    assert (lead["name"], lead["source"], lead["channel"]) == ("Otávio Neves", "online_booking", "online_booking")
    assert lead["status"] == "APPOINTMENT_SCHEDULED"
    assert lead["next_appointment_id"] == booked["appointment_id"]
    assert same_instant(lead["next_appointment_at"], chosen["starts_at"])
    sources = ok(admin.http.get("/api/v1/leads/lists/source"))["items"]
    assert "online_booking" in [s["slug"] for s in sources]
