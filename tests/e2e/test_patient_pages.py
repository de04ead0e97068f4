"""The patient pages in a real headless Chromium (Debian's) on a phone-sized screen, against the real stack.

The whole Brazilian flow from the patient's side, one page at a time as the messages would bring them: pay by
PIX on the sandbox checkout -> book Moema at a free time -> confirm from the reminder's link -> fill in and sign
the anamnesis; the signed form then appears on the patient's card for staff. Plus expired and forged links,
the embeddable lead form, axe on every page, the JavaScript budget, and time to interactive on "fast 3G".

The browser steps live in web/e2e/patient.e2e.ts (node's test runner, playwright-core, axe-core); this test
prepares the clinic through the staff API, runs each step with the links it needs, and checks the outcome.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from devkit.stack import ROOT, Stack
from kit import links
from tests.e2e.browser import _need, _node
from tests.e2e.conftest import Api, new_clinic, outbox_events, staff, wait_until

pytestmark = pytest.mark.e2e
WEB = ROOT / "web"
PAGES = WEB / "dist-patient"
SP = ZoneInfo("America/Sao_Paulo")
SCHED = "/api/v1/scheduling"
#: The issue's budget: compressed JavaScript per page.
JS_BUDGET = 150 * 1024


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def scheduling_events(stack: Stack, event: str) -> list[dict[str, Any]]:
    """Payloads of one event type in scheduling's outbox, oldest first (personal fields opened)."""
    return [p for t, p in outbox_events(stack, "scheduling") if f".{event}." in t]


def of_appointment(stack: Stack, event: str, appointment_id: str) -> list[dict[str, Any]]:
    return [e for e in scheduling_events(stack, event) if e["appointment_id"] == appointment_id]


def browser(step: str, **env: str) -> str:
    """One step of web/e2e/patient.e2e.ts in Chromium; returns its output (fails the test on a failed step)."""
    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        _need(f"{chromium} is missing: apt-get install chromium (.ci/run does)")
    if not (PAGES / "pay.html").exists() or not (WEB / "node_modules" / "playwright-core").exists():
        _need("the patient pages are not built: `just console-build`")
    # docs/patient-pages.md: PATIENT_SCREENSHOTS=docs/img writes the pictures of the pages
    shots = (
        {"PATIENT_SCREENSHOTS": str((ROOT / os.environ["PATIENT_SCREENSHOTS"]).resolve())}
        if os.environ.get("PATIENT_SCREENSHOTS")
        else {}
    )
    result = subprocess.run(
        [_node(), "--test", "--test-reporter=spec", "--test-concurrency=1", "e2e/patient.e2e.ts"],
        cwd=WEB,
        env={**os.environ, "CHROMIUM": chromium, "PATIENT_STEP": step, **shots, **env},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, f"patient step {step} failed:\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"
    for line in result.stdout.splitlines():
        if "fast 3G" in line:
            print(line.strip())  # the measured time to interactive (docs/patient-pages.md)
    return result.stdout


@pytest.fixture(scope="module")
def clinic(stack: Stack, admin: Api) -> dict[str, Any]:
    """A clinic of its own (its own PIX key), with Moema and Av. Paulista, Botox prepaid at R$ 1.200 with 10 %
    off, and an anamnesis questionnaire given to patients on arrival."""
    owner = new_clinic(stack, admin, "Clínica Bela")
    secrets = stack.state_dir / "secrets"
    ok(
        owner.http.put(
            "/api/v1/payments/settings",
            json={
                "provider": "mercadopago",
                "access_token": (secrets / "mercadopago-token").read_text().strip(),
                "webhook_secret": (secrets / "mercadopago-webhook-secret").read_text().strip(),
                "api_url": stack.url("sandbox_payments"),
                "merchant_name": "Clinica Bela",
                "merchant_city": "Sao Paulo",
                "pix_key": "financeiro@clinicabela.com.br",
            },
        )
    )
    moema = ok(
        owner.http.post(
            f"{SCHED}/branches",
            json={
                "name": "Moema",
                "address": "Av. Ibirapuera, 2907",
                "timezone": "America/Sao_Paulo",
                "open_on_holidays": True,
            },
        ),
        201,
    )
    paulista = ok(
        owner.http.post(
            f"{SCHED}/branches",
            json={
                "name": "Av. Paulista",
                "address": "Av. Paulista, 1000",
                "timezone": "America/Sao_Paulo",
                "open_on_holidays": True,
            },
        ),
        201,
    )
    hours = [{"weekday": d, "start": "08:00", "end": "20:00", "branch_id": moema["id"]} for d in range(7)]
    ana = ok(
        owner.http.post(
            f"{SCHED}/professionals",
            json={
                "name": "Dra. Ana Prado",
                "kind": "doctor",
                "specialties": ["aesthetics"],
                "branch_ids": [moema["id"]],
                "hours": hours,
            },
        ),
        201,
    )
    botox = ok(
        owner.http.post(
            f"{SCHED}/procedures",
            json={
                "name": "Botox",
                "duration_minutes": 60,
                "specialty": "aesthetics",
                "price_reference": "1200.00",
                "prepayment_required": True,
            },
        ),
        201,
    )
    ok(
        owner.http.post(
            f"{SCHED}/procedures", json={"name": "Avaliação", "duration_minutes": 30, "specialty": "aesthetics"}
        ),
        201,
    )
    ok(
        owner.http.put(
            f"/api/v1/payments/prices/{botox['id']}", json={"name": "Botox", "amount": "1200.00", "currency": "BRL"}
        )
    )
    ok(
        owner.http.post(
            "/api/v1/payments/discounts",
            json={"name": "Dezembro", "kind": "percentage", "value": "10", "procedure_id": botox["id"]},
        ),
        201,
    )
    q = ok(
        owner.http.post(
            f"{SCHED}/questionnaires",
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
                                "options": ["seca", "oleosa", "mista"],
                            },
                            {"id": "notes", "label": "Observações", "type": "textarea"},
                        ],
                    }
                ],
            },
        ),
        201,
    )
    ok(owner.http.put(f"{SCHED}/policy", json={"anamnesis_questionnaire_id": q["id"]}))
    return {"api": owner, "moema": moema, "paulista": paulista, "ana": ana, "botox": botox}


@pytest.fixture
def scheduling_clock(stack: Stack) -> Iterator[Any]:
    path = stack.clock_file("scheduling")

    def set_now(when: datetime) -> None:
        path.write_text(str((when - datetime.now(UTC)).total_seconds()))
        time.sleep(0.05)

    yield set_now
    path.write_text("0")


def test_the_brazilian_flow_from_the_patients_side(stack: Stack, clinic: dict[str, Any], scheduling_clock: Any) -> None:
    staff: Api = clinic["api"]
    phone = f"+55119{uuid.uuid4().int % 90_000_000 + 10_000_000}"
    lead = staff.create_lead(name="Maria Souza", phone=phone)
    person = {"lead_id": lead["id"], "name": "Maria Souza", "phone": phone, "locale": "pt-BR"}
    charge = ok(
        staff.http.post(
            "/api/v1/payments/payments",
            json={
                "person": person,
                "description": "Botox",
                "procedure_id": clinic["botox"]["id"],
                "methods": ["pix", "credit", "debit"],
            },
            headers={"idempotency-key": str(uuid.uuid4())},
        ),
        201,
    )
    assert (charge["amount_before_discount"], charge["amount"]) == ("1200.00", "1080.00")
    assert charge["pay_url"].startswith(f"{stack.gateway_url}/public/payments/pay?token=")
    booking = ok(staff.http.post(f"{SCHED}/booking-links", json={"person": person}), 201)
    day = datetime.now(SP).date() + timedelta(days=2)

    # 1. Pay by PIX on the sandbox checkout; back on the Pay page it says paid; the link never charges twice.
    #    Booking is locked before, and opens once payments confirmed the money.
    browser("pay-and-book", PAY_URL=charge["pay_url"], BOOK_URL=booking["url"], BOOK_DAY=day.isoformat())
    assert staff.http.get(f"/api/v1/payments/payments/{charge['id']}").json()["status"] == "paid"
    booked = wait_until(
        lambda: [e for e in scheduling_events(stack, "appointment.booked") if e["person"]["lead_id"] == lead["id"]],
        10,
        "the page booked nothing",
    )[0]
    assert (booked["branch_name"], booked["procedure_name"], booked["source"]) == ("Moema", "Botox", "online_booking")
    assert booked["payment_id"] == charge["id"]
    assert datetime.fromisoformat(booked["starts_at"]).astimezone(SP).date() == day

    # 2. The day-before reminder carries the confirm link; the patient confirms with one tap.
    starts = datetime.fromisoformat(booked["starts_at"])
    scheduling_clock(starts - timedelta(hours=24) + timedelta(seconds=1))
    reminder = wait_until(
        lambda: of_appointment(stack, "reminder.due", booked["appointment_id"]),
        15,
        "the day-before reminder",
    )[0]
    confirm_url = next(a["url"] for a in reminder["actions"] if a["kind"] == "confirm")
    scheduling_clock(datetime.now(UTC))
    browser("confirm", CONFIRM_URL=confirm_url)
    detail = ok(staff.http.get(f"{SCHED}/appointments/{booked['appointment_id']}"))
    assert detail["appointment"]["status"] == "confirmed"

    # 3. On arrival the anamnesis link: filled in (kept across a reload and a dropped connection), signed with
    #    the finger, sent; the signed form is on the patient's card for staff, and cannot be changed.
    ok(staff.http.post(f"{SCHED}/appointments/{booked['appointment_id']}/check-in"))
    arrived = wait_until(
        lambda: of_appointment(stack, "patient.arrived", booked["appointment_id"]),
        10,
        "patient.arrived",
    )[0]
    browser("anamnesis", ANAMNESIS_URL=arrived["anamnesis_url"])
    card = ok(staff.http.get(f"{SCHED}/anamnesis", params={"lead_id": lead["id"]}))["items"]
    assert len(card) == 1
    assert card[0]["signature_kind"] == "drawn"
    assert card[0]["document"]["answers"] == {"allergies": False, "skin": "mista", "notes": "Nenhuma"}
    assert card[0]["document"]["signature"]["image"].startswith("data:image/png;base64,")


def test_expired_forged_and_misused_links_get_a_friendly_page(stack: Stack, clinic: dict[str, Any]) -> None:
    secret = (stack.state_dir / "secrets" / "link-secret").read_text().strip()
    tenant = ok(clinic["api"].http.get("/api/v1/me"))["tenant"]["id"]
    expired = links.mint(secret, purpose="confirm", subject=str(uuid.uuid4()), tenant_id=tenant, ttl_seconds=-60)
    booking = ok(clinic["api"].http.post(f"{SCHED}/booking-links", json={}), 201)
    forged = booking["token"][:-6] + ("AAAAAA" if not booking["token"].endswith("AAAAAA") else "BBBBBB")
    base = stack.gateway_url
    browser(
        "bad-links",
        EXPIRED_URL=f"{base}/public/scheduling/confirm?token={expired}",
        FORGED_URL=f"{base}/public/scheduling/booking?token={forged}",
        # a booking link opened as a Pay page: made for another purpose
        MISUSED_URL=f"{base}/public/payments/pay?token={booking['token']}",
    )
    # The same URLs still answer JSON problems to the API's clients.
    with httpx.Client(timeout=10) as patient:
        answer = patient.get(f"{base}/public/scheduling/confirm", params={"token": expired})
        assert answer.status_code == 401
        assert answer.json()["errors"][0]["field"] == "token"
        answer = patient.get(f"{base}/public/payments/pay", params={"token": booking["token"]})
        assert answer.status_code == 401
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_the_clinics_public_booking_page_and_embeddable_lead_form(stack: Stack, clinic: dict[str, Any]) -> None:
    staff: Api = clinic["api"]
    form = ok(staff.http.post("/api/v1/leads/forms", json={"name": "Site da clínica", "kind": "web"}), 201)
    site_link = ok(staff.http.post(f"{SCHED}/booking-links", json={}), 201)
    phone = f"+55119{uuid.uuid4().int % 90_000_000 + 10_000_000}"
    day = datetime.now(SP).date() + timedelta(days=3)
    browser(
        "public",
        FORM_URL=f"{stack.gateway_url}/public/forms/{form['key']}?utm_source=instagram",
        SITE_BOOK_URL=site_link["url"],
        LEAD_PHONE=phone,
        BOOK_DAY=day.isoformat(),
    )
    lead = wait_until(
        lambda: ok(staff.http.get("/api/v1/leads", params={"q": phone}))["items"], 10, "the form made no lead"
    )[0]
    assert lead["name"] == "Paulo Lima"
    booked = wait_until(
        lambda: [e for e in scheduling_events(stack, "appointment.booked") if e["person"]["name"] == "Rita Nova"],
        10,
        "the public booking page booked nothing",
    )[0]
    assert booked["source"] == "online_booking"
    # Her reschedule link: the free times; one tap moves the appointment
    out = browser("reschedule", RESCHEDULE_URL=booked["reschedule_url"])
    moved_to = re.search(r"moved to (\S+)", out)
    assert moved_to is not None, out
    detail = ok(staff.http.get(f"{SCHED}/appointments/{booked['appointment_id']}"))["appointment"]
    assert datetime.fromisoformat(detail["starts_at"]) == datetime.fromisoformat(moved_to.group(1))
    assert detail["starts_at"] != booked["starts_at"]


def test_the_valuation_pages_photos_then_the_quote(stack: Stack, admin: Api, unique_phone: Any) -> None:
    """The hair-transplant valuation from the prospect's phone: the five photos through the photo link (a file
    that is not a photo is told next to its view), then the quote link: a question to the clinic, then accepted
    with one tap; the staff's card shows both answers (docs/quotes.md)."""
    funnel = "/api/v1/funnel"
    _, agent_id = staff(stack, admin, "sales_agent")
    doctor, _ = staff(stack, admin, "diagnostic_doctor")
    lead = admin.create_lead(name="Marcos Pereira", phone=unique_phone(), source="instagram")
    costs = f"{funnel}/quote-costs"
    fue = ok(admin.http.post(costs, json={"name": "FUE 2500", "price": "12000", "currency": "BRL"}), 201)
    prp = ok(admin.http.post(costs, json={"name": "PRP", "price": "3500", "currency": "BRL"}), 201)
    body = {"name": "Marcos", "phone": lead["phone"], "locale": "pt-BR", "lead_id": lead["id"], "agent_id": agent_id}
    opened = wait_until(
        lambda: (r := admin.http.post(f"{funnel}/valuations", json=body)).status_code == 201 and r.json(),
        30,
        "the funnel never learnt of the sales agent",
    )
    valuation = opened["id"]
    browser("photos", PHOTOS_URL=opened["upload_url"])
    card = wait_until(
        lambda: (c := ok(admin.http.get(f"{funnel}/valuations/{valuation}")))["valuation"]["state"] == "valuing" and c,
        30,
        "the photos never completed the profile",
    )
    assert sorted(p["slot"] for p in card["photos"]) == ["crown", "front", "left", "right", "top"]
    assert all(p["content_type"] == "image/jpeg" for p in card["photos"])

    ok(doctor.http.post(f"{funnel}/valuations/{valuation}/valuation", json={"summary": "Norwood III", "grafts": 2500}))
    items = [{"cost_id": fue["id"]}, {"cost_id": prp["id"], "quantity": 2}]
    ok(doctor.http.put(f"{funnel}/valuations/{valuation}/quote", json={"items": items}))
    ok(doctor.http.post(f"{funnel}/valuations/{valuation}/quote/send"))
    sent = wait_until(
        lambda: [m for m in admin.messages(lead["id"]) if m["template"] == "quote_sent"], 30, "no quote sent"
    )
    link = re.search(r"https?://\S+/public/funnel/quotes\?token=\S+", sent[0]["body"])
    assert link, sent[0]["body"]
    browser("quote", QUOTE_URL=link.group(0), QUOTE_TOTAL=r"19\.000,00")
    card = ok(admin.http.get(f"{funnel}/valuations/{valuation}"))
    assert card["valuation"]["state"] == "accepted"
    kinds = [h["kind"] for h in card["history"]]
    assert "question" in kinds
    assert "accept" in kinds


def test_each_page_stays_within_its_javascript_budget(stack: Stack) -> None:
    if not (PAGES / "pay.html").exists():
        _need("the patient pages are not built: `just console-build`")
    sizes: dict[str, int] = {}
    with httpx.Client(base_url=stack.gateway_url, timeout=10) as http:
        for html in sorted(PAGES.glob("*.html")):
            scripts = set(re.findall(r'(?:src|href)="(/p/assets/[^"]+\.js)"', html.read_text()))
            assert scripts, html.name
            total = 0
            for script in scripts:
                answer = http.get(script)
                assert answer.status_code == 200, script
                total += len(gzip.compress(answer.content, 9))
            sizes[html.stem] = total
    print(json.dumps(sizes))
    assert all(size < JS_BUDGET for size in sizes.values()), sizes
