"""The pre-qualification assistant end to end, through the sandboxes (issue 13, item 1).

An unknown number writes on WhatsApp (the sandbox plays Meta's signed webhook) → leads makes the lead → the
funnel's assistant greets and asks; the answers are sandbox texts and taps (a WhatsApp interactive list for
the procedure, reply buttons for the region; a wrong CPF asked again with the reason) → payments makes the
link, paid by PIX on the Mercado Pago sandbox's hosted checkout → the booking link from scheduling, used on
the public booking pages → the appointment on the agenda, the process completed, the lead and the deal
updated, every step in the history.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse
from zoneinfo import ZoneInfo

import httpx
import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api, Sandbox, wait_until
from tests.e2e.payments.test_payments import Provider

API = "/api/v1/scheduling"
SP = ZoneInfo("America/Sao_Paulo")
ACCOUNT = "100000000000001"  # the sandbox's WhatsApp phone number id


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


@pytest.fixture
def provider(stack: Stack) -> Iterator[Provider]:
    sandbox = Provider(stack)
    sandbox.control("normal")
    yield sandbox
    sandbox.http.close()


@pytest.fixture
def rules_off(admin: Api) -> Iterator[None]:
    """The assistant writes its own welcome and payment-link texts: the clinic switches those rules off."""
    for key in ("welcome", "payment-link"):
        ok(admin.http.put(f"/api/v1/notifications/rules/{key}/enabled", json={"enabled": False}))
    yield
    for key in ("welcome", "payment-link"):
        ok(admin.http.put(f"/api/v1/notifications/rules/{key}/enabled", json={"enabled": True}))


@pytest.fixture
def clinic(admin: Api) -> dict[str, Any]:
    """Two regions (Moema, Av. Paulista), a doctor there every day, a prepaid Botox with its price."""
    tag = uuid.uuid4().hex[:4]
    moema = ok(admin.http.post(f"{API}/branches", json={"name": f"Moema {tag}", "timezone": "America/Sao_Paulo",
                                                          "open_on_holidays": True}), 201)  # fmt: skip
    paulista = ok(admin.http.post(f"{API}/branches", json={"name": f"Paulista {tag}", "timezone": "America/Sao_Paulo",
                                                             "open_on_holidays": True}), 201)  # fmt: skip
    hours = [{"weekday": d, "start": "08:00", "end": "20:00", "branch_id": moema["id"]} for d in range(7)]
    ok(admin.http.post(f"{API}/professionals", json={"name": "Dra. Ana Prado", "kind": "doctor",
        "specialties": ["aesthetics"], "branch_ids": [moema["id"], paulista["id"]], "hours": hours}), 201)  # fmt: skip
    botox = ok(admin.http.post(f"{API}/procedures", json={"name": "Botox", "duration_minutes": 60,
        "specialty": "aesthetics", "prepayment_required": True}), 201)  # fmt: skip
    peeling = ok(admin.http.post(f"{API}/procedures", json={"name": "Peeling", "duration_minutes": 30,
        "specialty": "aesthetics"}), 201)  # fmt: skip
    ok(admin.http.put(f"/api/v1/payments/prices/{botox['id']}", json={"name": "Botox", "amount": "1200.00"}))
    procedures = [
        {"id": botox["id"], "title": "Botox", "amount": "150.00"}, {"id": peeling["id"], "title": "Peeling"},
        {"id": str(uuid.uuid4()), "title": "Laser"}, {"id": str(uuid.uuid4()), "title": "Preenchimento"},
    ]  # fmt: skip
    settings = {
        "enabled": True, "procedures": procedures,
        "regions": [{"id": moema["id"], "title": "Moema"}, {"id": paulista["id"], "title": "Av. Paulista"}],
        "messages": {"pt-BR": {"ask_name": "Para começar: qual é o seu nome completo?"}},
    }  # fmt: skip
    ok(admin.http.put("/api/v1/funnel/assistant/settings", json=settings))
    ok(admin.http.put("/api/v1/notifications/channels/whatsapp", json={"account_id": ACCOUNT}))
    return {"moema": moema, "botox": botox}


def inbox(sandbox: Sandbox, phone: str, count: int, what: str) -> list[dict[str, Any]]:
    """The WhatsApp messages the person has got, once there are `count` of them."""
    return wait_until(lambda: (got := sandbox.received(phone)) and len(got) >= count and got, 30.0, what)  # type: ignore[no-any-return]


def write(sandbox: Sandbox, phone: str, **body: Any) -> None:
    answer = sandbox.http.post("/sandbox/whatsapp/inbound", json={"sender": phone, **body})
    assert answer.json()["status"] == 200, answer.text


def test_an_unknown_number_is_qualified_pays_and_books(
    stack: Stack, admin: Api, sandbox: Sandbox, provider: Provider, clinic: dict[str, Any], rules_off: None,
    unique_phone: Any,
) -> None:  # fmt: skip
    phone = unique_phone()
    write(sandbox, phone, text="Oi! Quero saber sobre botox", name="Maria")
    got = inbox(sandbox, phone, 1, "the assistant never made the first contact")
    assert "assistente virtual" in got[0]["body"]
    assert got[0]["body"].endswith("\n\nPara começar: qual é o seu nome completo?")  # the clinic's own text

    write(sandbox, phone, text="maria souza", reply_to=got[0]["id"])
    got = inbox(sandbox, phone, 2, "no CPF question")
    assert got[1]["body"].startswith("Obrigada, Maria!")
    write(sandbox, phone, text="529.982.247-26")  # a wrong check digit: asked again, with the reason
    got = inbox(sandbox, phone, 3, "a wrong CPF was not answered")
    assert "os dígitos verificadores não conferem" in got[2]["body"]
    write(sandbox, phone, text="529.982.247-25")
    got = inbox(sandbox, phone, 4, "no procedure list")
    listed = got[3]
    assert listed["interactive"] == "list"
    assert [b["title"] for b in listed["buttons"]] == ["Botox", "Peeling", "Laser", "Preenchimento"]
    tap = next(b["id"] for b in listed["buttons"] if b["title"] == "Botox")
    write(sandbox, phone, reply_to=listed["id"], button_id=tap)
    write(sandbox, phone, reply_to=listed["id"], button_id=tap)  # tapped twice: never advances twice
    got = inbox(sandbox, phone, 5, "no region question")
    regions = got[4]
    assert regions["interactive"] == "button"
    assert [b["title"] for b in regions["buttons"]] == ["Moema", "Av. Paulista"]
    write(sandbox, phone, reply_to=regions["id"], button_id=regions["buttons"][0]["id"])

    got = inbox(sandbox, phone, 6, "no payment link")
    assert "150.00 BRL" in got[5]["body"]
    pay_url = re.search(r"https?://\S+/public/payments/pay\?token=\S+", got[5]["body"])  # the clinic's Pay page
    assert pay_url, got[5]["body"]
    page = httpx.get(pay_url.group(0), headers={"accept": "application/json"}, timeout=10).json()
    assert (page["amount"], page["payable"]) == ("150.00", True)
    provider.checkout(page["checkout_url"], "pix")

    # The receipt (notifications' payment-receipt rule) and the assistant's booking link, in either order.
    booking = wait_until(
        lambda: [m for m in sandbox.received(phone) if "/public/scheduling/booking?token=" in (m["body"] or "")],
        30.0, "no booking link after the payment",
    )[0]  # fmt: skip
    assert "Moema" in booking["body"]
    book_url = re.search(r"https?://\S+", booking["body"])
    assert book_url, booking["body"]
    token = parse_qs(urlparse(book_url.group(0)).query)["token"][0]
    day = datetime.now(SP).date() + timedelta(days=3)
    with httpx.Client(base_url=stack.gateway_url, timeout=15.0) as patient:
        slots = ok(patient.get("/public/scheduling/booking/slots", params={
            "token": token, "branch_id": clinic["moema"]["id"], "procedure_id": clinic["botox"]["id"],
            "from": day.isoformat(), "to": day.isoformat()}))["slots"]  # fmt: skip
        chosen = next(s for s in slots if s["local"].endswith("10:00"))
        booked = ok(patient.post("/public/scheduling/booking", params={"token": token}, json={
            "branch_id": clinic["moema"]["id"], "procedure_id": clinic["botox"]["id"],
            "starts_at": chosen["starts_at"], "name": "Maria Souza", "phone": phone}), 201)  # fmt: skip

    got = wait_until(
        lambda: [m for m in sandbox.received(phone) if "10:00" in (m["body"] or "") and "Tudo certo" in m["body"]],
        30.0, "the assistant never closed the conversation",
    )  # fmt: skip
    agenda = ok(admin.http.get(f"{API}/agenda", params={"date": day.isoformat(), "branch_id": clinic["moema"]["id"]}))
    assert booked["appointment_id"] in [i["id"] for i in agenda["items"]]

    # The process: completed, every step with who took it; the lead and the deal carry the answers.
    processes = ok(admin.http.get("/api/v1/funnel/assistant/processes", params={"status": "completed"}))["items"]
    mine = next(p for p in processes if p["address"] == phone)
    assert (mine["name"], mine["cpf"], mine["region"], mine["appointment_id"]) == (
        "Maria Souza", "52998224725", "Moema", booked["appointment_id"],
    )  # fmt: skip
    history = ok(admin.http.get(f"/api/v1/funnel/assistant/processes/{mine['id']}"))["history"]
    assert {"assistant", "patient", "payments", "scheduling"} <= {h["actor"] for h in history}
    assert [h["detail"] for h in history if h["action"] == "answered"].count("procedure Botox") == 1
    lead = wait_until(
        lambda: (found := ok(admin.http.get(f"/api/v1/leads/{mine['lead_id']}"))).get("cpf") and found, 20.0,
        "leads never took the CPF",
    )  # fmt: skip
    assert lead["name"] == "Maria Souza"
    assert "Procedure: Botox" in (lead["notes"] or "")
    board = ok(admin.http.get("/api/v1/funnel/pipelines"))["items"]
    requests = next(p for p in board if p["kind"] == "requests")
    deals = [d for c in ok(admin.http.get(f"/api/v1/funnel/pipelines/{requests['id']}/board"))["columns"]
             for d in c["deals"] if d["phone"] == phone]  # fmt: skip
    assert deals
    card = ok(admin.http.get(f"/api/v1/funnel/deals/{deals[0]['id']}"))
    assert card["deal"]["name"] == "Maria Souza"
    assert any(f["kind"] == "assistant" for f in card["feed"])
    assert ok(admin.http.get(f"/api/v1/funnel/assistant/deals/{deals[0]['id']}"))["id"] == mine["id"]


def test_staff_take_over_hand_back_and_bad_input(admin: Api, sandbox: Sandbox, clinic: dict[str, Any],
                                                 rules_off: None, unique_phone: Any) -> None:  # fmt: skip
    phone = unique_phone()
    write(sandbox, phone, text="Olá")
    inbox(sandbox, phone, 1, "no first contact")
    processes = ok(admin.http.get("/api/v1/funnel/assistant/processes", params={"status": "active"}))["items"]
    mine = next(p for p in processes if p["address"] == phone)
    ok(admin.http.post(f"/api/v1/funnel/assistant/processes/{mine['id']}/take-over"), 201)
    write(sandbox, phone, text="Maria Souza")
    # The agent has the chat: the assistant says nothing more (the reply is in the history).
    wait_until(
        lambda: any(h["actor"] == "patient" for h in
                    ok(admin.http.get(f"/api/v1/funnel/assistant/processes/{mine['id']}"))["history"]),
        20.0, "the reply never reached the process",
    )  # fmt: skip
    assert len(sandbox.received(phone)) == 1
    ok(admin.http.post(f"/api/v1/funnel/assistant/processes/{mine['id']}/hand-back"), 201)
    got = inbox(sandbox, phone, 2, "the assistant did not go on after the hand-back")
    assert got[1]["body"].endswith("\n\nPara começar: qual é o seu nome completo?")
    again = admin.http.post(f"/api/v1/funnel/assistant/processes/{mine['id']}/hand-back")
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "process_id"
    bad = admin.http.put("/api/v1/funnel/assistant/settings", json={
        "enabled": True, "procedures": [{"id": "x", "title": "X"}], "regions": [{"id": "y", "title": "Y"}],
        "messages": {"en": {"ask_cpf": "Your CPF {password}?"}}})  # fmt: skip
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "messages.en.ask_cpf"
    assert admin.http.get(f"/api/v1/funnel/assistant/processes/{uuid.uuid4()}").status_code == 404
    assert admin.http.get("/api/v1/funnel/assistant/processes/not-a-uuid").status_code in (404, 422)
    assert admin.http.get("/api/v1/funnel/assistant/processes", params={"status": "asleep"}).status_code == 400
