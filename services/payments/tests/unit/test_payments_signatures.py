"""Each provider's webhook scheme: signed the provider's way it passes; a wrong secret, a stale timestamp or
a tampered body is refused (401 upstream), and no secret appears in a repr."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest

from payments.providers import Credentials, make
from payments.providers import mercadopago as mp
from payments.providers import stripe as st
from payments.providers.asaas import Asaas
from payments.providers.base import CheckoutRequest, MalformedWebhook, SignatureInvalid
from payments.providers.mercadopago import MercadoPago
from payments.providers.stripe import Stripe

SECRET = "whsec_test_0123456789abcdef"
NOW = 1_764_600_000


def _clock() -> float:
    return float(NOW)


# --- Mercado Pago ------------------------------------------------------------------------------------
def _mp(secret: str = SECRET) -> MercadoPago:
    return MercadoPago(Credentials("APP_USR-token", secret), clock=_clock)


def _mp_delivery(secret: str = SECRET, ts: int = NOW, data_id: str = "123456", body_id: str | None = None):  # type: ignore[no-untyped-def]
    body = msgspec.json.encode(
        {"id": 998877, "type": "payment", "action": "payment.updated", "data": {"id": body_id or data_id}}
    )
    headers = {"x-request-id": "req-1", "x-signature": mp.sign(secret, data_id, "req-1", str(ts))}
    return body, headers, {"data.id": data_id, "type": "payment", "clinic": "c"}


def test_mercadopago_manifest_is_the_documented_string() -> None:
    assert mp.manifest("123", "req-1", "1700000000") == "id:123;request-id:req-1;ts:1700000000;"
    assert mp.manifest(None, "req-1", "1") == "request-id:req-1;ts:1;"
    assert mp.manifest("AbC9", None, "1") == "id:abc9;ts:1;"


def test_mercadopago_signed_notification_passes() -> None:
    event = _mp().verify_webhook(*_mp_delivery())
    assert (event.event_id, event.provider_payment_id, event.report) == ("998877", "123456", None)


def test_mercadopago_wrong_secret() -> None:
    with pytest.raises(SignatureInvalid):
        _mp().verify_webhook(*_mp_delivery(secret="another-secret"))


def test_mercadopago_stale_timestamp() -> None:
    with pytest.raises(SignatureInvalid, match="too old"):
        _mp().verify_webhook(*_mp_delivery(ts=NOW - 301))
    _mp().verify_webhook(*_mp_delivery(ts=(NOW - 200) * 1000))  # milliseconds are understood


def test_mercadopago_tampered_payment_id() -> None:
    body, headers, query = _mp_delivery()
    with pytest.raises(SignatureInvalid):
        _mp().verify_webhook(body, headers, {**query, "data.id": "999999"})
    # The body is not signed, so a body naming another payment than the signed query is refused too.
    with pytest.raises(SignatureInvalid):
        _mp().verify_webhook(*_mp_delivery(body_id="555"))


def test_mercadopago_missing_header_and_bad_body() -> None:
    body, headers, query = _mp_delivery()
    with pytest.raises(SignatureInvalid):
        _mp().verify_webhook(body, {"x-request-id": "req-1"}, query)
    with pytest.raises(MalformedWebhook):
        _mp().verify_webhook(b"not json", headers, query)


def test_mercadopago_without_a_configured_secret_refuses_everything() -> None:
    with pytest.raises(SignatureInvalid):
        _mp(secret="").verify_webhook(*_mp_delivery(secret=""))


# --- Stripe --------------------------------------------------------------------------------------------
def _stripe_event(kind: str = "checkout.session.completed", status: str = "paid") -> bytes:
    return msgspec.json.encode(
        {
            "id": "evt_1Q",
            "type": kind,
            "data": {
                "object": {
                    "id": "cs_test_1",
                    "client_reference_id": "0193a0d0-2222-7b00-8c00-0000000000b2",
                    "payment_status": status,
                    "amount_total": 31500,
                    "currency": "brl",
                    "payment_intent": "pi_1",
                    "payment_method_types": ["card"],
                }
            },
        }
    )


def _stripe() -> Stripe:
    return Stripe(Credentials("sk_test_x", SECRET), clock=_clock)


def test_stripe_signed_event_passes_with_its_report() -> None:
    body = _stripe_event()
    event = _stripe().verify_webhook(body, {"stripe-signature": st.sign(SECRET, body, NOW)}, {})
    assert event.event_id == "evt_1Q"
    assert event.report is not None
    assert (event.report.status, event.report.amount, event.report.provider_payment_id) == (
        "paid",
        Decimal("315.00"),
        "pi_1",
    )


def test_stripe_accepts_any_matching_v1_during_secret_rotation() -> None:
    body = _stripe_event()
    good = st.sign(SECRET, body, NOW).split(",")[1]
    header = f"t={NOW},v1={'0' * 64},{good}"
    assert _stripe().verify_webhook(body, {"stripe-signature": header}, {}).event_id == "evt_1Q"


def test_stripe_wrong_secret_stale_and_tampered() -> None:
    body = _stripe_event()
    with pytest.raises(SignatureInvalid):
        _stripe().verify_webhook(body, {"stripe-signature": st.sign("whsec_other", body, NOW)}, {})
    with pytest.raises(SignatureInvalid, match="tolerance"):
        _stripe().verify_webhook(body, {"stripe-signature": st.sign(SECRET, body, NOW - 301)}, {})
    tampered = body.replace(b"31500", b"100")
    with pytest.raises(SignatureInvalid):
        _stripe().verify_webhook(tampered, {"stripe-signature": st.sign(SECRET, body, NOW)}, {})
    with pytest.raises(SignatureInvalid):
        _stripe().verify_webhook(body, {}, {})


def test_stripe_async_payment_failed_and_unpaid_sessions() -> None:
    body = _stripe_event("checkout.session.async_payment_failed", "unpaid")
    event = _stripe().verify_webhook(body, {"stripe-signature": st.sign(SECRET, body, NOW)}, {})
    assert event.report is not None
    assert event.report.status == "failed"
    body = _stripe_event(status="unpaid")
    event = _stripe().verify_webhook(body, {"stripe-signature": st.sign(SECRET, body, NOW)}, {})
    assert event.report is not None
    assert event.report.status == "pending"


def test_stripe_checkout_session_form() -> None:
    request = CheckoutRequest(
        charge_id="c1",
        amount=Decimal("315.00"),
        currency="BRL",
        description="Limpeza de pele",
        methods=("pix", "credit"),
        expires_at=datetime.now(UTC) + timedelta(hours=2),
        notification_url="https://x/webhooks/payments/stripe",
        back_url="https://x/done",
    )
    form = dict(Stripe.session_form(request))
    assert form["mode"] == "payment"
    assert form["line_items[0][price_data][unit_amount]"] == "31500"
    assert form["line_items[0][price_data][currency]"] == "brl"
    assert form["client_reference_id"] == "c1"
    assert (form["payment_method_types[0]"], form["payment_method_types[1]"]) == ("card", "pix")
    assert int(form["expires_at"]) <= time.time() + 24 * 3600


# --- Asaas ----------------------------------------------------------------------------------------------
def _asaas_event() -> bytes:
    return msgspec.json.encode(
        {
            "id": "evt_05b708f961d739ea7eba7e4db318f621",
            "event": "PAYMENT_RECEIVED",
            "dateCreated": "2026-12-01 12:00:00",
            "payment": {"object": "payment", "id": "pay_1", "value": 315.0, "externalReference": "c1"},
        }
    )


def test_asaas_access_token() -> None:
    adapter = Asaas(Credentials("$aact_key", SECRET))
    event = adapter.verify_webhook(_asaas_event(), {"asaas-access-token": SECRET}, {})
    # The token signs nothing, so the status is read back from the API (no report from the body).
    assert (event.event_id, event.provider_payment_id, event.report) == (
        "evt_05b708f961d739ea7eba7e4db318f621",
        "pay_1",
        None,
    )
    for headers in ({"asaas-access-token": "wrong"}, {}):
        with pytest.raises(SignatureInvalid):
            adapter.verify_webhook(_asaas_event(), headers, {})


def test_asaas_events_without_money_change_nothing() -> None:
    body = msgspec.json.encode({"id": "evt_2", "event": "PAYMENT_CREATED", "payment": {"id": "pay_1"}})
    event = Asaas(Credentials("k", SECRET)).verify_webhook(body, {"asaas-access-token": SECRET}, {})
    assert event.provider_payment_id is None


def test_asaas_payment_body_is_pix() -> None:
    request = CheckoutRequest(
        charge_id="c1",
        amount=Decimal("315.00"),
        currency="BRL",
        description="Limpeza",
        methods=("pix",),
        expires_at=datetime(2026, 12, 3, 12, tzinfo=UTC),
        notification_url="n",
        back_url="b",
        payer_name="Maria Souza",
        payer_cpf="52998224725",
    )
    assert Asaas.customer_body(request) == {
        "name": "Maria Souza",
        "email": None,
        "mobilePhone": None,
        "cpfCnpj": "52998224725",
        "externalReference": "c1",
    }
    body = Asaas.payment_body(request, "cus_1")
    assert body == {
        "customer": "cus_1",
        "billingType": "PIX",
        "value": Decimal("315.00"),
        "dueDate": "2026-12-03",
        "description": "Limpeza",
        "externalReference": "c1",
    }


def test_mercadopago_preference_carries_the_payers_cpf() -> None:
    request = CheckoutRequest(
        charge_id="c1",
        amount=Decimal("315.00"),
        currency="BRL",
        description="Limpeza",
        methods=("pix", "credit"),
        expires_at=datetime(2026, 12, 3, 12, tzinfo=UTC),
        notification_url="n",
        back_url="b",
        payer_name="Maria Souza",
        payer_cpf="52998224725",
    )
    body = MercadoPago.preference_body(request)
    assert body["payer"] == {"name": "Maria Souza", "identification": {"type": "CPF", "number": "52998224725"}}
    assert body["external_reference"] == "c1"
    assert {"id": "debit_card"} in body["payment_methods"]["excluded_payment_types"]
    assert "payer" not in MercadoPago.preference_body(replace(request, payer_name=None, payer_cpf=None))


def test_secrets_never_in_a_repr() -> None:
    credentials = Credentials("APP_USR-very-secret-token", "whsec_very_secret")
    assert "very" not in repr(credentials)
    for name in ("mercadopago", "stripe", "asaas"):
        assert "very" not in repr(make(name, credentials))


def test_stripe_charge_refunded_reports_the_running_total() -> None:
    body = msgspec.json.encode(
        {
            "id": "evt_refund",
            "type": "charge.refunded",
            "data": {
                "object": {
                    "id": "ch_1",
                    "object": "charge",
                    "amount": 31500,
                    "amount_refunded": 5000,
                    "payment_intent": "pi_1",
                    "refunded": False,
                }
            },
        }
    )
    event = _stripe().verify_webhook(body, {"stripe-signature": st.sign(SECRET, body, NOW)}, {})
    assert event.report is not None
    assert (event.report.provider_payment_id, event.report.status, event.report.refunded) == (
        "pi_1",
        "paid",
        Decimal("50.00"),
    )


def test_stripe_method_follows_the_event_kind() -> None:
    both = msgspec.json.decode(_stripe_event())
    both["data"]["object"]["payment_method_types"] = ["card", "pix"]
    instant = msgspec.json.encode(both)
    delayed = msgspec.json.encode({**both, "type": "checkout.session.async_payment_succeeded"})
    stripe = _stripe()
    for body, method in ((instant, "credit"), (delayed, "pix")):
        report = stripe.verify_webhook(body, {"stripe-signature": st.sign(SECRET, body, NOW)}, {}).report
        assert report is not None
        assert report.method == method


def test_mercadopago_and_asaas_reports_carry_what_was_refunded() -> None:
    from payments.providers.asaas import _report as asaas_report

    mp_report = mp.report_of(
        {"id": 1, "status": "approved", "transaction_amount": 350.0, "transaction_amount_refunded": 50.0}
    )
    assert mp_report.refunded == Decimal("50.00")
    assert mp.report_of({"id": 1, "status": "approved", "transaction_amount": 350.0}).refunded is None
    full = asaas_report({"id": "pay_1", "status": "REFUNDED", "value": 350.0, "billingType": "PIX"})
    assert (full.status, full.refunded) == ("refunded", Decimal("350.00"))
    part = asaas_report(
        {"id": "pay_1", "status": "RECEIVED", "value": 350.0, "refunds": [{"status": "DONE", "value": 20.0}]}
    )
    assert (part.status, part.refunded) == ("paid", Decimal("20.00"))
