"""The hair-transplant valuation -> quote process end to end through the gateway on the real stack (docs/quotes.md):
a prospect's five photos through the signed link (kept in the object store) -> the diagnostic doctor assigned ->
valuation and a quote priced from the clinic's costs and discounts -> the prospect's WhatsApp message with the quote
link -> 24 h without an answer on the funnel's moved clock: the agent is told -> accepted through the link: the
prospect and the agent are told -> 24 h without the clinic's reply: the agent is told again. Bad input on the way."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api, Sandbox, staff, wait_until

pytestmark = pytest.mark.e2e
API = "/api/v1/funnel"
#: Larger than the gateway's default public body limit (256 KiB): photos have their own.
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 1200


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


def problem(answer: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    if field is not None:
        assert field in {e["field"] for e in body.get("errors", [])} | {body.get("field")}, body
    return body


class Clock:
    """Moves the stack's funnel clock (api and worker read FUNNEL_CLOCK_FILE)."""

    def __init__(self, stack: Stack) -> None:
        self.path = stack.clock_file("funnel")

    def move(self, by: timedelta) -> None:
        self.path.write_text(str(by.total_seconds()))
        time.sleep(0.05)

    def reset(self) -> None:
        self.path.write_text("0")


@pytest.fixture
def clock(stack: Stack) -> Iterator[Clock]:
    moved = Clock(stack)
    yield moved
    moved.reset()


def messages(api: Api, lead_id: str, template: str) -> list[dict[str, Any]]:
    return [m for m in api.messages(lead_id) if m["template"] == template]


def test_the_quote_flow(stack: Stack, admin: Api, clock: Clock, unique_phone: Any) -> None:
    public = httpx.Client(base_url=stack.gateway_url, timeout=20.0)
    agent, agent_id = staff(stack, admin, "sales_agent")
    doctor, doctor_id = staff(stack, admin, "diagnostic_doctor")
    lead = admin.create_lead(name="Javier Ruiz", phone=unique_phone(), source="whatsapp")

    fue = ok(admin.http.post(f"{API}/quote-costs", json={"name": "FUE 2500", "price": "85000", "currency": "MXN"}), 201)
    prp = ok(admin.http.post(f"{API}/quote-costs", json={"name": "PRP", "price": "3500", "currency": "MXN"}), 201)
    launch = ok(admin.http.post(f"{API}/quote-discounts", json={"name": "Launch", "percent": "10"}), 201)
    problem(admin.http.post(f"{API}/quote-discounts", json={"name": "Too much", "percent": "120"}), 422, "percent")

    body = {"name": "Javier Ruiz", "phone": lead["phone"], "locale": "es", "lead_id": lead["id"], "agent_id": agent_id}
    # The funnel learns new staff from the gateway's events a moment later.
    opened = wait_until(
        lambda: (r := admin.http.post(f"{API}/valuations", json=body)).status_code == 201 and r.json(),
        30,
        "the funnel never learnt of the sales agent",
    )
    valuation_id, upload = opened["id"], opened["upload_url"]
    token = upload.split("token=", 1)[1]
    assert upload.startswith(f"{stack.gateway_url}/public/funnel/photos?token=")
    wait_until(lambda: messages(admin, lead["id"], "valuation_photos"), 30, "no photo request to the prospect")

    # Bad input: a forged link, a wrong slot, a file that is not a photo.
    problem(
        public.put("/public/funnel/photos/front", params={"token": token[:-4] + "AAAA"}, content=JPEG), 401, "token"
    )
    problem(public.put("/public/funnel/photos/nape", params={"token": token}, content=JPEG), 422, "slot")
    problem(public.put("/public/funnel/photos/front", params={"token": token}, content=b"%PDF-1.7"), 422, "photo")
    for slot in ("front", "top", "crown", "left"):
        page = ok(public.put(f"/public/funnel/photos/{slot}", params={"token": token}, content=JPEG))
    assert page["missing"] == ["right"]
    assert not page["complete"]
    page = ok(public.put("/public/funnel/photos/right", params={"token": token}, content=JPEG))
    assert page["complete"]

    def assigned() -> dict[str, Any] | None:
        card: dict[str, Any] = ok(admin.http.get(f"{API}/valuations/{valuation_id}"))
        return card if card["valuation"]["doctor_id"] == doctor_id else None

    card = wait_until(assigned, 30, "the valuation never went to the diagnostic doctor")
    assert card["valuation"]["state"] == "valuing"
    assert card["missing"] == []
    # Every diagnostic doctor is told the profile is complete; the chosen one that it is theirs.
    ready = wait_until(lambda: messages(admin, lead["id"], "staff_valuation_ready"), 30, "doctors never told")
    assert [m["recipient"] for m in ready] == ["role:diagnostic_doctor"]
    mine = wait_until(lambda: messages(admin, lead["id"], "staff_valuation_assigned"), 30, "doctor never told")
    assert [m["recipient"] for m in mine] == [f"user:{doctor_id}"]
    photo = httpx.get(card["photos"][0]["url"], timeout=10)  # a presigned URL straight to the object store
    assert photo.status_code == 200
    assert photo.content == JPEG

    # Only a diagnostic doctor records the valuation; a quote needs items from the clinic's lists.
    problem(agent.http.post(f"{API}/valuations/{valuation_id}/valuation", json={"summary": "x"}), 403)
    ok(doctor.http.post(f"{API}/valuations/{valuation_id}/valuation", json={"summary": "Norwood III", "grafts": 2500}))
    problem(doctor.http.put(f"{API}/valuations/{valuation_id}/quote", json={"items": []}), 422, "items")
    quote = ok(
        doctor.http.put(
            f"{API}/valuations/{valuation_id}/quote",
            json={
                "items": [{"cost_id": fue["id"]}, {"cost_id": prp["id"], "quantity": 2}],
                "discount_id": launch["id"],
            },
        )
    )
    assert not messages(admin, lead["id"], "quote_sent")  # saved to send later
    ok(doctor.http.post(f"{API}/valuations/{valuation_id}/quote/send"))
    sent = wait_until(lambda: messages(admin, lead["id"], "quote_sent"), 30, "the quote never reached the prospect")
    link = re.search(r"https?://\S+/public/funnel/quotes\?token=\S+", sent[0]["body"])
    assert link, sent[0]["body"]
    quote_token = link.group(0).split("token=", 1)[1]
    page = ok(public.get("/public/funnel/quotes", params={"token": quote_token}))
    assert (page["total"], page["currency"], page["state"]) == ("82800.00", "MXN", "quote_sent")
    problem(public.get("/public/funnel/quotes", params={"token": token}), 401, "token")  # the photo link

    # 24 h without the prospect's answer: the agent is told, once.
    clock.move(timedelta(hours=24, minutes=1))
    wait_until(lambda: messages(admin, lead["id"], "staff_quote_unanswered"), 40, "the agent was never told")
    unanswered = messages(admin, lead["id"], "staff_quote_unanswered")
    assert [m["recipient"] for m in unanswered] == [f"user:{agent_id}"]

    accepted = ok(public.post("/public/funnel/quotes/accept", params={"token": quote_token}, json={}))
    assert (accepted["state"], accepted["answer"]) == ("accepted", "accept")
    ok(public.post("/public/funnel/quotes/accept", params={"token": quote_token}, json={}))  # a double tap: no-op
    problem(public.post("/public/funnel/quotes/reject", params={"token": quote_token}, json={}), 409)
    wait_until(lambda: messages(admin, lead["id"], "quote_accepted"), 30, "the prospect was never told")
    told = wait_until(lambda: messages(admin, lead["id"], "staff_quote_accepted"), 30, "the agent was never told")
    assert len(told) == 1

    # Accepted and 24 h without the clinic's reply: the agent is told again.
    clock.move(timedelta(hours=48, minutes=2))
    wait_until(lambda: len(messages(admin, lead["id"], "staff_quote_unanswered")) == 2, 40, "no second notice")
    time.sleep(1.0)
    assert len(messages(admin, lead["id"], "staff_quote_unanswered")) == 2  # once per wait
    ok(agent.http.post(f"{API}/valuations/{valuation_id}/reply", json={"note": "Called, surgery booked"}))
    card = ok(admin.http.get(f"{API}/valuations/{valuation_id}"))
    assert card["valuation"]["state"] == "closed"
    assert {"opened", "photo", "complete", "assigned", "valuation", "sent", "unanswered", "accept", "replied"} <= {
        h["kind"] for h in card["history"]
    }
    assert quote["id"] == card["quotes"][0]["id"]


def test_a_photo_sent_on_whatsapp_fills_the_first_missing_slot(
    stack: Stack, admin: Api, sandbox: Sandbox, unique_phone: Any
) -> None:
    """The prospect answers the photo request with a picture on WhatsApp: notifications fetches it from the
    provider (Graph API media URL, with the token) into the object store, message.received carries it, and the
    valuation counts it in the first missing slot; the conversation shows it to staff. A document is no photo."""
    _, agent_id = staff(stack, admin, "sales_agent")
    phone = unique_phone()
    lead = admin.create_lead(name="Rosa Díaz", phone=phone, source="instagram")
    ok(admin.http.put("/api/v1/notifications/channels/whatsapp", json={"account_id": "100000000000001"}))
    body = {"name": "Rosa Díaz", "phone": lead["phone"], "locale": "es", "lead_id": lead["id"], "agent_id": agent_id}
    opened = wait_until(
        lambda: (r := admin.http.post(f"{API}/valuations", json=body)).status_code == 201 and r.json(),
        30,
        "the funnel never learnt of the sales agent",
    )
    token = opened["upload_url"].split("token=", 1)[1]
    public = httpx.Client(base_url=stack.gateway_url, timeout=20.0)
    ok(public.put("/public/funnel/photos/front", params={"token": token}, content=JPEG))

    def send(**extra: Any) -> str:
        answer = sandbox.http.post("/sandbox/whatsapp/inbound", json={"sender": phone, "name": "Rosa", **extra})
        assert answer.json()["status"] == 200, answer.text
        return str(answer.json()["message_id"])

    pdf = base64.b64encode(b"%PDF-1.7 a lab report").decode()
    send(media=pdf, media_kind="document", mime_type="application/pdf", caption="mis análisis")
    send(media=base64.b64encode(JPEG).decode(), caption="la parte de arriba")

    def counted() -> dict[str, Any] | None:
        card: dict[str, Any] = ok(admin.http.get(f"{API}/valuations/{opened['id']}"))
        return card if len(card["photos"]) == 2 else None

    card = wait_until(counted, 40, "the WhatsApp photo never reached the valuation")
    by_slot = {p["slot"]: p for p in card["photos"]}
    assert by_slot["top"]["source"] == "whatsapp"
    assert httpx.get(by_slot["top"]["url"], timeout=10).content == JPEG  # the funnel's own copy
    assert card["missing"] == ["crown", "left", "right"]
    time.sleep(2.0)  # the document is never counted
    assert len(ok(admin.http.get(f"{API}/valuations/{opened['id']}"))["photos"]) == 2

    # Staff see both in the person's conversation, each behind a short-lived link to notifications' copy.
    detail = wait_until(
        lambda: [
            d
            for c in ok(admin.http.get("/api/v1/notifications/conversations/"))["items"]
            if (d := ok(admin.http.get(f"/api/v1/notifications/conversations/{c['id']}")))
            and any(i.get("media") and i["text"] == "la parte de arriba" for i in d["items"])
        ],
        30,
        "the photo is not in the conversation",
    )[0]
    media = [m for i in detail["items"] for m in i.get("media", [])]
    assert sorted(m["content_type"] for m in media) == ["application/pdf", "image/jpeg"]
    photo = next(m for m in media if m["kind"] == "image" and m["content_type"] == "image/jpeg")
    assert httpx.get(photo["url"], timeout=10).content == JPEG
