"""The pre-qualification assistant on Telegram end to end, through the sandboxes (issue 13, item 1).

An unknown Telegram chat writes to the clinic's bot (the sandbox posts the update with the webhook's secret
token to /webhooks/telegram/<bot>) → leads makes a lead reached at that chat (no phone) → the assistant greets
and asks there; the choices are Telegram inline buttons, tapped as callback queries → the payment link, paid by
PIX on the Mercado Pago sandbox's checkout → the booking link, used on the public booking page → the
appointment on the agenda and the process completed, every message on the Telegram chat.
"""

from __future__ import annotations

import random
import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

from devkit.stack import Stack
from tests.e2e.conftest import Api, Sandbox, wait_until
from tests.e2e.funnel.test_assistant_flow import API, SP, clinic, ok, provider, rules_off  # noqa: F401
from tests.e2e.payments.test_payments import Provider


def telegram(sandbox: Sandbox, chat: str, count: int, what: str) -> list[dict[str, Any]]:
    """The Telegram messages the chat has got, once there are `count` of them."""

    def got() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = sandbox.http.get("/sandbox/telegram/messages", params={"to": chat}).json()[
            "items"
        ]
        return items if len(items) >= count else None

    return wait_until(got, 30.0, what)  # type: ignore[no-any-return]


def test_a_telegram_chat_is_qualified_pays_and_books(
    stack: Stack, admin: Api, sandbox: Sandbox, provider: Provider, clinic: dict[str, Any], rules_off: None,  # noqa: F811
) -> None:  # fmt: skip
    bot = f"clinicbot{uuid.uuid4().hex[:8]}"
    ok(admin.http.put("/api/v1/notifications/channels/telegram", json={"account_id": bot}))
    chat = str(random.randint(10**9, 9 * 10**9))

    def write(**body: Any) -> None:
        answer = sandbox.http.post("/sandbox/telegram/inbound", json={"chat_id": int(chat), "bot": bot, **body})
        assert answer.json()["status"] == 200, answer.text

    forged = sandbox.http.post("/sandbox/telegram/inbound", json={"chat_id": int(chat), "bot": bot, "text": "x",
                                                                  "forge": True})  # fmt: skip
    assert forged.json()["status"] == 401, forged.text  # a forged secret token: nothing happens

    write(text="Oi! Quero saber sobre botox", first_name="Lucas")
    got = telegram(sandbox, chat, 1, "the assistant never made the first contact on Telegram")
    assert "assistente virtual" in got[0]["body"]
    processes = ok(admin.http.get("/api/v1/funnel/assistant/processes", params={"status": "active"}))["items"]
    mine = next(p for p in processes if p["address"] == chat)
    assert mine["channel"] == "telegram"
    lead = ok(admin.http.get(f"/api/v1/leads/{mine['lead_id']}"))
    assert (lead["source"], lead["channel"], lead["phones"]) == ("telegram", "message", [])
    assert lead["contacts"] == {"telegram": chat}  # where the console's card starts the assistant by hand
    write(text="123")  # not a name: asked again, on Telegram
    got = telegram(sandbox, chat, 2, "no answer to a wrong name")
    assert "nome completo" in got[1]["body"]
    write(text="lucas prado")
    got = telegram(sandbox, chat, 3, "no CPF question")
    assert got[2]["body"].startswith("Obrigada, Lucas!")
    write(text="529.982.247-25")
    got = telegram(sandbox, chat, 4, "no procedure question")
    listed = got[3]
    assert [b["title"] for b in listed["buttons"]] == ["Botox", "Peeling", "Laser", "Preenchimento"]
    tap = next(b["id"] for b in listed["buttons"] if b["title"] == "Botox")
    write(callback_data=tap)
    write(callback_data=tap)  # tapped twice: never advances twice
    got = telegram(sandbox, chat, 5, "no region question")
    regions = got[4]
    assert [b["title"] for b in regions["buttons"]] == ["Moema", "Av. Paulista"]
    write(callback_data=regions["buttons"][0]["id"])

    got = telegram(sandbox, chat, 6, "no payment link on Telegram")
    assert "150.00 BRL" in got[5]["body"]
    pay_url = re.search(r"https?://\S+/public/payments/pay\?token=\S+", got[5]["body"])
    assert pay_url, got[5]["body"]
    page = httpx.get(pay_url.group(0), headers={"accept": "application/json"}, timeout=10).json()
    assert (page["amount"], page["payable"]) == ("150.00", True)
    provider.checkout(page["checkout_url"], "pix")

    def booking_link() -> list[dict[str, Any]]:
        items = sandbox.http.get("/sandbox/telegram/messages", params={"to": chat}).json()["items"]
        return [m for m in items if "/public/scheduling/booking?token=" in (m["body"] or "")]

    booking = wait_until(booking_link, 30.0, "no booking link after the payment")[0]
    assert "Moema" in booking["body"]
    book_url = re.search(r"https?://\S+", booking["body"])
    assert book_url, booking["body"]
    token = parse_qs(urlparse(book_url.group(0)).query)["token"][0]
    day = datetime.now(SP).date() + timedelta(days=4)
    phone = f"+55119{random.randint(10_000_000, 99_999_999)}"  # the booking page asks for the phone
    with httpx.Client(base_url=stack.gateway_url, timeout=15.0) as patient:
        slots = ok(patient.get("/public/scheduling/booking/slots", params={
            "token": token, "branch_id": clinic["moema"]["id"], "procedure_id": clinic["botox"]["id"],
            "from": day.isoformat(), "to": day.isoformat()}))["slots"]  # fmt: skip
        chosen = next(s for s in slots if s["local"].endswith("11:00"))
        booked = ok(patient.post("/public/scheduling/booking", params={"token": token}, json={
            "branch_id": clinic["moema"]["id"], "procedure_id": clinic["botox"]["id"],
            "starts_at": chosen["starts_at"], "name": "Lucas Prado", "phone": phone}), 201)  # fmt: skip

    def closed() -> list[dict[str, Any]]:
        items = sandbox.http.get("/sandbox/telegram/messages", params={"to": chat}).json()["items"]
        return [m for m in items if "11:00" in (m["body"] or "") and "Tudo certo" in m["body"]]

    wait_until(closed, 30.0, "the assistant never closed the conversation on Telegram")
    agenda = ok(admin.http.get(f"{API}/agenda", params={"date": day.isoformat(), "branch_id": clinic["moema"]["id"]}))
    assert booked["appointment_id"] in [i["id"] for i in agenda["items"]]
    done = ok(admin.http.get(f"/api/v1/funnel/assistant/processes/{mine['id']}"))
    assert (done["status"], done["name"], done["cpf"]) == ("completed", "Lucas Prado", "52998224725")
    assert [h["detail"] for h in done["history"] if h["action"] == "answered"].count("procedure Botox") == 1
    # One lead for the chat however many messages it sent, and the conversation is the lead's.
    linked = ok(admin.http.get("/api/v1/notifications/conversations", params={"lead_id": mine["lead_id"]}))["items"]
    assert len(linked) == 1, "the Telegram conversation never got its lead"
    same = [p for p in ok(admin.http.get("/api/v1/funnel/assistant/processes"))["items"] if p["address"] == chat]
    assert len(same) == 1
