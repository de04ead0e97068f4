"""Stripe and Asaas end to end through the gateway, each against its look-alike sandbox (this module runs after
test_payments.py: it moves the payments clock forward for reconciliation). A clinic connects its
own account (its webhook registered at the provider, its credentials sealed at rest), a payment link is paid on
the provider's hosted page, the provider's signed (Stripe) or token-authenticated (Asaas) webhook comes through
the public ingress, `payment.confirmed` reaches the broker; forged, stale, tampered, replayed, duplicate and
out-of-order deliveries change nothing more; a refund goes to the provider."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from html import unescape
from typing import Any

import httpx
import msgspec
import pytest

from devkit.stack import Stack
from payments import pix
from payments.providers import stripe as stripe_adapter
from tests.e2e.conftest import Api, new_clinic, staff, wait_until
from tests.e2e.payments.test_payments import (
    CONFIRMED,
    _in_thread,
    assert_problem,
    broker_events,
    charge,
    charge_body,
    create,
    move_clock,
    outbox_events,
    receipts_count,
    wait_status,
)
from tests.e2e.payments.test_payments import (
    Provider as MercadoPagoProvider,
)

pytestmark = pytest.mark.e2e
STRIPE_EVENTS = (
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "charge.refunded",
)


def _stored_account(stack: Stack, clinic_id: str) -> tuple[str, str]:
    from sqlalchemy import select

    from kit.db import make_engine
    from payments.models import accounts

    async def read() -> tuple[str, str]:
        engine = make_engine(stack.database_url("payments"), pool_size=1)
        try:
            async with engine.connect() as conn:
                row = (
                    await conn.execute(
                        select(accounts.c.access_token, accounts.c.webhook_secret).where(
                            accounts.c.tenant_id == clinic_id
                        )
                    )
                ).one()
                return row.access_token, row.webhook_secret
        finally:
            await engine.dispose()

    return _in_thread(read())  # type: ignore[no-any-return]


class Provider:
    """A sandbox's control API and a browser on its hosted page."""

    def __init__(self, stack: Stack, name: str) -> None:
        self.name = name
        self.http = httpx.Client(base_url=stack.url(f"sandbox_{name}"), timeout=20.0)

    def control(self, mode: str = "normal", fail_next: int = 0) -> None:
        self.http.post(f"/sandbox/{self.name}/control", json={"mode": mode, "fail_next": fail_next}).raise_for_status()

    def deliveries(self, **match: str) -> list[dict[str, Any]]:
        items = self.http.get(f"/sandbox/{self.name}/deliveries").json()["items"]
        return [d for d in items if all(d.get(k) == v for k, v in match.items())]

    def answers(self, **match: str) -> list[str]:
        return [msgspec.json.decode(d["answer"])["outcome"] for d in self.deliveries(**match) if d["status"] == 200]


@pytest.fixture(scope="module")
def stripe(stack: Stack) -> Iterator[Provider]:
    sandbox = Provider(stack, "stripe")
    yield sandbox
    sandbox.control("normal")
    sandbox.http.close()


@pytest.fixture(scope="module")
def asaas(stack: Stack) -> Iterator[Provider]:
    sandbox = Provider(stack, "asaas")
    yield sandbox
    sandbox.control("normal")
    sandbox.http.close()


@pytest.fixture(autouse=True)
def _normal_providers(stripe: Provider, asaas: Provider) -> None:
    stripe.control("normal")
    asaas.control("normal")


# --- Stripe ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stripe_clinic(stack: Stack, admin: Api, stripe: Provider) -> tuple[Api, str, str]:
    """A clinic on its own Stripe account: its endpoint registered (Developers -> Webhooks), then connected."""
    clinic = new_clinic(stack, admin, "Clínica Stripe")
    clinic_id = clinic.http.get("/api/v1/me").json()["tenant"]["id"]
    key = stack.env()["SANDBOX_STRIPE_SECRET_KEY"]
    url = f"{stack.gateway_url}/webhooks/payments/stripe?clinic={clinic_id}"
    form = {"url": url, **{f"enabled_events[{i}]": e for i, e in enumerate(STRIPE_EVENTS)}}
    endpoint = stripe.http.post("/v1/webhook_endpoints", data=form, headers={"authorization": f"Bearer {key}"})
    assert endpoint.status_code == 200, endpoint.text
    secret = endpoint.json()["secret"]
    saved = clinic.http.put(
        "/api/v1/payments/settings",
        json={
            "provider": "stripe",
            "access_token": key,
            "webhook_secret": secret,
            "api_url": stack.url("sandbox_stripe"),
        },
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["webhook_url"] == url
    assert key not in saved.text
    assert secret not in saved.text
    return clinic, clinic_id, secret


def _pay_stripe(url: str, method: str) -> str:
    """Open the Checkout link as a browser, pick the method, pay; returns the PaymentIntent id."""
    with httpx.Client(timeout=20.0, follow_redirects=True) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        assert f'value="{method}"' in page.text
        chosen = browser.post(f"{url}/method", data={"method": method})
        assert chosen.status_code == 200, chosen.text
        if method == "pix":
            code = re.search(r'<code id="pix-code">([^<]+)</code>', chosen.text)
            assert code, chosen.text
            pix.parse(unescape(code.group(1)))  # a valid BR Code with its CRC
        paid = browser.post(f"{url}/confirm", data={"method": method})
        assert paid.status_code == 200, paid.text
        found = re.search(r'<span id="payment-id">(pi_[^<]+)</span>', paid.text)
        assert found, paid.text
        return found.group(1)


def test_stripe_card_payment_confirmed_through_the_gateway(
    stack: Stack, admin: Api, stripe: Provider, stripe_clinic: tuple[Api, str, str]
) -> None:
    clinic, clinic_id, _ = stripe_clinic
    token, secret = _stored_account(stack, clinic_id)
    assert token.startswith("sealed:v1:")  # the clinic's keys are sealed at rest
    assert secret.startswith("sealed:v1:")
    made = create(clinic, methods=["credit"])
    assert made["provider"] == "stripe"
    assert made["url"].startswith(f"{stack.url('sandbox_stripe')}/c/pay/cs_test_")
    intent = _pay_stripe(made["url"], "card")
    paid = wait_status(clinic, made["id"], "paid")
    assert (paid["provider_payment_id"], paid["method"], paid["amount"]) == (intent, "credit", "350.00")
    events = broker_events(stack, made["id"], CONFIRMED)
    assert [e["type"] for e in events].count(CONFIRMED) == 1
    confirmed = next(e for e in events if e["type"] == CONFIRMED)
    assert (confirmed["tenant_id"], confirmed["provider"]) == (clinic_id, "stripe")
    pdf = clinic.http.get(f"/api/v1/payments/payments/{made['id']}/receipt.pdf")
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert stripe.answers(type="checkout.session.completed", session=made["url"].rsplit("/", 1)[1]) == ["confirmed"]
    # Finance refunds part of it: the refund goes to Stripe first.
    finance = staff(stack, clinic, "finance")[0]
    refunded = finance.http.post(f"/api/v1/payments/payments/{made['id']}/refunds", json={"amount": "50.00"})
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "partially_refunded"
    # Stripe reports our own refund back (charge.refunded, 50.00 so far): nothing more is recorded.
    wait_until(
        lambda: stripe.answers(type="charge.refunded", session=intent.replace("pi_", "ch_", 1)), 15.0, "no refund event"
    )
    assert stripe.answers(type="charge.refunded", session=intent.replace("pi_", "ch_", 1)) == ["no-change"]
    # Someone refunds 20.00 more in the Stripe Dashboard: its event is recorded as a refund.
    key = stack.env()["SANDBOX_STRIPE_SECRET_KEY"]
    stripe.http.post(
        "/v1/refunds", data={"payment_intent": intent, "amount": "2000"}, headers={"authorization": f"Bearer {key}"}
    ).raise_for_status()
    wait_until(lambda: charge(clinic, made["id"])["refunded_amount"] == "70.00", 15.0, "the dashboard refund was lost")
    assert outbox_events(stack, made["id"]).count("clinicflow.payments.payment.refunded.v1") == 2


def test_stripe_pix_is_confirmed_by_the_async_event_and_out_of_order_applies_once(
    stack: Stack, stripe: Provider, stripe_clinic: tuple[Api, str, str]
) -> None:
    clinic = stripe_clinic[0]
    stripe.control("out_of_order")  # async_payment_succeeded arrives before checkout.session.completed
    made = create(clinic, methods=["pix", "credit"])
    session = made["url"].rsplit("/", 1)[1]
    _pay_stripe(made["url"], "pix")
    paid = wait_status(clinic, made["id"], "paid")
    assert paid["method"] == "pix"
    wait_until(lambda: len(stripe.answers(session=session)) == 2, 15.0, "Stripe did not deliver both events")
    assert stripe.answers(type="checkout.session.async_payment_succeeded", session=session) == ["confirmed"]
    assert stripe.answers(type="checkout.session.completed", session=session) == ["no-change"]
    assert outbox_events(stack, made["id"]).count(CONFIRMED) == 1


def test_stripe_failed_pix_then_duplicates_apply_once(
    stack: Stack, stripe: Provider, stripe_clinic: tuple[Api, str, str]
) -> None:
    clinic = stripe_clinic[0]
    stripe.control("duplicate", fail_next=1)
    made = _asaas_charge(clinic)
    session = made["url"].rsplit("/", 1)[1]
    _pay_stripe(made["url"], "pix")
    failed = wait_status(clinic, made["id"], "failed")
    assert failed["failure_reason"]
    wait_until(lambda: len(stripe.answers(session=session)) == 4, 15.0, "Stripe did not deliver all four")
    assert sorted(stripe.answers(session=session)) == ["duplicate", "duplicate", "failed", "no-change"]
    assert outbox_events(stack, made["id"]).count("clinicflow.payments.payment.failed.v1") == 1


def test_stripe_forged_stale_tampered_and_replayed_deliveries(
    stack: Stack, stripe: Provider, stripe_clinic: tuple[Api, str, str]
) -> None:
    clinic, clinic_id, secret = stripe_clinic
    made = create(clinic, methods=["credit"])
    session = made["url"].rsplit("/", 1)[1]
    _pay_stripe(made["url"], "card")
    wait_status(clinic, made["id"], "paid")
    [event] = [
        e
        for e in stripe.http.get("/sandbox/stripe/events").json()["items"]
        if e["data"]["object"]["id"] == session and e["type"] == "checkout.session.completed"
    ]
    # A different session id (say, someone else's) under a forged or stale signature.
    body = msgspec.json.encode({**event, "id": f"evt_forged_{secrets.token_hex(4)}"})
    now = int(time.time())
    before = receipts_count(stack)
    url = f"/webhooks/payments/stripe?clinic={clinic_id}"
    with httpx.Client(base_url=stack.gateway_url, timeout=20.0) as http:
        cases = {
            "wrong secret": (body, stripe_adapter.sign("whsec_not_the_clinics", body, now)),
            "stale": (body, stripe_adapter.sign(secret, body, now - 301)),
            "tampered": (
                body.replace(b'"amount_total":35000', b'"amount_total":1'),
                stripe_adapter.sign(secret, body, now),
            ),
            "no signature": (body, ""),
        }
        for what, (raw, signature) in cases.items():
            answer = http.post(
                url, content=raw, headers={"content-type": "application/json", "stripe-signature": signature}
            )
            assert answer.status_code == 401, (what, answer.text)
            assert_problem(answer, 401, "stripe-signature")
        # A valid signature for another clinic's id is refused too: the clinic names whose secret applies.
        other = http.post(
            "/webhooks/payments/stripe?clinic=00000000-0000-7000-8000-000000000000",
            content=body,
            headers={"content-type": "application/json", "stripe-signature": stripe_adapter.sign(secret, body, now)},
        )
        assert other.status_code == 401, other.text
    assert receipts_count(stack) == before  # nothing stored for any of them
    # Stripe retries the same event: answered 200 "duplicate", nothing changes.
    stripe.http.post(f"/sandbox/stripe/events/{event['id']}/resend").raise_for_status()
    assert stripe.answers(event_id=event["id"]) == ["confirmed", "duplicate"]
    assert outbox_events(stack, made["id"]).count(CONFIRMED) == 1


def test_stripe_missing_webhook_is_found_by_reconciliation(
    stack: Stack, stripe: Provider, stripe_clinic: tuple[Api, str, str]
) -> None:
    clinic = stripe_clinic[0]
    stripe.control("none")
    made = create(clinic, methods=["credit"])
    intent = _pay_stripe(made["url"], "card")
    time.sleep(1.5)
    assert charge(clinic, made["id"])["status"] == "pending"  # no event came
    move_clock(stack, 601)  # past PAYMENTS_RECONCILE_AFTER_SECONDS: the worker reads the Checkout Session
    paid = wait_status(clinic, made["id"], "paid")
    assert (paid["provider_payment_id"], paid["late"]) == (intent, False)
    assert outbox_events(stack, made["id"]).count(CONFIRMED) == 1


# --- Asaas ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def asaas_clinic(stack: Stack, admin: Api, asaas: Provider) -> tuple[Api, str, str]:
    """A clinic on its own Asaas account: its webhook registered with an authentication token, then connected."""
    clinic = new_clinic(stack, admin, "Clínica Asaas")
    clinic_id = clinic.http.get("/api/v1/me").json()["tenant"]["id"]
    key = stack.env()["SANDBOX_ASAAS_API_KEY"]
    token = secrets.token_urlsafe(24)
    url = f"{stack.gateway_url}/webhooks/payments/asaas?clinic={clinic_id}"
    hook = asaas.http.post(
        "/v3/webhooks",
        json={
            "name": "ClinicFlow",
            "url": url,
            "enabled": True,
            "authToken": token,
            "sendType": "SEQUENTIALLY",
            "events": [
                "PAYMENT_CREATED",
                "PAYMENT_CONFIRMED",
                "PAYMENT_RECEIVED",
                "PAYMENT_REFUNDED",
                "PAYMENT_PARTIALLY_REFUNDED",
            ],
        },
        headers={"access_token": key},
    )
    assert hook.status_code == 200, hook.text
    saved = clinic.http.put(
        "/api/v1/payments/settings",
        json={"provider": "asaas", "access_token": key, "webhook_secret": token, "api_url": stack.url("sandbox_asaas")},
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["webhook_url"] == url
    return clinic, clinic_id, token


def _asaas_charge(clinic: Api) -> dict[str, Any]:
    """A PIX charge with the payer's CPF, which Asaas needs (formatted as staff type it)."""
    person = {**charge_body()["person"], "cpf": "529.982.247-25"}
    return create(clinic, methods=["pix"], person=person)


def _pay_asaas(url: str) -> str:
    with httpx.Client(timeout=20.0, follow_redirects=True) as browser:
        page = browser.get(url)
        assert page.status_code == 200, page.text
        code = re.search(r'<code id="pix-code">([^<]+)</code>', page.text)
        assert code, page.text
        assert "<svg" in page.text
        paid = browser.post(f"{url}/pay")
        assert paid.status_code == 200, paid.text
        return unescape(code.group(1))


def test_asaas_pix_charge_paid_on_the_invoice_page(
    stack: Stack, asaas: Provider, asaas_clinic: tuple[Api, str, str]
) -> None:
    clinic, clinic_id, _ = asaas_clinic
    card_only = clinic.http.post(
        "/api/v1/payments/payments",
        json={
            "person": {"lead_id": "0193a0d0-2222-7b00-8c00-0000000000b2", "name": "A"},
            "description": "x",
            "amount": "10.00",
            "methods": ["credit"],
        },
    )
    assert_problem(card_only, 422, "methods")
    no_cpf = clinic.http.post("/api/v1/payments/payments", json=charge_body(methods=["pix"]))
    assert_problem(no_cpf, 422, "person.cpf")
    bad_cpf = clinic.http.post(
        "/api/v1/payments/payments",
        json=charge_body(methods=["pix"], person={**charge_body()["person"], "cpf": "111.111.111-12"}),
    )
    assert_problem(bad_cpf, 422, "person.cpf")
    made = _asaas_charge(clinic)
    assert made["provider"] == "asaas"
    assert made["url"].startswith(f"{stack.url('sandbox_asaas')}/i/pay_")
    shown = clinic.http.get(f"/api/v1/payments/payments/{made['id']}/pix").json()
    fields = pix.parse(shown["code"])  # the provider's own code, checked before it is handed out
    assert fields
    assert "<svg" in shown["svg"]
    assert _pay_asaas(made["url"]) == shown["code"]
    paid = wait_status(clinic, made["id"], "paid")
    assert (paid["method"], paid["provider_payment_id"]) == ("pix", made["url"].rsplit("/", 1)[1])
    events = broker_events(stack, made["id"], CONFIRMED)
    assert [e["type"] for e in events].count(CONFIRMED) == 1
    assert next(e for e in events if e["type"] == CONFIRMED)["tenant_id"] == clinic_id
    payment_id = paid["provider_payment_id"]
    assert asaas.answers(event="PAYMENT_CREATED", payment_id=payment_id) == ["ignored"]
    assert asaas.answers(event="PAYMENT_RECEIVED", payment_id=payment_id) == ["confirmed"]
    refund = clinic.http.post(f"/api/v1/payments/payments/{made['id']}/refunds", json={})
    assert refund.status_code == 200, refund.text
    assert refund.json()["status"] == "refunded"
    assert (
        asaas.http.get("/sandbox/asaas/payments", params={"external_reference": made["id"]}).json()["items"][0][
            "status"
        ]
        == "REFUNDED"
    )


def test_asaas_refund_made_in_its_dashboard_is_recorded(
    stack: Stack, asaas: Provider, asaas_clinic: tuple[Api, str, str]
) -> None:
    clinic = asaas_clinic[0]
    made = _asaas_charge(clinic)
    _pay_asaas(made["url"])
    payment_id = wait_status(clinic, made["id"], "paid")["provider_payment_id"]
    key = stack.env()["SANDBOX_ASAAS_API_KEY"]
    asaas.http.post(f"/v3/payments/{payment_id}/refund", json={"value": 30}, headers={"access_token": key})
    part = wait_status(clinic, made["id"], "partially_refunded")
    assert part["refunded_amount"] == "30.00"
    assert asaas.answers(event="PAYMENT_PARTIALLY_REFUNDED", payment_id=payment_id) == ["refunded"]
    assert outbox_events(stack, made["id"]).count("clinicflow.payments.payment.refunded.v1") == 1


def test_asaas_missing_webhook_is_found_by_reconciliation(
    stack: Stack, asaas: Provider, asaas_clinic: tuple[Api, str, str]
) -> None:
    clinic = asaas_clinic[0]
    asaas.control("none")
    made = _asaas_charge(clinic)
    _pay_asaas(made["url"])
    time.sleep(1.5)
    assert charge(clinic, made["id"])["status"] == "pending"
    move_clock(stack, 601)  # the worker reads GET /v3/payments/{id}
    paid = wait_status(clinic, made["id"], "paid")
    assert paid["method"] == "pix"
    assert outbox_events(stack, made["id"]).count(CONFIRMED) == 1


def test_mercadopago_refund_made_in_its_dashboard_is_recorded(stack: Stack, admin: Api) -> None:
    mp = MercadoPagoProvider(stack)
    made = create(admin)
    payment_id, _ = mp.checkout(made["url"], "credit")
    wait_status(admin, made["id"], "paid")
    token = (stack.state_dir / "secrets" / "mercadopago-token").read_text().strip()
    mp.http.post(
        f"/v1/payments/{payment_id}/refunds", json={"amount": 50.0}, headers={"authorization": f"Bearer {token}"}
    ).raise_for_status()
    part = wait_status(admin, made["id"], "partially_refunded")
    assert part["refunded_amount"] == "50.00"
    assert outbox_events(stack, made["id"]).count("clinicflow.payments.payment.refunded.v1") == 1
    ledger = admin.http.get("/api/v1/payments/ledger", params={"lead_id": made["person"]["lead_id"]}).json()
    assert ledger["refunded"] == "50.00"
    mp.http.close()


def test_asaas_forged_token_duplicates_and_replays_change_nothing_more(
    stack: Stack, asaas: Provider, asaas_clinic: tuple[Api, str, str]
) -> None:
    clinic, clinic_id, token = asaas_clinic
    asaas.control("duplicate")
    made = _asaas_charge(clinic)
    _pay_asaas(made["url"])
    paid = wait_status(clinic, made["id"], "paid")
    payment_id = paid["provider_payment_id"]
    wait_until(
        lambda: len(asaas.answers(event="PAYMENT_RECEIVED", payment_id=payment_id)) == 2, 15.0, "no duplicate came"
    )
    assert sorted(asaas.answers(event="PAYMENT_RECEIVED", payment_id=payment_id)) == ["confirmed", "duplicate"]
    [event] = [
        e
        for e in asaas.http.get("/sandbox/asaas/events").json()["items"]
        if e["event"] == "PAYMENT_RECEIVED" and e["payment"]["id"] == payment_id
    ]
    before = receipts_count(stack)
    body = msgspec.json.encode({**event, "id": f"evt_forged_{secrets.token_hex(6)}"})
    with httpx.Client(base_url=stack.gateway_url, timeout=20.0) as http:
        for headers in ({"asaas-access-token": "not-the-token"}, {}, {"asaas-access-token": token + "x"}):
            answer = http.post(
                f"/webhooks/payments/asaas?clinic={clinic_id}",
                content=body,
                headers={"content-type": "application/json", **headers},
            )
            assert_problem(answer, 401, "asaas-access-token")
    assert receipts_count(stack) == before
    asaas.http.post(f"/sandbox/asaas/events/{event['id']}/resend").raise_for_status()
    assert asaas.answers(event_id=event["id"]).count("duplicate") == 2
    assert outbox_events(stack, made["id"]).count(CONFIRMED) == 1
    assert charge(clinic, made["id"])["status"] == "paid"
