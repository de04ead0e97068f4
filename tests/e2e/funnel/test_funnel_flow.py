"""The funnel end to end through the gateway on the real stack: a lead from a phone call created in leads
(its lead.created and request.created reach the funnel over the broker) -> deal New -> booked -> arrived ->
plan signed -> service done + next visit -> In treatment -> next visit cancelled -> Interrupted -> six months
later on the funnel's moved clock -> Lost. Scheduling's events are published onto the broker here with kit's
producer, exactly as the contracts say (booking through scheduling's API needs a whole clinic set-up).
Also bad input and another clinic that sees nothing."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from contracts import Event, EventMeta, to_headers
from contracts.people import Person
from contracts.scheduling import AppointmentBookedV1, AppointmentCancelledV1, PatientArrivedV1, VisitCompletedV1
from devkit.stack import Stack
from kit.messaging import make_producer
from tests.e2e.conftest import Api, wait_until

pytestmark = pytest.mark.e2e
API = "/api/v1/funnel"
PROC = str(uuid.uuid4())


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


def publish(stack: Stack, tenant_id: str, *events: Event) -> None:
    async def send() -> None:
        assert stack.infra is not None
        producer = make_producer(stack.infra.kafka_bootstrap, idempotent=False, client_id="e2e-scheduling")
        await producer.start()
        try:
            for event in events:
                meta = EventMeta(
                    id=str(uuid.uuid4()), source="clinicflow/scheduling", type=event.TYPE, time=datetime.now(UTC),
                    subject=event.aggregate_id(), tenant_id=tenant_id, correlation_id=str(uuid.uuid4()),
                )  # fmt: skip
                await producer.send_and_wait(
                    event.TOPIC, msgspec.json.encode(event), key=event.aggregate_id().encode(), headers=to_headers(meta)
                )
        finally:
            await producer.stop()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, send()).result()


class Clock:
    """Moves the stack's funnel clock (api and worker read FUNNEL_CLOCK_FILE)."""

    def __init__(self, stack: Stack) -> None:
        self.path = stack.clock_file("funnel")

    def set_now(self, when: datetime) -> None:
        self.path.write_text(str((when - datetime.now(UTC)).total_seconds()))
        time.sleep(0.05)

    def reset(self) -> None:
        self.path.write_text("0")


@pytest.fixture(scope="module")
def clock(stack: Stack) -> Iterator[Clock]:
    moved = Clock(stack)
    yield moved
    moved.reset()


def pipeline(api: Api, kind: str) -> dict[str, Any]:
    return next(p for p in ok(api.http.get(f"{API}/pipelines"))["items"] if p["kind"] == kind)  # type: ignore[no-any-return]


def board(api: Api, kind: str, **params: Any) -> dict[str, Any]:
    return ok(api.http.get(f"{API}/pipelines/{pipeline(api, kind)['id']}/board", params=params))  # type: ignore[no-any-return]


def deals_of(api: Api, kind: str, lead_id: str, **params: Any) -> list[dict[str, Any]]:
    found = board(api, kind, **params)
    return [d | {"column": c["stage"]["key"]} for c in found["columns"] for d in c["deals"] if d["lead_id"] == lead_id]


def booked(appt: str, person: Person, starts: datetime) -> AppointmentBookedV1:
    now = datetime.now(UTC)
    return AppointmentBookedV1(
        appointment_id=appt, person=person, branch_id="b", branch_name="Moema", professional_id="p",
        professional_name="Dra. Ana", procedure_id=PROC, procedure_name="Implante", starts_at=starts,
        ends_at=starts + timedelta(hours=1), timezone="America/Sao_Paulo", source="staff", booked_by="reception",
        booked_at=now,
    )  # fmt: skip


def test_a_phone_lead_goes_all_the_way_to_lost(stack: Stack, admin: Api, clock: Clock, unique_phone: Any) -> None:
    tenant = ok(admin.http.get("/api/v1/me"))["tenant"]["id"]
    lead = admin.create_lead(source="phone_call", phone=unique_phone(), treatment="first_consultation")
    requests = wait_until(lambda: deals_of(admin, "requests", lead["id"]), 30, "no deal for the new lead")
    assert [(d["column"], d["source"]) for d in requests] == [("new", "phone_call")]

    person = Person(lead_id=lead["id"], patient_id=str(uuid.uuid4()), name=lead["name"], phone=lead["phone"])
    first = str(uuid.uuid4())
    now = datetime.now(UTC)
    publish(stack, tenant, booked(first, person, now + timedelta(hours=2)))
    wait_until(lambda: deals_of(admin, "requests", lead["id"])[0]["column"] == "booked", 30, "not booked")

    arrival = PatientArrivedV1(
        appointment_id=first, person=person, branch_id="b", professional_id="p", procedure_id=PROC,
        arrived_at=datetime.now(UTC), first_visit=True, checked_in_by="reception",
    )  # fmt: skip
    publish(stack, tenant, arrival, arrival)  # a duplicate never makes a second deal
    arrived = wait_until(lambda: deals_of(admin, "arrived", lead["id"]), 30, "no arrived deal")
    assert [d["column"] for d in arrived] == ["new"]
    deal = arrived[0]["id"]

    plan = ok(
        admin.http.post(
            f"{API}/deals/{deal}/plans",
            json={"title": "Implantes", "items": [{"procedure": "Implante", "procedure_id": PROC, "quantity": 2,
                                                   "price": "1500.00", "discount": "10"}]},
        ),
        201,
    )  # fmt: skip
    assert ok(admin.http.get(f"{API}/deals/{deal}"))["deal"]["stage_key"] == "new"  # unsigned: shown, not moved
    ok(admin.http.post(f"{API}/plans/{plan['id']}/sign"), 201)
    assert ok(admin.http.get(f"{API}/deals/{deal}"))["deal"]["stage_key"] == "plan_signed"

    second = str(uuid.uuid4())
    publish(
        stack,
        tenant,
        VisitCompletedV1(
            appointment_id=first, person=person, professional_id="p", procedure_id=PROC, procedures_done=[PROC],
            completed_at=datetime.now(UTC),
        ),
        booked(second, person, datetime.now(UTC) + timedelta(days=14)),
    )  # fmt: skip
    wait_until(lambda: deals_of(admin, "arrived", lead["id"])[0]["column"] == "in_treatment", 30, "not in treatment")

    publish(
        stack,
        tenant,
        AppointmentCancelledV1(
            appointment_id=second, person=person, starts_at=datetime.now(UTC) + timedelta(days=14),
            cancelled_by="reception", cancelled_at=datetime.now(UTC),
        ),
    )  # fmt: skip
    wait_until(lambda: deals_of(admin, "arrived", lead["id"])[0]["column"] == "interrupted", 30, "not interrupted")
    assert deals_of(admin, "arrived", lead["id"], no_future_booking="true")
    card = ok(admin.http.get(f"{API}/deals/{deal}"))
    # Open: one "Book the next visit" (a visit completed before the next booking arrived may have made an
    # earlier one, which that booking then completed by itself).
    assert [t["title"] for t in card["tasks"] if t["completed_at"] is None] == ["Book the next visit"]
    assert {t["reason"] for t in card["tasks"]} == {"interrupted"}
    assert {v["appointment_id"] for v in card["visits"]} == {first}
    assert card["plans"][0]["total"] == "2700.00"

    clock.set_now(datetime.now(UTC) + timedelta(days=183))
    wait_until(lambda: deals_of(admin, "arrived", lead["id"])[0]["column"] == "lost", 40, "not lost after 6 months")
    assert ok(admin.http.get(f"{API}/deals/{deal}"))["deal"]["tasks_red"] == 1  # the task is overdue now


def test_bad_input_and_another_clinic(stack: Stack, admin: Api, other_clinic: Api, unique_phone: Any) -> None:
    lead = admin.create_lead(source="whatsapp", phone=unique_phone())
    deal = wait_until(lambda: deals_of(admin, "requests", lead["id"]), 30, "no deal")[0]["id"]
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    problem = ok(admin.http.post(f"{API}/deals/{deal}/tasks", json={"title": "Ligar", "due_at": past}), 422)
    assert "due_at" in str(problem)
    curator = str(uuid.uuid4())
    assert "general_percent" in str(ok(admin.http.put(f"{API}/curators/{curator}", json={"general_percent": 120}), 422))
    unknown = ok(admin.http.put(f"{API}/deals/{deal}/curator", json={"curator_id": curator}), 404)
    assert "curator_id" in str(unknown)
    ok(admin.http.post(f"{API}/deals/{deal}/move", json={"stage": "nowhere", "reason": "typo"}), 404)
    ok(admin.http.post(f"{API}/deals/{deal}/move", json={"stage": "contacted", "reason": "called back"}), 201)
    assert deals_of(admin, "requests", lead["id"])[0]["column"] == "contacted"
    requests = pipeline(admin, "requests")["id"]
    bad = admin.http.get(f"{API}/pipelines/{requests}/board", params={"curator_id": "not-a-uuid"})
    assert bad.status_code in (400, 422), bad.text
    assert "curator_id" in bad.text
    ok(other_clinic.http.get(f"{API}/deals/{deal}"), 404)
    assert not deals_of(other_clinic, "requests", lead["id"])
