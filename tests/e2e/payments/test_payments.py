"""Issue 9 end to end through the gateway: a payment link paid by PIX on the sandbox's hosted checkout, the
signed webhook through the public ingress, `payment.confirmed` on the broker, the receipt and the finance
view; forged, duplicate, out-of-order, missing (reconciliation) and late webhooks; refunds and permissions;
prices and discounts; a second clinic that sees nothing."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import httpx
import msgspec
import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select

from contracts import from_headers
from contracts.topics import PAYMENTS
from devkit.stack import Stack
from kit.db import make_engine
from kit.outbox import outbox_table
from payments import pix
from payments.providers import mercadopago
from tests.e2e.conftest import Api, staff, wait_until

pytestmark = pytest.mark.e2e
CONFIRMED = "clinicflow.payments.payment.confirmed.v1"


# --- helpers -------------------------------------------------------------------------------------------
class Provider:
    """The Mercado Pago sandbox's control API, and a browser on its hosted checkout."""

    def __init__(self, stack: Stack) -> None:
        self.http = httpx.Client(base_url=stack.url("sandbox_payments"), timeout=20.0)

    def control(self, mode: str = "normal", fail_next: int = 0) -> None:
        self.http.post("/sandbox/payments/control", json={"mode": mode, "fail_next": fail_next}).raise_for_status()

    def deliveries(self, payment_id: str) -> list[dict[str, Any]]:
        items = self.http.get("/sandbox/payments/deliveries").json()["items"]
        return [d for d in items if d["payment_id"] == payment_id]

    def payments_of(self, charge_id: str) -> list[dict[str, Any]]:
        return [
            p
            for p in self.http.get("/sandbox/payments/payments").json()["items"]
            if p["external_reference"] == charge_id
        ]

    def checkout(self, url: str, method: str) -> tuple[str, str | None]:
        """Open the link, pick the method, press pay; returns (the provider's payment id, the PIX code shown)."""
        with httpx.Client(timeout=20.0, follow_redirects=True) as browser:
            page = browser.get(url)
            assert page.status_code == 200, page.text
            pref_id = re.search(r'name="pref_id" value="([^"]+)"', page.text)
            assert pref_id, page.text
            assert f'value="{method}"' in page.text
            base = str(page.url).split("/checkout/")[0]
            chosen = browser.post(f"{base}/checkout/v1/method", data={"pref_id": pref_id.group(1), "method": method})
            assert chosen.status_code == 200, chosen.text
            code = None
            if method == "pix":
                found = re.search(r'<code id="pix-code">([^<]+)</code>', chosen.text)
                assert found, chosen.text
                code = unescape(found.group(1))
                assert "<svg" in chosen.text  # the QR code
            paid = browser.post(f"{base}/checkout/v1/pay", data={"pref_id": pref_id.group(1), "method": method})
            assert paid.status_code == 200, paid.text
            payment_id = re.search(r'<span id="payment-id">(\d+)</span>', paid.text)
            assert payment_id, paid.text
            return payment_id.group(1), code


def clock_offset(stack: Stack) -> float:
    path = stack.clock_file("payments")
    return float(path.read_text()) if path.exists() else 0.0


def move_clock(stack: Stack, seconds: float) -> None:
    """Move the payments services' clock forward (they re-read the file every 0.2 s)."""
    path = stack.clock_file("payments")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(str(clock_offset(stack) + seconds))
    time.sleep(0.5)


def service_now(stack: Stack) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=clock_offset(stack))


def period(stack: Stack) -> dict[str, str]:
    today = service_now(stack).date()
    return {"from": (today - timedelta(days=30)).isoformat(), "to": (today + timedelta(days=30)).isoformat()}


def charge_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "person": {
            "lead_id": str(uuid.uuid4()),
            "name": "Maria Souza",
            "phone": "+5511987654321",
            "email": "maria@example.com",
        },
        "description": "Limpeza de pele",
        "amount": "350.00",
        "methods": ["pix", "credit", "debit"],
    }
    body.update(over)
    return body


def create(api: Api, key: str | None = None, **over: Any) -> dict[str, Any]:
    headers = {"idempotency-key": key} if key else {}
    answer = api.http.post("/api/v1/payments/payments", json=charge_body(**over), headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()  # type: ignore[no-any-return]


def charge(api: Api, charge_id: str) -> dict[str, Any]:
    answer = api.http.get(f"/api/v1/payments/payments/{charge_id}")
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def wait_status(api: Api, charge_id: str, status: str, timeout: float = 20.0) -> dict[str, Any]:
    return wait_until(  # type: ignore[no-any-return]
        lambda: (c := charge(api, charge_id))["status"] == status and c, timeout, f"charge never became {status}"
    )


def assert_problem(answer: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = answer.json()
    if field is not None:
        assert field in [e["field"] for e in body.get("errors") or []], body
    return body


def _in_thread(coro: Any) -> Any:
    with ThreadPoolExecutor(1) as pool:  # its own event loop, away from pytest-asyncio's
        return pool.submit(asyncio.run, coro).result()


def outbox_events(stack: Stack, charge_id: str) -> list[str]:
    async def read() -> list[str]:
        engine = make_engine(stack.database_url("payments"), pool_size=1)
        try:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(outbox_table.c.event_type).where(outbox_table.c.key == charge_id).order_by(outbox_table.c.id)
                )
                return [r[0] for r in rows]
        finally:
            await engine.dispose()

    return _in_thread(read())  # type: ignore[no-any-return]


def receipts_count(stack: Stack) -> int:
    async def read() -> int:
        engine = make_engine(stack.database_url("payments"), pool_size=1)
        try:
            async with engine.connect() as conn:
                return int((await conn.execute(select(func.count()).select_from(webhook_receipts))).scalar_one())
        finally:
            await engine.dispose()

    from payments.models import webhook_receipts

    return _in_thread(read())  # type: ignore[no-any-return]


def broker_events(stack: Stack, charge_id: str, wanted: str, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Read the payments topic from the start until `wanted` about the charge is there (then a moment more)."""

    async def read() -> list[dict[str, Any]]:
        assert stack.infra is not None
        consumer = AIOKafkaConsumer(
            PAYMENTS.name,
            bootstrap_servers=stack.infra.kafka_bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            group_id=None,
        )
        await consumer.start()
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        seen_wanted_at: float | None = None
        try:
            while time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        if record.key != charge_id.encode():
                            continue
                        meta = from_headers(record.headers)
                        found.append(
                            {"type": meta.type, "tenant_id": meta.tenant_id, **msgspec.json.decode(record.value)}
                        )
                        if meta.type == wanted and seen_wanted_at is None:
                            seen_wanted_at = time.monotonic()
                if seen_wanted_at is not None and time.monotonic() - seen_wanted_at > 1.5:
                    break
        finally:
            await consumer.stop()
        return found

    return _in_thread(read())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def provider(stack: Stack) -> Iterator[Provider]:
    sandbox = Provider(stack)
    yield sandbox
    sandbox.control("normal")
    sandbox.http.close()


@pytest.fixture(autouse=True)
def _normal_provider(provider: Provider) -> None:
    provider.control("normal")


@pytest.fixture(scope="module")
def clinic_id(admin: Api) -> str:
    return admin.http.get("/api/v1/me").json()["tenant"]["id"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def finance_user(stack: Stack, admin: Api) -> Api:
    return staff(stack, admin, "finance")[0]


@pytest.fixture(scope="module")
def sales(stack: Stack, admin: Api) -> Api:
    return staff(stack, admin, "sales_agent")[0]


# --- the journey ----------------------------------------------------------------------------------------
def test_link_paid_by_pix_confirmed_with_receipt_and_finance_view(
    stack: Stack, admin: Api, sales: Api, finance_user: Api, provider: Provider
) -> None:
    lead = admin.create_lead(name="Maria Souza", phone="+55 11 98765-4321", source="instagram")
    made = create(sales, person={"lead_id": lead["id"], "name": "Maria Souza", "phone": "+5511987654321"})
    assert made["status"] == "pending"
    assert made["provider"] == "mercadopago"
    assert made["url"].startswith(stack.url("sandbox_payments"))
    assert outbox_events(stack, made["id"]) == ["clinicflow.payments.payment.link_created.v1"]

    payment_id, code = provider.checkout(made["url"], "pix")
    assert code is not None
    shown = pix.parse(code)  # a valid BR Code: CRC and fields
    assert shown.amount == Decimal("350.00")
    assert shown.txid == made["id"].replace("-", "")[-25:]

    paid = wait_status(admin, made["id"], "paid")
    assert (paid["method"], paid["paid_amount"], paid["late"]) == ("pix", "350.00", False)

    events = broker_events(stack, made["id"], CONFIRMED)
    confirmed = [e for e in events if e["type"] == CONFIRMED]
    assert len(confirmed) == 1
    assert confirmed[0]["provider_payment_id"] == payment_id
    assert confirmed[0]["person"]["lead_id"] == lead["id"]
    assert confirmed[0]["amount"] == "350.00"
    assert confirmed[0]["receipt_url"].endswith(f"/api/v1/payments/payments/{made['id']}/receipt")

    receipt = finance_user.http.get(f"/api/v1/payments/payments/{made['id']}/receipt")
    assert receipt.status_code == 200, receipt.text
    assert (receipt.json()["amount"], receipt.json()["method"]) == ("350.00", "pix")
    printable = finance_user.http.get(f"/api/v1/payments/payments/{made['id']}/receipt.html")
    assert printable.status_code == 200
    assert "BRL 350.00" in printable.text
    document = finance_user.http.get(f"/api/v1/payments/payments/{made['id']}/receipt.pdf")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/pdf"
    assert document.content.startswith(b"%PDF")

    def finance_has_it() -> dict[str, Any] | None:
        view = finance_user.http.get("/api/v1/payments/finance", params=period(stack)).json()
        ours = [p for p in view["payments"] if p["payment_id"] == made["id"]]
        return view if ours and ours[0]["lead_source"] == "instagram" else None

    view = wait_until(finance_has_it, 20.0, "the finance view lacks the payment or its lead source")
    assert Decimal(view["total"]) >= Decimal("350.00")
    assert any(b["key"] == "pix" for b in view["by_method"])
    assert any(b["key"] == "mercadopago" for b in view["by_provider"])
    assert any(b["key"] == "instagram" and Decimal(b["amount"]) >= 350 for b in view["by_source"])
    assert Decimal(view["net"]) == Decimal(view["total"]) - Decimal(view["refunded"])
    too_long = finance_user.http.get("/api/v1/payments/finance", params={"from": "2026-01-01", "to": "2030-12-31"})
    assert_problem(too_long, 422, "to")

    ledger = finance_user.http.get("/api/v1/payments/ledger", params={"lead_id": lead["id"]}).json()
    assert [e["kind"] for e in ledger["entries"]] == ["charge", "payment"]
    assert (ledger["paid"], ledger["open_debt"]) == ("350.00", "0.00")


def test_card_payment_then_partial_refund_by_finance(
    stack: Stack, sales: Api, finance_user: Api, provider: Provider
) -> None:
    made = create(sales)
    provider.checkout(made["url"], "credit")
    assert wait_status(sales, made["id"], "paid")["method"] == "credit"
    assert_problem(sales.http.post(f"/api/v1/payments/payments/{made['id']}/refunds", json={"amount": "50.00"}), 403)
    refunded = finance_user.http.post(
        f"/api/v1/payments/payments/{made['id']}/refunds", json={"amount": "50.00", "reason": "desconto"}
    )
    assert refunded.status_code == 200, refunded.text
    assert (refunded.json()["status"], refunded.json()["refunded_amount"]) == ("partially_refunded", "50.00")
    too_much = finance_user.http.post(f"/api/v1/payments/payments/{made['id']}/refunds", json={"amount": "300.01"})
    assert_problem(too_much, 422, "amount")
    rest = finance_user.http.post(f"/api/v1/payments/payments/{made['id']}/refunds", json={})
    assert rest.json()["status"] == "refunded"
    assert [p["status"] for p in provider.payments_of(made["id"])] == ["refunded"]
    types = outbox_events(stack, made["id"])
    assert types.count("clinicflow.payments.payment.refunded.v1") == 2


# --- webhooks that go wrong --------------------------------------------------------------------------------
def test_forged_webhook_is_refused_and_stores_nothing(
    stack: Stack, admin: Api, clinic_id: str, provider: Provider
) -> None:
    made = create(admin)
    provider.control("none")
    payment_id, _ = provider.checkout(made["url"], "pix")
    before = receipts_count(stack)
    body = msgspec.json.encode({"id": 1, "type": "payment", "action": "payment.updated", "data": {"id": payment_id}})
    url = f"{stack.gateway_url}/webhooks/payments/mercadopago"
    query = {"clinic": clinic_id, "data.id": payment_id, "type": "payment"}
    ts = str(int(time.time()))
    forged = {"x-request-id": "r1", "x-signature": mercadopago.sign("not-the-secret", payment_id, "r1", ts)}
    assert_problem(httpx.post(url, params=query, content=body, headers=forged), 401, "x-signature")
    assert_problem(httpx.post(url, params=query, content=body, headers={}), 401)
    stale = {"x-request-id": "r1", "x-signature": "ts=1,v1=" + "0" * 64}
    assert_problem(httpx.post(url, params=query, content=body, headers=stale), 401)
    assert_problem(httpx.post(url, params={**query, "clinic": "nope"}, content=body, headers=forged), 401)
    assert receipts_count(stack) == before
    assert charge(admin, made["id"])["status"] == "pending"
    assert outbox_events(stack, made["id"]) == ["clinicflow.payments.payment.link_created.v1"]


def test_duplicate_delivery_applies_once(stack: Stack, admin: Api, provider: Provider) -> None:
    made = create(admin)
    provider.control("duplicate")
    payment_id, _ = provider.checkout(made["url"], "pix")
    wait_status(admin, made["id"], "paid")
    wait_until(lambda: len(provider.deliveries(payment_id)) >= 2, 15.0, "two deliveries expected")
    deliveries = provider.deliveries(payment_id)
    assert [d["status"] for d in deliveries] == [200, 200]
    assert sorted(msgspec.json.decode(d["answer"])["outcome"] for d in deliveries) == ["confirmed", "duplicate"]
    assert outbox_events(stack, made["id"]).count(CONFIRMED) == 1


def test_concurrent_webhooks_for_one_payment_apply_once(
    stack: Stack, admin: Api, clinic_id: str, provider: Provider
) -> None:
    made = create(admin)
    provider.control("none")
    payment_id, _ = provider.checkout(made["url"], "pix")
    secret = (stack.state_dir / "secrets" / "mercadopago-webhook-secret").read_text().strip()
    base = uuid.uuid4().int % 10**12
    # Eight different notifications about the payment, and one more delivered four times at once.
    notification_ids = [base + i for i in range(8)] + [base + 100] * 4

    def deliver(notification_id: int) -> httpx.Response:
        body = msgspec.json.encode(
            {"id": notification_id, "type": "payment", "action": "payment.updated", "data": {"id": payment_id}}
        )
        request_id = str(uuid.uuid4())
        signature = mercadopago.sign(secret, payment_id, request_id, str(int(time.time())))
        return httpx.post(
            f"{stack.gateway_url}/webhooks/payments/mercadopago",
            params={"clinic": clinic_id, "data.id": payment_id, "type": "payment"},
            content=body,
            headers={"x-request-id": request_id, "x-signature": signature, "content-type": "application/json"},
            timeout=30.0,
        )

    with ThreadPoolExecutor(len(notification_ids)) as pool:
        answers = list(pool.map(deliver, notification_ids))
    assert [a.status_code for a in answers] == [200] * len(answers), [a.text for a in answers]
    outcomes = Counter(a.json()["outcome"] for a in answers)
    assert outcomes["confirmed"] == 1, outcomes
    assert outcomes["duplicate"] == 3, outcomes
    assert outcomes["no-change"] == 8, outcomes
    assert charge(admin, made["id"])["status"] == "paid"
    assert outbox_events(stack, made["id"]).count(CONFIRMED) == 1


def test_out_of_order_refusal_after_the_money_changes_nothing(stack: Stack, admin: Api, provider: Provider) -> None:
    made = create(admin)
    provider.control("out_of_order")
    provider.checkout(made["url"], "credit")
    wait_status(admin, made["id"], "paid")
    payments = provider.payments_of(made["id"])
    assert sorted(p["status"] for p in payments) == ["approved", "rejected"]
    refused = next(p for p in payments if p["status"] == "rejected")
    wait_until(lambda: provider.deliveries(refused["id"]), 15.0, "the late refusal was not delivered")
    time.sleep(0.5)
    assert charge(admin, made["id"])["status"] == "paid"
    assert outbox_events(stack, made["id"]) == ["clinicflow.payments.payment.link_created.v1", CONFIRMED]


def test_refused_payment_fails_then_the_patient_pays(stack: Stack, admin: Api, provider: Provider) -> None:
    made = create(admin)
    provider.control("normal", fail_next=1)
    provider.checkout(made["url"], "credit")
    failed = wait_status(admin, made["id"], "failed")
    assert failed["failure_reason"] == "cc_rejected_insufficient_amount"
    provider.checkout(made["url"], "pix")
    wait_status(admin, made["id"], "paid")
    assert outbox_events(stack, made["id"]) == [
        "clinicflow.payments.payment.link_created.v1",
        "clinicflow.payments.payment.failed.v1",
        CONFIRMED,
    ]


def test_missing_webhook_is_found_by_reconciliation(stack: Stack, admin: Api, provider: Provider) -> None:
    made = create(admin)
    provider.control("none")
    provider.checkout(made["url"], "pix")
    time.sleep(1.5)
    assert charge(admin, made["id"])["status"] == "pending"  # no webhook came
    move_clock(stack, 601)  # past PAYMENTS_RECONCILE_AFTER_SECONDS (600)
    paid = wait_status(admin, made["id"], "paid")
    assert paid["late"] is False
    assert outbox_events(stack, made["id"]).count(CONFIRMED) == 1


def test_expiry_then_a_late_webhook_records_the_money_flagged(stack: Stack, admin: Api, provider: Provider) -> None:
    made = create(admin, expires_at=(service_now(stack) + timedelta(minutes=2)).isoformat())
    provider.control("hold")
    payment_id, _ = provider.checkout(made["url"], "pix")
    move_clock(stack, 180)
    wait_status(admin, made["id"], "expired")
    released = provider.http.post("/sandbox/payments/release").json()
    assert released["delivered"] == 1
    late = wait_status(admin, made["id"], "paid")
    assert late["late"] is True
    events = broker_events(stack, made["id"], CONFIRMED)
    assert [e["type"] for e in events] == [
        "clinicflow.payments.payment.link_created.v1",
        "clinicflow.payments.payment.expired.v1",
        CONFIRMED,
    ]
    assert events[-1]["late"] is True
    assert events[-1]["provider_payment_id"] == payment_id


def test_cancelled_link_then_money_is_late(stack: Stack, admin: Api, sales: Api, provider: Provider) -> None:
    made = create(sales)
    provider.control("hold")
    provider.checkout(made["url"], "pix")
    cancelled = sales.http.post(f"/api/v1/payments/payments/{made['id']}/cancel", json={"reason": "desistiu"})
    assert cancelled.json()["status"] == "cancelled"
    assert_problem(sales.http.post(f"/api/v1/payments/payments/{made['id']}/cancel"), 409)
    provider.http.post("/sandbox/payments/release")
    assert wait_status(admin, made["id"], "paid")["late"] is True


# --- creation rules --------------------------------------------------------------------------------------------
def test_idempotency_key(admin: Api) -> None:
    key = str(uuid.uuid4())
    body = charge_body()
    first = admin.http.post("/api/v1/payments/payments", json=body, headers={"idempotency-key": key})
    again = admin.http.post("/api/v1/payments/payments", json=body, headers={"idempotency-key": key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["url"] == first.json()["url"]
    other = admin.http.post(
        "/api/v1/payments/payments", json={**body, "amount": "351.00"}, headers={"idempotency-key": key}
    )
    assert assert_problem(other, 409, "Idempotency-Key")["existing_id"] == first.json()["id"]


@pytest.mark.parametrize(
    ("over", "status", "field"),
    [
        ({"amount": "0"}, 422, "amount"),
        ({"amount": "-5"}, 422, "amount"),
        ({"amount": "10.123"}, 422, "amount"),
        ({"currency": "XXX"}, 422, "currency"),
        ({"methods": ["boleto"]}, 422, "methods"),
        ({"expires_at": "2020-01-01T00:00:00Z"}, 422, "expires_at"),
        ({"procedure_id": "0193a0e0-0003-7000-8000-00000000d999", "amount": None}, 422, "procedure_id"),
        ({"amount": None}, 422, "amount"),
        ({"person": {"name": "Sem id"}}, 422, "person.lead_id"),
        ({"person": {"lead_id": "not-a-uuid"}}, 422, "person.lead_id"),
        ({"amount": "abc"}, 400, "amount"),
        ({"surprise": 1}, 400, "surprise"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(admin: Api, over: dict[str, Any], status: int, field: str) -> None:
    body = {k: v for k, v in charge_body(**over).items() if v is not None}
    assert_problem(admin.http.post("/api/v1/payments/payments", json=body), status, field)


def test_prices_and_discounts_apply_at_creation(admin: Api, sales: Api) -> None:
    procedure = str(uuid.uuid4())
    put = admin.http.put(f"/api/v1/payments/prices/{procedure}", json={"name": "Limpeza de pele", "amount": "350.00"})
    assert put.status_code == 200, put.text
    assert_problem(sales.http.put(f"/api/v1/payments/prices/{procedure}", json={"name": "x", "amount": "1"}), 403)
    rule = admin.http.post(
        "/api/v1/payments/discounts",
        json={"name": "Dezembro", "kind": "percentage", "value": "10", "procedure_id": procedure},
    )
    assert rule.status_code == 201, rule.text
    assert_problem(
        admin.http.post("/api/v1/payments/discounts", json={"name": "x", "kind": "percentage", "value": "120"}),
        422,
        "value",
    )
    made = create(sales, amount=None, procedure_id=procedure)
    assert (made["amount_before_discount"], made["amount"], made["discount_id"]) == (
        "350.00",
        "315.00",
        rule.json()["id"],
    )
    other = create(sales, amount="100.00")  # the rule is for that procedure only
    assert (other["amount_before_discount"], other["amount"]) == ("100.00", "100.00")
    assert admin.http.delete(f"/api/v1/payments/discounts/{rule.json()['id']}").status_code == 204


def test_an_appointment_is_never_charged_twice(admin: Api, provider: Provider) -> None:
    appointment = str(uuid.uuid4())
    made = create(admin, appointment_id=appointment)
    provider.checkout(made["url"], "pix")
    wait_status(admin, made["id"], "paid")
    again = admin.http.post("/api/v1/payments/payments", json=charge_body(appointment_id=appointment))
    assert assert_problem(again, 409, "appointment_id")["existing_id"] == made["id"]


def test_permissions(stack: Stack, admin: Api, sales: Api) -> None:
    professional = staff(stack, admin, "professional")[0]
    assert_problem(professional.http.post("/api/v1/payments/payments", json=charge_body()), 403)
    assert_problem(sales.http.get("/api/v1/payments/finance", params=period(stack)), 403)
    assert_problem(sales.http.get("/api/v1/payments/ledger", params={"lead_id": str(uuid.uuid4())}), 403)
    assert_problem(sales.http.get("/api/v1/payments/settings"), 403)
    settings = admin.http.get("/api/v1/payments/settings").json()
    assert settings["provider"] == "mercadopago"
    assert settings["access_token_set"] is True
    assert "access_token" not in settings
    assert "webhook_secret" not in settings


# --- tenant isolation ---------------------------------------------------------------------------------------------
def test_a_second_clinic_sees_nothing(stack: Stack, admin: Api, other_clinic: Api, provider: Provider) -> None:
    made = create(admin)
    payment_id, _ = provider.checkout(made["url"], "pix")
    wait_status(admin, made["id"], "paid")
    assert_problem(other_clinic.http.get(f"/api/v1/payments/payments/{made['id']}"), 404)
    assert_problem(other_clinic.http.get(f"/api/v1/payments/payments/{made['id']}/receipt"), 404)
    assert_problem(other_clinic.http.post(f"/api/v1/payments/payments/{made['id']}/cancel"), 404)
    assert_problem(other_clinic.http.post(f"/api/v1/payments/payments/{made['id']}/refunds", json={}), 404)
    assert other_clinic.http.get("/api/v1/payments/payments").json()["total"] == 0
    view = other_clinic.http.get("/api/v1/payments/finance", params=period(stack)).json()
    assert (view["count"], view["total"]) == (0, "0.00")
    ledger = other_clinic.http.get("/api/v1/payments/ledger", params={"lead_id": made["person"]["lead_id"]}).json()
    assert ledger["entries"] == []
    # A correctly signed notification about our payment, sent to the other clinic's URL, touches nothing of ours.
    other_id = other_clinic.http.get("/api/v1/me").json()["tenant"]["id"]
    before = outbox_events(stack, made["id"])
    answer = provider.http.post(f"/sandbox/payments/notify/{payment_id}")
    assert answer.status_code == 200
    body = msgspec.json.encode({"id": 77, "type": "payment", "action": "payment.updated", "data": {"id": payment_id}})
    ts = str(int(time.time()))
    secret = (stack.state_dir / "secrets" / "mercadopago-webhook-secret").read_text().strip()
    signed = {"x-request-id": "r2", "x-signature": mercadopago.sign(secret, payment_id, "r2", ts)}
    crossed = httpx.post(
        f"{stack.gateway_url}/webhooks/payments/mercadopago",
        params={"clinic": other_id, "data.id": payment_id, "type": "payment"},
        content=body,
        headers=signed,
    )
    assert crossed.status_code == 200, crossed.text
    assert crossed.json()["outcome"] == "unknown-payment"
    assert outbox_events(stack, made["id"]) == before
