"""Scheduling end to end through the gateway, on the real stack, with scheduling's clock moved by the test:
payment.confirmed (published onto the broker here) -> booking unlocked -> book (a real race: one 201, one 409)
-> reminders due a day and five hours before -> confirm through the patient link -> check in -> the waiting
room's live stream shows it -> visit completed with a return -> the return booked. Also online booking by an
unknown person with its .ics, anamnesis through the signed link, permissions and a second clinic."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest

from contracts import EventMeta, to_headers
from contracts.payments import PaymentConfirmedV1
from contracts.people import Person
from devkit.stack import Stack
from kit.messaging import make_producer
from tests.e2e.clinic import add_branch, add_procedure, add_professional, free_times, ok, tenant_of
from tests.e2e.conftest import Api, outbox_events, staff, wait_until

pytestmark = pytest.mark.e2e
SP = ZoneInfo("America/Sao_Paulo")
API = "/api/v1/scheduling"


# --- helpers ----------------------------------------------------------------------------------
def events(stack: Stack, key: str) -> list[tuple[str, dict[str, Any]]]:
    """scheduling's outbox for one aggregate, in order: (short type, payload, personal fields opened)."""
    return [(".".join(t.split(".")[2:-1]), p) for t, p in outbox_events(stack, "scheduling", key)]


def publish_payment(stack: Stack, tenant_id: str, event: PaymentConfirmedV1) -> None:
    """What payments will publish; sent here with kit's producer so this test does not need that service."""

    async def send() -> None:
        assert stack.infra is not None
        producer = make_producer(stack.infra.kafka_bootstrap, idempotent=False, client_id="e2e-payments")
        await producer.start()
        try:
            meta = EventMeta(
                id=str(uuid.uuid4()),
                source="clinicflow/payments",
                type=event.TYPE,
                time=datetime.now(UTC),
                subject=event.payment_id,
                tenant_id=tenant_id,
                correlation_id=str(uuid.uuid4()),
            )
            await producer.send_and_wait(
                event.TOPIC, msgspec.json.encode(event), key=event.payment_id.encode(), headers=to_headers(meta)
            )
        finally:
            await producer.stop()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, send()).result()


class Clock:
    """Moves the stack's scheduling clock (api and worker read SCHEDULING_CLOCK_FILE)."""

    def __init__(self, stack: Stack) -> None:
        self.path = stack.clock_file("scheduling")

    def set_now(self, when: datetime) -> None:
        self.path.write_text(str((when - datetime.now(UTC)).total_seconds()))
        time.sleep(0.05)  # mtime granularity: the services re-read the file when it changes

    def reset(self) -> None:
        self.path.write_text("0")


@pytest.fixture(scope="module")
def clock(stack: Stack) -> Iterator[Clock]:
    moved = Clock(stack)
    yield moved
    moved.reset()


def problem(answer: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    if field is not None:
        assert [e["field"] for e in body.get("errors", [])] == [field], body
    return body


@pytest.fixture(scope="module")
def clinic(stack: Stack, admin: Api) -> dict[str, Any]:
    """Moema with Dra. Ana (07:00-21:00 every day, lunch 12:00-13:00) linked to a professional account."""
    doctor, doctor_user = staff(stack, admin, "professional")
    reception, _ = staff(stack, admin, "reception")
    branch = add_branch(admin, "Moema", address="Av. Ibirapuera, 2907")
    return {
        "branch": branch,
        "pro": add_professional(admin, branch, "Dra. Ana Prado", user_id=doctor_user),
        "other_pro": add_professional(admin, branch, "Dr. Bruno", kind="biomedic", lunch=False),
        "botox": add_procedure(admin, "Botox", 60, price_reference="1200.00", prepayment_required=True),
        "evaluation": add_procedure(admin, "Avaliação", 30),
        "doctor": doctor,
        "reception": reception,
        "tenant_id": tenant_of(admin),
    }


def slots(api: Api, clinic: dict[str, Any], procedure: str, day: date, professional: str | None = None) -> list[Any]:
    return free_times(api, clinic["branch"]["id"], procedure, day, professional)


def sp_today() -> date:
    return datetime.now(SP).date()


# --- the flow -----------------------------------------------------------------------------------
def test_paid_booking_reminders_confirm_check_in_waiting_room_visit_and_return(
    stack: Stack, admin: Api, clinic: dict[str, Any], clock: Clock
) -> None:
    reception: Api = clinic["reception"]
    doctor: Api = clinic["doctor"]
    lead = admin.create_lead(name="Maria Souza", phone="+5511987650001")
    day = sp_today() + timedelta(days=3)
    free = slots(reception, clinic, clinic["botox"]["id"], day, clinic["pro"]["id"])
    slot = next(s for s in free if s["local"].endswith("10:00"))
    body = {
        "branch_id": clinic["branch"]["id"],
        "procedure_id": clinic["botox"]["id"],
        "professional_id": clinic["pro"]["id"],
        "starts_at": slot["starts_at"],
        "person": {"lead_id": lead["id"], "name": "Maria Souza", "phone": "+5511987650001", "locale": "pt-BR"},
    }
    # 1. not paid yet: refused with a clear problem, nothing booked
    unpaid = problem(reception.http.post(f"{API}/appointments", json=body), 402, "person")
    assert "prepayment" in unpaid["detail"]
    # 2. payments confirms the money -> booking unlocks once scheduling consumed it
    payment_id = f"pay_{uuid.uuid4().hex[:10]}"
    publish_payment(
        stack,
        clinic["tenant_id"],
        PaymentConfirmedV1(
            payment_id=payment_id,
            person=Person(lead_id=lead["id"], name="Maria Souza"),
            procedure_id=clinic["botox"]["id"],
            amount="1200.00",
            currency="BRL",
            method="pix",
            provider="sandbox",
            provider_payment_id="sbx-1",
            paid_at=datetime.now(UTC),
        ),
    )

    def try_book() -> dict[str, Any] | None:
        answer = reception.http.post(f"{API}/appointments", json=body)
        if answer.status_code == 402:
            return None
        return ok(answer, 201)  # type: ignore[no-any-return]

    appointment = wait_until(try_book, 20, "payment.confirmed did not unlock the booking")
    assert (appointment["status"], appointment["payment_id"]) == ("booked", payment_id)
    appt_id = appointment["id"]
    # the slot is gone from availability at once, and the agenda shows it
    assert slot["starts_at"] not in [
        s["starts_at"] for s in slots(reception, clinic, clinic["botox"]["id"], day, clinic["pro"]["id"])
    ]
    agenda = ok(
        reception.http.get(f"{API}/agenda", params={"date": day.isoformat(), "branch_id": clinic["branch"]["id"]})
    )
    item = next(i for i in agenda["items"] if i["id"] == appt_id)
    assert (item["patient_name"], item["procedure_name"], item["status"], item["local_start"][-5:]) == (
        "Maria Souza",
        "Botox",
        "booked",
        "10:00",
    )
    # 3. reminders: a day and five hours before the start, from rows that survive a worker restart
    stack.restart("scheduling-worker")
    detail = ok(reception.http.get(f"{API}/appointments/{appt_id}"))
    starts = datetime.fromisoformat(detail["appointment"]["starts_at"])
    due = {r["offset_minutes"]: datetime.fromisoformat(r["due_at"]) for r in detail["reminders"]}
    assert due == {1440: starts - timedelta(hours=24), 300: starts - timedelta(hours=5)}
    clock.set_now(due[1440] - timedelta(minutes=1))
    time.sleep(1.5)
    assert [k for k, _ in events(stack, appt_id)].count("reminder.due") == 0  # not early
    clock.set_now(due[1440] + timedelta(seconds=1))
    first = wait_until(
        lambda: [e for k, e in events(stack, appt_id) if k == "reminder.due"], 10, "the day-before reminder"
    )
    assert [e["offset_minutes"] for e in first] == [1440]
    actions = {a["kind"]: a for a in first[0]["actions"]}
    assert actions["confirm"]["id"] == f"appt:{appt_id}:confirm"
    assert actions["confirm"]["url"].startswith(f"{stack.gateway_url}/public/scheduling/confirm?token=")
    clock.set_now(due[300] + timedelta(seconds=1))
    wait_until(lambda: len([k for k, _ in events(stack, appt_id) if k == "reminder.due"]) == 2, 10, "the 5 h reminder")
    time.sleep(1.0)
    assert len([k for k, _ in events(stack, appt_id) if k == "reminder.due"]) == 2  # never twice
    # 4. the patient confirms through the reminder's link (public ingress, no token)
    with httpx.Client(timeout=10) as patient:
        page = ok(patient.get(actions["confirm"]["url"]))
        assert (page["procedure"], page["status"]) == ("Botox", "booked")
        confirmed = ok(patient.post(actions["confirm"]["url"]))
        assert confirmed["status"] == "confirmed"
        forged = actions["confirm"]["url"][:-4] + "AAAA"
        problem(patient.post(forged), 401, "token")
        problem(patient.post(actions["reschedule"]["url"].replace("/reschedule?", "/confirm?")), 401, "token")
    agenda = ok(reception.http.get(f"{API}/visits", params={"date": day.isoformat(), "confirmed": "true"}))
    assert [i["confirmed_via"] for i in agenda["items"] if i["id"] == appt_id] == ["link"]
    assert [k for k, _ in events(stack, appt_id)][-1] == "appointment.confirmed"
    # 5. arrival: the waiting-room stream (through the gateway) shows her waiting
    clock.set_now(starts - timedelta(minutes=10))
    boards: list[dict[str, Any]] = []
    opened = threading.Event()

    def listen() -> None:
        with (
            httpx.Client(base_url=stack.gateway_url, timeout=httpx.Timeout(30, read=30)) as client,
            client.stream(
                "GET",
                f"{API}/waiting-room/stream",
                params={"branch_id": clinic["branch"]["id"]},
                headers={"authorization": reception.http.headers["authorization"], "accept": "text/event-stream"},
            ) as answer,
        ):
            assert answer.headers["content-type"].startswith("text/event-stream")
            for line in answer.iter_lines():
                if line.startswith("data:"):
                    boards.append(msgspec.json.decode(line[5:].strip()))
                    opened.set()
                    if any(w["appointment_id"] == appt_id for w in boards[-1]["done"]):
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    assert opened.wait(10), "the stream sent no board"
    arrived = ok(reception.http.post(f"{API}/appointments/{appt_id}/check-in"))
    assert arrived["status"] == "arrived"
    wait_until(lambda: any(w["appointment_id"] == appt_id for b in boards for w in b["waiting"]), 10, "SSE: waiting")
    # 6. the professional sees her own agenda only, starts and finishes the visit with a return in 30 days
    own = ok(doctor.http.get(f"{API}/agenda", params={"date": day.isoformat()}))
    assert {i["professional_id"] for i in own["items"]} == {clinic["pro"]["id"]}
    problem(doctor.http.get(f"{API}/agenda", params={"professional_id": clinic["other_pro"]["id"]}), 403)
    problem(doctor.http.post(f"{API}/appointments", json=body), 403)
    ok(doctor.http.post(f"{API}/appointments/{appt_id}/start"))
    wait_until(
        lambda: any(w["appointment_id"] == appt_id for b in boards for w in b["in_service"]), 10, "SSE: in service"
    )
    done = ok(
        doctor.http.post(f"{API}/appointments/{appt_id}/complete", json={"return_needed": True, "return_in_days": 30})
    )
    assert done["status"] == "done"
    listener.join(10)
    assert any(w["appointment_id"] == appt_id for w in boards[-1]["done"])
    # 7. reception books the return
    returns = ok(reception.http.get(f"{API}/returns", params={"branch_id": clinic["branch"]["id"]}))["items"]
    assert [r["return_in_days"] for r in returns if r["id"] == appt_id] == [30]
    back_day = day + timedelta(days=30)
    back = next(
        s
        for s in slots(reception, clinic, clinic["botox"]["id"], back_day, clinic["pro"]["id"])
        if s["local"].endswith("15:00")
    )
    ret = ok(reception.http.post(f"{API}/appointments/{appt_id}/return", json={"starts_at": back["starts_at"]}), 201)
    assert (ret["source"], ret["return_of"], ret["person"]["lead_id"]) == ("return", appt_id, lead["id"])
    assert [k for k, _ in events(stack, ret["id"])][:2] == ["appointment.booked", "return.booked"]
    problem(reception.http.post(f"{API}/appointments/{appt_id}/return", json={"starts_at": back["starts_at"]}), 409)
    assert [k for k, _ in events(stack, appt_id)] == [
        "appointment.booked",
        "reminder.due",
        "reminder.due",
        "appointment.confirmed",
        "patient.arrived",
        "visit.started",
        "visit.completed",
    ]
    clock.reset()


def test_two_concurrent_bookings_of_one_slot_give_one_201_and_one_409(admin: Api, clinic: dict[str, Any]) -> None:
    day = sp_today() + timedelta(days=5)
    slot = next(
        s
        for s in slots(admin, clinic, clinic["evaluation"]["id"], day, clinic["other_pro"]["id"])
        if s["local"].endswith("16:00")
    )
    body = {
        "branch_id": clinic["branch"]["id"],
        "procedure_id": clinic["evaluation"]["id"],
        "professional_id": clinic["other_pro"]["id"],
        "starts_at": slot["starts_at"],
        "person": {"name": "Race", "phone": "+5511987650002"},
    }
    barrier = threading.Barrier(2)

    def attempt(api: Api) -> int:
        barrier.wait()
        return api.http.post(f"{API}/appointments", json=body).status_code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(attempt, [admin, clinic["reception"]]))
    assert codes == [201, 409]


def test_bad_input_gets_clear_problems(admin: Api, clinic: dict[str, Any]) -> None:
    day = sp_today() + timedelta(days=6)
    base = {
        "branch_id": clinic["branch"]["id"],
        "procedure_id": clinic["evaluation"]["id"],
        "professional_id": clinic["pro"]["id"],
        "person": {"name": "Ana", "phone": "+5511987650003"},
    }
    at = lambda hh: datetime(day.year, day.month, day.day, hh, tzinfo=SP).isoformat()  # noqa: E731
    problem(admin.http.post(f"{API}/appointments", json={**base, "starts_at": at(22)}), 422, "starts_at")
    problem(admin.http.post(f"{API}/appointments", json={**base, "starts_at": at(12)}), 422, "starts_at")  # lunch
    past = (datetime.now(SP) - timedelta(days=1)).replace(hour=10, minute=0).isoformat()
    problem(admin.http.post(f"{API}/appointments", json={**base, "starts_at": past}), 422, "starts_at")
    problem(
        admin.http.post(f"{API}/appointments", json={**base, "starts_at": at(10), "procedure_id": str(uuid.uuid4())}),
        404,
        "procedure_id",
    )
    problem(
        admin.http.post(
            f"{API}/appointments", json={**base, "starts_at": at(10), "professional_id": str(uuid.uuid4())}
        ),
        404,
        "professional_id",
    )
    problem(
        admin.http.post(f"{API}/appointments", json={**base, "starts_at": at(10), "professional_id": "nope"}),
        422,
        "professional_id",
    )
    problem(admin.http.post(f"{API}/branches", json={"name": "X", "timezone": "Mars/Olympus"}), 422, "timezone")
    problem(clinic["reception"].http.post(f"{API}/branches", json={"name": "X", "timezone": "UTC"}), 403)
    with httpx.Client(base_url=admin.http.base_url, timeout=10) as anonymous:
        problem(anonymous.get(f"{API}/agenda"), 401)
        problem(anonymous.get("/public/scheduling/booking", params={"token": "forged"}), 401, "token")


def test_online_booking_by_an_unknown_person_with_its_calendar_file(
    stack: Stack, admin: Api, clinic: dict[str, Any]
) -> None:
    link = ok(admin.http.post(f"{API}/booking-links", json={}), 201)
    assert link["url"].startswith(f"{stack.gateway_url}/public/scheduling/booking?token=")
    with httpx.Client(base_url=stack.gateway_url, timeout=10) as patient:
        token = {"token": link["token"]}
        page = ok(patient.get("/public/scheduling/booking", params=token))
        assert clinic["branch"]["id"] in [b["id"] for b in page["branches"]]
        day = sp_today() + timedelta(days=8)
        free = ok(
            patient.get(
                "/public/scheduling/booking/slots",
                params={
                    **token,
                    "branch_id": clinic["branch"]["id"],
                    "procedure_id": clinic["evaluation"]["id"],
                    "from": day.isoformat(),
                    "to": day.isoformat(),
                },
            )
        )["slots"]
        chosen = next(s for s in free if s["local"].endswith("09:00"))
        booked = ok(
            patient.post(
                "/public/scheduling/booking",
                params=token,
                json={
                    "branch_id": clinic["branch"]["id"],
                    "procedure_id": clinic["evaluation"]["id"],
                    "starts_at": chosen["starts_at"],
                    "name": "João Novo",
                    "phone": "+5511987650004",
                },
            ),
            201,
        )
        # prepaid procedures stay locked online too
        problem(
            patient.post(
                "/public/scheduling/booking",
                params=token,
                json={
                    "branch_id": clinic["branch"]["id"],
                    "procedure_id": clinic["botox"]["id"],
                    "starts_at": chosen["starts_at"],
                    "name": "João Novo",
                    "phone": "+5511987650004",
                },
            ),
            402,
        )
        ics = patient.get(booked["ics_url"])
        assert ics.status_code == 200
        assert ics.headers["content-type"].startswith("text/calendar")
        assert b"BEGIN:VEVENT" in ics.content
        assert b"Avalia" in ics.content
        problem(patient.get(booked["confirm_url"].replace("/confirm?", "/calendar.ics?")), 401, "token")
        # the reschedule link offers free times and moves the appointment
        offer = ok(patient.get(booked["reschedule_url"]))
        later = next(s for s in offer["free_slots"] if s["local"] == f"{day.isoformat()} 11:00")
        moved = ok(patient.post(booked["reschedule_url"], json={"starts_at": later["starts_at"]}))
        assert moved["local_start"].endswith("11:00")
    kinds = events(stack, booked["appointment_id"])
    assert [k for k, _ in kinds] == ["appointment.booked", "appointment.rescheduled"]
    booked_event = kinds[0][1]
    assert booked_event["source"] == "online_booking"
    assert booked_event["person"]["lead_id"] is None
    assert booked_event["person"]["name"] == "João Novo"
    agenda = ok(admin.http.get(f"{API}/agenda", params={"date": day.isoformat(), "branch_id": clinic["branch"]["id"]}))
    assert booked["appointment_id"] in [i["id"] for i in agenda["items"]]


def test_anamnesis_on_arrival_signed_once_and_kept(stack: Stack, admin: Api, clinic: dict[str, Any]) -> None:
    q = ok(
        admin.http.post(
            f"{API}/questionnaires",
            json={
                "name": "Anamnese estética",
                "sections": [
                    {
                        "title": "Saúde",
                        "questions": [
                            {"id": "allergies", "label": "Tem alergias?", "type": "yes_no", "required": True},
                            {
                                "id": "skin",
                                "label": "Tipo de pele",
                                "type": "single_choice",
                                "required": True,
                                "options": ["seca", "oleosa"],
                            },
                            {"id": "notes", "label": "Observações", "type": "textarea"},
                        ],
                    }
                ],
            },
        ),
        201,
    )
    ok(admin.http.put(f"{API}/policy", json={"anamnesis_questionnaire_id": q["id"]}))
    lead = admin.create_lead(name="Clara Dias", phone="+5511987650005")
    today = sp_today()
    free = slots(admin, clinic, clinic["evaluation"]["id"], today + timedelta(days=1), clinic["other_pro"]["id"])
    a = ok(
        admin.http.post(
            f"{API}/appointments",
            json={
                "branch_id": clinic["branch"]["id"],
                "procedure_id": clinic["evaluation"]["id"],
                "professional_id": clinic["other_pro"]["id"],
                "starts_at": free[-1]["starts_at"],
                "person": {"lead_id": lead["id"], "name": "Clara Dias", "phone": "+5511987650005"},
            },
        ),
        201,
    )
    ok(clinic["reception"].http.post(f"{API}/appointments/{a['id']}/check-in"))
    arrived = next(e for k, e in events(stack, a["id"]) if k == "patient.arrived")
    url = arrived["anamnesis_url"]
    assert url.startswith(f"{stack.gateway_url}/public/scheduling/anamnesis?token=")
    with httpx.Client(timeout=10, headers={"user-agent": "e2e-browser/1.0"}) as patient:
        form = ok(patient.get(url))
        assert [x["id"] for x in form["sections"][0]["questions"]] == ["allergies", "skin", "notes"]
        assert form["draft"] is None
        # The answers so far are kept on the server: another phone opens the link where she stopped.
        draft_url = url.replace("/anamnesis?", "/anamnesis/draft?")
        problem(patient.put(draft_url, json={"answers": {"skin": "mista"}}), 422, "answers.skin")
        problem(patient.put(draft_url, json={"answers": {"height": 170}}), 422, "answers.height")
        problem(patient.put(draft_url, json={"answers": {"notes": "x" * 70_000}}), 422, "answers")
        forged = url[:-4] + ("AAAA" if not url.endswith("AAAA") else "BBBB")
        problem(patient.put(forged.replace("/anamnesis?", "/anamnesis/draft?"), json={"answers": {}}), 401, "token")
        ok(patient.put(draft_url, json={"answers": {"allergies": True, "notes": "Nenhuma", "skin": ""}}))
        other_phone = ok(httpx.get(url, timeout=10))["draft"]
        assert other_phone["answers"] == {"allergies": True, "notes": "Nenhuma"}
        assert other_phone["saved_at"]
        problem(
            patient.post(
                url,
                json={
                    "answers": {"allergies": True},
                    "signature": {"kind": "typed", "typed_name": "Clara Dias", "consent": True},
                },
            ),
            422,
            "answers.skin",
        )
        problem(
            patient.post(
                url,
                json={
                    "answers": {"allergies": True, "skin": "seca"},
                    "signature": {"kind": "typed", "typed_name": "Clara Dias"},
                },
            ),
            422,
            "signature.consent",
        )
        signed = ok(
            patient.post(
                url,
                json={
                    "answers": {"allergies": True, "skin": "seca"},
                    "signature": {"kind": "typed", "typed_name": "Clara Dias", "consent": True},
                },
            ),
            201,
        )
        problem(
            patient.post(
                url,
                json={
                    "answers": {"allergies": False, "skin": "seca"},
                    "signature": {"kind": "typed", "typed_name": "Clara Dias", "consent": True},
                },
            ),
            409,
        )
        assert ok(patient.get(url))["draft"] is None  # signed: the draft is gone, and takes no more
        problem(patient.put(draft_url, json={"answers": {"notes": "mudou"}}), 409)
    card = ok(admin.http.get(f"{API}/anamnesis", params={"lead_id": lead["id"]}))["items"]
    assert [(c["sha256"], c["user_agent"]) for c in card] == [(signed["sha256"], "e2e-browser/1.0")]
    assert card[0]["document"]["answers"] == {"allergies": True, "skin": "seca"}
    assert card[0]["ip"]
    assert [k for k, _ in events(stack, a["id"])][-1] == "anamnesis.submitted"


def test_another_clinic_sees_nothing(admin: Api, other_clinic: Api, clinic: dict[str, Any]) -> None:
    mine = ok(admin.http.get(f"{API}/branches"))["items"]
    assert clinic["branch"]["id"] in [b["id"] for b in mine]
    theirs = ok(other_clinic.http.get(f"{API}/branches"))["items"]
    assert clinic["branch"]["id"] not in [b["id"] for b in theirs]
    problem(
        other_clinic.http.get(
            f"{API}/availability",
            params={
                "branch_id": clinic["branch"]["id"],
                "procedure_id": clinic["evaluation"]["id"],
                "from": "2027-01-04",
                "to": "2027-01-04",
            },
        ),
        404,
    )
    problem(other_clinic.http.get(f"{API}/waiting-room", params={"branch_id": clinic["branch"]["id"]}), 404)
    problem(other_clinic.http.get(f"{API}/professionals", params={"branch_id": "not-a-uuid"}), 422, "branch_id")
    assert clinic["pro"]["id"] not in [p["id"] for p in ok(other_clinic.http.get(f"{API}/professionals"))["items"]]
