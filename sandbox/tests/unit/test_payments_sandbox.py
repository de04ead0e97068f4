"""The Mercado Pago look-alike, driven in-process: its API shape, the hosted checkout and the controls."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from sandbox.payments.app import create_app

TOKEN = "APP_USR-sandbox-test"
AUTH = {"authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch, _restore_logging: None) -> AsyncIterator[AsyncTestClient[Any]]:
    monkeypatch.setenv("SANDBOX_PAYMENTS_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("SANDBOX_PAYMENTS_PUBLIC_URL", "http://testserver.local")
    async with AsyncTestClient(app=create_app()) as test_client:
        yield test_client


def _preference(**over: Any) -> dict[str, Any]:
    return {
        "items": [{"id": "c1", "title": "Limpeza de pele", "quantity": 1, "unit_price": 315.0, "currency_id": "BRL"}],
        "external_reference": "0193a0d0-2222-7b00-8c00-0000000000b2",
        "notification_url": "http://127.0.0.1:9/webhooks/payments/mercadopago?clinic=x",
        "payment_methods": {"excluded_payment_types": [{"id": "debit_card"}, {"id": "ticket"}]},
        **over,
    }


async def _pay(client: AsyncTestClient[Any], pref: dict[str, Any], method: str) -> str:
    path = pref["init_point"].removeprefix("http://testserver.local")
    page = await client.get(path)
    assert page.status_code == 200
    assert 'value="pix"' in page.text
    assert 'value="credit"' in page.text
    assert 'value="debit"' not in page.text  # excluded by the preference
    chosen = await client.post("/checkout/v1/method", data={"pref_id": pref["id"], "method": method})
    assert chosen.status_code == 200
    if method == "pix":
        assert re.search(r'<code id="pix-code">000201', chosen.text)
        assert "<svg" in chosen.text
    paid = await client.post("/checkout/v1/pay", data={"pref_id": pref["id"], "method": method})
    found = re.search(r'<span id="payment-id">(\d+)</span>', paid.text)
    assert found, paid.text
    return found.group(1)


async def test_preferences_need_the_access_token(client: AsyncTestClient[Any]) -> None:
    assert (await client.post("/checkout/preferences", json=_preference())).status_code == 401
    bad = await client.post("/checkout/preferences", json={"items": []}, headers=AUTH)
    assert bad.status_code == 400
    made = await client.post("/checkout/preferences", json=_preference(), headers=AUTH)
    assert made.status_code == 201
    assert made.json()["init_point"].startswith("http://testserver.local/checkout/v1/redirect?pref_id=")


async def test_an_idempotency_key_gives_the_same_preference(client: AsyncTestClient[Any]) -> None:
    headers = {**AUTH, "x-idempotency-key": "k1"}
    first = await client.post("/checkout/preferences", json=_preference(), headers=headers)
    again = await client.post("/checkout/preferences", json=_preference(), headers=headers)
    assert first.json()["id"] == again.json()["id"]


async def test_pay_by_pix_then_read_search_and_refund(client: AsyncTestClient[Any]) -> None:
    await client.post("/sandbox/payments/control", json={"mode": "hold"})
    pref = (await client.post("/checkout/preferences", json=_preference(), headers=AUTH)).json()
    payment_id = await _pay(client, pref, "pix")
    payment = (await client.get(f"/v1/payments/{payment_id}", headers=AUTH)).json()
    assert (payment["status"], payment["payment_type_id"], payment["transaction_amount"]) == (
        "approved",
        "bank_transfer",
        315.0,
    )
    assert (await client.get(f"/v1/payments/{payment_id}")).status_code == 401
    assert (await client.get("/v1/payments/404404", headers=AUTH)).status_code == 404
    found = await client.get(
        "/v1/payments/search", params={"external_reference": pref["external_reference"]}, headers=AUTH
    )
    assert [p["id"] for p in found.json()["results"]] == [payment_id]
    assert (await client.get("/sandbox/payments/deliveries")).json()["held"] == 1
    part = await client.post(f"/v1/payments/{payment_id}/refunds", json={"amount": 15.0}, headers=AUTH)
    assert part.status_code == 201
    assert (
        await client.post(f"/v1/payments/{payment_id}/refunds", json={"amount": 301.0}, headers=AUTH)
    ).status_code == 400
    rest = await client.post(f"/v1/payments/{payment_id}/refunds", json={}, headers=AUTH)
    assert rest.json()["amount"] == 300.0
    assert (await client.get(f"/v1/payments/{payment_id}", headers=AUTH)).json()["status"] == "refunded"


async def test_controls(client: AsyncTestClient[Any]) -> None:
    assert (await client.post("/sandbox/payments/control", json={"mode": "sideways"})).status_code == 400
    await client.post("/sandbox/payments/control", json={"mode": "none", "fail_next": 1})
    pref = (await client.post("/checkout/preferences", json=_preference(), headers=AUTH)).json()
    refused = await _pay(client, pref, "credit")
    assert (await client.get(f"/v1/payments/{refused}", headers=AUTH)).json()["status"] == "rejected"
    approved = await _pay(client, pref, "credit")
    assert (await client.get(f"/v1/payments/{approved}", headers=AUTH)).json()["status"] == "approved"
    assert (await client.get("/sandbox/payments/deliveries")).json() == {"items": [], "held": 0}
