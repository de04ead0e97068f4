"""The Stripe and Asaas look-alikes, driven in-process: their API shapes, the hosted pages, the events they
would post (held, then inspected) and how those are signed or authenticated."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from sandbox.asaas.app import create_app as create_asaas
from sandbox.stripe.app import create_app as create_stripe

SK = "sk_test_sandbox"
STRIPE = {"authorization": f"Bearer {SK}"}
AACT = "$aact_sandbox"
ASAAS = {"access_token": AACT}


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def stripe(monkeypatch: pytest.MonkeyPatch, _restore_logging: None) -> AsyncIterator[AsyncTestClient[Any]]:
    monkeypatch.setenv("SANDBOX_STRIPE_SECRET_KEY", SK)
    monkeypatch.setenv("SANDBOX_STRIPE_PUBLIC_URL", "http://testserver.local")
    async with AsyncTestClient(app=create_stripe()) as client:
        yield client


@pytest.fixture
async def asaas(monkeypatch: pytest.MonkeyPatch, _restore_logging: None) -> AsyncIterator[AsyncTestClient[Any]]:
    monkeypatch.setenv("SANDBOX_ASAAS_API_KEY", AACT)
    monkeypatch.setenv("SANDBOX_ASAAS_PUBLIC_URL", "http://testserver.local")
    async with AsyncTestClient(app=create_asaas()) as client:
        yield client


def _held(client: AsyncTestClient[Any], book: str) -> list[tuple[str, bytes, dict[str, str]]]:
    sender = getattr(client.app.state, book).sender
    return [(url, body, headers(body)) for url, body, headers, _ in sender.held]


SESSION = {
    "mode": "payment",
    "client_reference_id": "0193a0d0-2222-7b00-8c00-0000000000b2",
    "metadata[charge_id]": "0193a0d0-2222-7b00-8c00-0000000000b2",
    "line_items[0][quantity]": "1",
    "line_items[0][price_data][currency]": "brl",
    "line_items[0][price_data][unit_amount]": "31500",
    "line_items[0][price_data][product_data][name]": "Limpeza de pele",
    "success_url": "http://clinic.example/done",
    "payment_method_types[0]": "card",
    "payment_method_types[1]": "pix",
}


async def test_stripe_sessions_need_the_key_and_honour_idempotency(stripe: AsyncTestClient[Any]) -> None:
    assert (await stripe.post("/v1/checkout/sessions", data=SESSION)).status_code == 401
    bad = await stripe.post("/v1/checkout/sessions", data={**SESSION, "line_items[0][price_data][unit_amount]": "0"})
    assert bad.status_code == 401  # no key: refused before anything else
    bad = await stripe.post(
        "/v1/checkout/sessions", data={**SESSION, "line_items[0][price_data][unit_amount]": "-5"}, headers=STRIPE
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "line_items[0][price_data][unit_amount]"
    keyed = {**STRIPE, "idempotency-key": "k1"}
    first = await stripe.post("/v1/checkout/sessions", data=SESSION, headers=keyed)
    again = await stripe.post("/v1/checkout/sessions", data=SESSION, headers=keyed)
    assert first.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["url"].startswith("http://testserver.local/c/pay/cs_test_")
    other = await stripe.post("/v1/checkout/sessions", data={**SESSION, "client_reference_id": "x"}, headers=keyed)
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"


async def test_stripe_card_payment_signs_checkout_completed_per_endpoint(stripe: AsyncTestClient[Any]) -> None:
    endpoint = await stripe.post(
        "/v1/webhook_endpoints",
        data={"url": "http://127.0.0.1:9/hook", "enabled_events[0]": "checkout.session.completed"},
        headers=STRIPE,
    )
    secret = endpoint.json()["secret"]
    assert secret.startswith("whsec_")
    listed = (await stripe.get("/v1/webhook_endpoints", headers=STRIPE)).json()["data"]
    assert "secret" not in listed[0]
    await stripe.post("/sandbox/stripe/control", json={"mode": "hold"})
    session = (await stripe.post("/v1/checkout/sessions", data=SESSION, headers=STRIPE)).json()
    path = session["url"].removeprefix("http://testserver.local")
    page = await stripe.get(path)
    assert 'value="card"' in page.text
    assert 'value="pix"' in page.text
    chosen = await stripe.post(f"{path}/method", data={"method": "card"})
    assert "card_number" in chosen.text
    paid = await stripe.post(f"{path}/confirm", data={"method": "card"})
    intent_id = re.search(r'<span id="payment-id">(pi_[^<]+)</span>', paid.text)
    assert intent_id, paid.text
    intent = (await stripe.get(f"/v1/payment_intents/{intent_id.group(1)}", headers=STRIPE)).json()
    assert (intent["status"], intent["amount_received"]) == ("succeeded", 31500)
    [(url, body, headers)] = _held(stripe, "stripe_book")
    assert url == "http://127.0.0.1:9/hook"
    t, v1 = (p.split("=", 1)[1] for p in headers["stripe-signature"].split(","))
    assert hmac.compare_digest(v1, hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest())
    event = msgspec.json.decode(body)
    assert event["type"] == "checkout.session.completed"
    obj = event["data"]["object"]
    assert (obj["payment_status"], obj["payment_intent"], obj["client_reference_id"]) == (
        "paid",
        intent_id.group(1),
        SESSION["client_reference_id"],
    )
    refund = await stripe.post("/v1/refunds", data={"payment_intent": intent["id"], "amount": "1500"}, headers=STRIPE)
    assert refund.json()["amount"] == 1500
    too_much = await stripe.post(
        "/v1/refunds", data={"payment_intent": intent["id"], "amount": "30001"}, headers=STRIPE
    )
    assert too_much.status_code == 400


async def test_stripe_pix_is_delayed_and_can_fail(stripe: AsyncTestClient[Any]) -> None:
    await stripe.post(
        "/v1/webhook_endpoints", data={"url": "http://127.0.0.1:9/hook", "enabled_events[0]": "*"}, headers=STRIPE
    )
    await stripe.post("/sandbox/stripe/control", json={"mode": "hold", "fail_next": 1})
    session = (await stripe.post("/v1/checkout/sessions", data=SESSION, headers=STRIPE)).json()
    path = session["url"].removeprefix("http://testserver.local")
    shown = await stripe.post(f"{path}/method", data={"method": "pix"})
    assert re.search(r'<code id="pix-code">000201', shown.text)
    await stripe.post(f"{path}/confirm", data={"method": "pix"})
    kinds = [msgspec.json.decode(body)["type"] for _, body, _ in _held(stripe, "stripe_book")]
    assert kinds == ["checkout.session.completed", "checkout.session.async_payment_failed"]
    assert (await stripe.get(path)).status_code == 410  # the session is complete


async def test_asaas_pix_charge_invoice_and_webhook_token(asaas: AsyncTestClient[Any]) -> None:
    assert (await asaas.post("/v3/customers", json={"name": "Maria"})).status_code == 401
    hook = await asaas.post(
        "/v3/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "authToken": "tok-123", "events": ["PAYMENT_RECEIVED"]},
        headers=ASAAS,
    )
    assert "authToken" not in hook.json()
    bad_document = await asaas.post("/v3/customers", json={"name": "Maria", "cpfCnpj": "123"}, headers=ASAAS)
    assert bad_document.json()["errors"][0]["code"] == "invalid_cpfCnpj"
    without_document = (await asaas.post("/v3/customers", json={"name": "Maria"}, headers=ASAAS)).json()
    refused = await asaas.post(
        "/v3/payments",
        json={"customer": without_document["id"], "billingType": "PIX", "value": 350, "dueDate": "2099-01-01"},
        headers=ASAAS,
    )
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (400, "invalid_customer.cpfCnpj")
    customer = (
        await asaas.post("/v3/customers", json={"name": "Maria Souza", "cpfCnpj": "52998224725"}, headers=ASAAS)
    ).json()
    assert customer["id"].startswith("cus_")
    past = await asaas.post(
        "/v3/payments",
        json={"customer": customer["id"], "billingType": "PIX", "value": 350, "dueDate": "2001-01-01"},
        headers=ASAAS,
    )
    assert past.status_code == 400
    await asaas.post("/sandbox/asaas/control", json={"mode": "hold"})
    made = await asaas.post(
        "/v3/payments",
        json={
            "customer": customer["id"],
            "billingType": "PIX",
            "value": 350.0,
            "dueDate": "2099-01-01",
            "externalReference": "charge-1",
        },
        headers=ASAAS,
    )
    payment = made.json()
    assert (payment["status"], payment["billingType"]) == ("PENDING", "PIX")
    qr = (await asaas.get(f"/v3/payments/{payment['id']}/pixQrCode", headers=ASAAS)).json()
    assert qr["payload"].startswith("000201")
    assert qr["encodedImage"]
    path = payment["invoiceUrl"].removeprefix("http://testserver.local")
    assert qr["payload"].replace("&", "&amp;") in (await asaas.get(path)).text
    assert (await asaas.post(f"{path}/pay")).status_code == 200
    read = (await asaas.get(f"/v3/payments/{payment['id']}", headers=ASAAS)).json()
    assert read["status"] == "RECEIVED"
    found = (await asaas.get("/v3/payments", params={"externalReference": "charge-1"}, headers=ASAAS)).json()
    assert [p["id"] for p in found["data"]] == [payment["id"]]
    # PAYMENT_CREATED went to no webhook (not subscribed); PAYMENT_RECEIVED is held with its token.
    [(_, body, headers)] = _held(asaas, "asaas_book")
    assert headers["asaas-access-token"] == "tok-123"
    event = msgspec.json.decode(body)
    assert (event["event"], event["payment"]["id"], event["payment"]["externalReference"]) == (
        "PAYMENT_RECEIVED",
        payment["id"],
        "charge-1",
    )
    partial = await asaas.post(f"/v3/payments/{payment['id']}/refund", json={"value": 50}, headers=ASAAS)
    assert partial.json()["status"] == "RECEIVED"
    rest = await asaas.post(f"/v3/payments/{payment['id']}/refund", json={}, headers=ASAAS)
    assert rest.json()["status"] == "REFUNDED"


async def test_stripe_answers_the_shared_test_controls(stripe: AsyncTestClient[Any]) -> None:
    await _check_controls(stripe, "stripe")


async def test_asaas_answers_the_shared_test_controls(asaas: AsyncTestClient[Any]) -> None:
    await _check_controls(asaas, "asaas")


async def _check_controls(client: AsyncTestClient[Any], name: str) -> None:
    """The controls are one shared controller: a mode, held events released, an unknown event, the log, reset."""
    base = f"/sandbox/{name}"
    refused = await client.post(f"{base}/control", json={"mode": "sometimes"})
    assert refused.status_code == 400
    assert "mode must be one of" in refused.json()["detail"]
    assert (await client.post(f"{base}/control", json={"mode": "hold", "fail_next": 2})).status_code == 200
    assert (await client.get(f"{base}/control")).json() == {"mode": "hold", "fail_next": 2}
    book = getattr(client.app.state, f"{name}_book")
    book.sender.retry_delay = 0.0
    book.sender.held.append(("http://127.0.0.1:9/hook", b"{}", lambda body: {}, {"event": "held"}))
    assert (await client.get(f"{base}/deliveries")).json() == {"items": [], "held": 1}
    assert (await client.post(f"{base}/release")).json() == {"delivered": 1}
    deliveries = (await client.get(f"{base}/deliveries")).json()
    # Nothing listens on port 9: the sender tried, logged each attempt with no answer, and holds nothing now.
    assert deliveries["held"] == 0
    assert [(d["attempt"], d["status"], d["event"]) for d in deliveries["items"]] == [
        (attempt, 0, "held") for attempt in (1, 2, 3, 4)
    ]
    assert (await client.post(f"{base}/events/evt_nope/resend")).status_code == 404
    assert (await client.get(f"{base}/events")).json() == {"items": []}
    assert (await client.post(f"{base}/reset")).json() == {"mode": "normal"}
    assert (await client.get(f"{base}/control")).json() == {"mode": "normal", "fail_next": 0}
