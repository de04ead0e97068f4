"""Issue 15 end to end on the real stack: leads from three channels (a call through the sandbox telephony
provider, the clinic's public web form, staff by hand); two booked, one arrived and paid (scheduling's and
payments' events published onto the broker exactly as the contracts say, as the funnel's e2e does) -> every
report through the gateway shows exactly those numbers, as JSON, CSV and XLSX; the dashboard; an agent's
own scope and another clinic; `python -m analytics rebuild` gives the same figures."""

from __future__ import annotations

import asyncio
import csv
import io
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
import pytest

from contracts import Event, EventMeta, to_headers
from contracts.payments import PaymentConfirmedV1, PaymentLinkCreatedV1
from contracts.people import Person
from contracts.scheduling import AppointmentBookedV1, PatientArrivedV1
from devkit.stack import ROOT, Stack
from kit.messaging import make_producer
from kit.personal import HttpKeyStore, PersonalCipher
from tests.e2e.conftest import Api, new_clinic, staff, wait_until
from tests.e2e.telephony.test_telephony import connect, lead_with, play, tracking_number

pytestmark = pytest.mark.e2e
REPORTS = "/api/v1/analytics/reports"
TZ = "America/Sao_Paulo"


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content and "json" in answer.headers.get("content-type", "") else answer


def publish(stack: Stack, tenant_id: str, *events: Event) -> None:
    async def send() -> None:
        assert stack.infra is not None
        producer = make_producer(stack.infra.kafka_bootstrap, idempotent=False, client_id="e2e-analytics")
        env = stack.env()
        # As a producer does: the personal fields sealed with the people's keys (kit.personal).
        cipher = PersonalCipher(HttpKeyStore(env["PERSONAL_KEYS_URL"], env["PERSONAL_KEYS_TOKEN"]))
        await producer.start()
        try:
            metas = [
                EventMeta(
                    id=str(uuid.uuid4()),
                    source="clinicflow/e2e",
                    type=event.TYPE,
                    time=datetime.now(UTC),
                    subject=event.aggregate_id(),
                    tenant_id=tenant_id,
                    correlation_id=str(uuid.uuid4()),
                )
                for event in events
            ]
            sealed = await cipher.seal(list(zip(events, metas, strict=True)))
            for event, meta in zip(sealed, metas, strict=True):
                await producer.send_and_wait(
                    event.TOPIC, msgspec.json.encode(event), key=event.aggregate_id().encode(), headers=to_headers(meta)
                )
        finally:
            await producer.stop()
            await cipher.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, send()).result()


def booked(appt: str, lead: dict[str, Any], doctor: str) -> AppointmentBookedV1:
    now = datetime.now(UTC)
    starts = now + timedelta(hours=1)
    return AppointmentBookedV1(
        appointment_id=appt,
        person=Person(lead_id=lead["id"], phone=lead["phone"]),
        branch_id="b1",
        branch_name="Moema",
        professional_id=doctor,
        professional_name="Dra. Ana",
        procedure_id="proc",
        procedure_name="Avaliação",
        starts_at=starts,
        ends_at=starts + timedelta(hours=1),
        timezone=TZ,
        source="staff",
        booked_by="reception",
        booked_at=now,
    )


def report(api: Api, name: str, **params: Any) -> dict[str, Any]:
    return ok(api.http.get(f"{REPORTS}/{name}", params=params))  # type: ignore[no-any-return]


def test_three_channels_to_paid_in_every_report_and_a_rebuild_gives_the_same(
    stack: Stack, admin: Api, unique_phone: Callable[[], str]
) -> None:
    owner = new_clinic(stack, admin, "Clínica Analytics")
    tenant = ok(owner.http.get("/api/v1/me"))["tenant"]["id"]
    # 1. a call from a tracking number (the sandbox provider plays a signed Zadarma call)
    clinic, secret = connect(owner, "zadarma")
    number = tracking_number(owner, "google_search")
    caller = unique_phone()
    play(
        stack,
        provider="zadarma",
        clinic_id=clinic,
        secret=secret,
        caller=caller,
        tracking_number=number,
        outcome="missed",
    )
    call_lead = wait_until(lambda: lead_with(owner, caller), 30, "no lead for the caller")
    # 2. the public web form
    form = ok(owner.http.post("/api/v1/leads/forms", json={"name": "Site", "kind": "web"}), 201)
    form_phone = unique_phone()
    with httpx.Client(base_url=stack.gateway_url, timeout=20.0) as public:
        ok(
            public.post(
                f"/public/forms/{form['key']}",
                json={"name": "Form Lead", "phone": form_phone, "consent": True, "utm_source": "instagram"},
            ),
            201,
        )
    form_lead = wait_until(lambda: lead_with(owner, form_phone), 30, "no lead from the form")
    # 3. staff by hand
    manual = owner.create_lead(name="Manual Lead", phone=unique_phone(), source="medical_recommendation")

    doctor, a1, a2, pay = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC)
    payer = Person(lead_id=call_lead["id"], phone=caller)
    publish(
        stack,
        tenant,
        booked(a1, call_lead, doctor),
        booked(a2, form_lead, doctor),
        PatientArrivedV1(
            appointment_id=a1,
            person=payer,
            branch_id="b1",
            professional_id=doctor,
            procedure_id="proc",
            arrived_at=now,
            checked_in_by="reception",
        ),
        PaymentLinkCreatedV1(
            payment_id=pay,
            person=payer,
            appointment_id=a1,
            amount="300.00",
            amount_before_discount="300.00",
            currency="BRL",
            description="Avaliação",
            methods=["pix"],
            provider="sandbox",
            url="https://pay",
            expires_at=now + timedelta(days=1),
            created_by="reception",
            created_at=now,
        ),
        PaymentConfirmedV1(
            payment_id=pay,
            person=payer,
            appointment_id=a1,
            amount="300.00",
            currency="BRL",
            method="pix",
            provider="sandbox",
            provider_payment_id="e2e",
            paid_at=now,
        ),
    )

    steps = ("leads", "booked", "arrived", "paid")

    def funnel_done() -> dict[str, Any] | None:
        found = report(owner, "conversion")
        return found if tuple(found["totals"][s] for s in steps) == (3, 2, 1, 1) else None

    conversion = wait_until(funnel_done, 30, "the conversion report did not reach 3/2/1/1")
    assert conversion["scope"] == "clinic"
    assert {r["channel"]: tuple(r[s] for s in steps) for r in conversion["rows"]} == {
        "call": (1, 1, 1, 1),
        "site_form": (1, 1, 0, 0),
        "manual": (1, 0, 0, 0),
    }
    leads = report(owner, "leads", sort="channel")
    assert [(r["channel"], r["source"], r["leads"]) for r in leads["rows"]] == [
        ("call", "google_search", 1),
        ("manual", "medical_recommendation", 1),
        ("site_form", "website_form", 1),
    ]
    revenue = report(owner, "revenue", group_by="channel")
    assert [(r["channel"], r["payments"], r["revenue"]) for r in revenue["rows"]] == [("call", 1, "300.00")]
    by_doctor = report(owner, "revenue", group_by="doctor")
    assert [(r["doctor"], r["doctor_name"], r["revenue"]) for r in by_doctor["rows"]] == [
        (doctor, "Dra. Ana", "300.00")
    ]
    source = ok(owner.http.get(f"/api/v1/analytics/leads/{call_lead['id']}/source"))
    assert (source["source"], source["corrected"]) == ("google_search", False)

    # the exports carry the same figures
    text = ok(owner.http.get(f"{REPORTS}/conversion", params={"format": "csv"})).content.decode("utf-8-sig")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0][:3] == ["channel", "leads", "booked"]
    assert sorted((line[0], line[1]) for line in lines[1:-1]) == [("call", "1"), ("manual", "1"), ("site_form", "1")]
    assert lines[-1][:2] == ["total", "3"]
    xlsx = ok(owner.http.get(f"{REPORTS}/revenue", params={"format": "xlsx"}))
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in xlsx.headers["content-disposition"]
    with zipfile.ZipFile(io.BytesIO(xlsx.content)) as book:
        assert "300" in book.read("xl/worksheets/sheet1.xml").decode()

    # the dashboard: three new leads today, the 10 newest with their links; one payment today
    panels = ok(owner.http.get("/api/v1/analytics/dashboard/"))["panels"]
    assert panels["new_leads"]["count"] == 3
    assert (panels["payments_today"]["count"], panels["payments_today"]["amount"]) == (1, "300.00")
    newest = ok(owner.http.get("/api/v1/analytics/dashboard/new_leads"))["items"]
    assert {i["lead_id"] for i in newest} == {call_lead["id"], form_lead["id"], manual["id"]}
    assert all(i["link"] == f"/#/prospects/{i['lead_id']}" for i in newest)

    # an agent sees their own figures (none of these leads is theirs); another clinic sees nothing
    agent, _ = staff(stack, owner, "sales_agent")
    mine = report(agent, "conversion")
    assert (mine["scope"], mine["totals"]["leads"]) == ("own", 0)
    assert agent.http.put(f"/api/v1/analytics/leads/{manual['id']}/source", json={"source": "x"}).status_code == 403
    other = new_clinic(stack, admin, "Outra")
    assert report(other, "conversion")["totals"]["leads"] == 0
    assert other.http.get(f"/api/v1/analytics/leads/{manual['id']}/source").status_code == 404
    bad = owner.http.get(f"{REPORTS}/conversion", params={"from": "2026-12-10", "to": "2026-12-01"})
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["to"]

    # staff correct a source by hand: reports follow the correction, the original is kept
    fixed = ok(owner.http.put(f"/api/v1/analytics/leads/{manual['id']}/source", json={"source": "instagram"}))
    assert (fixed["source"], fixed["original_source"], fixed["corrected"]) == (
        "instagram",
        "medical_recommendation",
        True,
    )
    assert {r["source"] for r in report(owner, "leads")["rows"]} == {"google_search", "instagram", "website_form"}

    before = {name: report(owner, name) for name in ("leads", "conversion", "revenue", "attendance", "visits")}
    rebuilt = subprocess.run(
        [sys.executable, "-m", "analytics", "rebuild"],
        env=stack.env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
    assert '"clinicflow.leads.events"' in rebuilt.stdout
    assert {name: report(owner, name) for name in before} == before
