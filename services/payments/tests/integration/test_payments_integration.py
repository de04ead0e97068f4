"""Payments use cases on real servers: PostgreSQL and the Mercado Pago sandbox as a real HTTP server.

Concurrent deliveries about one payment and concurrent creates with one Idempotency-Key hit real row locks
and primary keys; expiry and reconciliation run against a moved clock.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import cast

import httpx
import msgspec
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import EventMeta
from contracts.assistant import AssistantPaymentLinkRequestedV1
from contracts.people import Person
from devkit.infra import Infra, ManagedProcess, free_port, wait_for_port
from devkit.stack import ROOT
from devkit.testing import fresh_database
from kit import webhooks
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine, uow_factory
from kit.outbox import outbox_table
from kit.sealing import generate_key
from payments import models
from payments.clock import Clock
from payments.domain.charges import NewCharge
from payments.domain.discounts import ProcedurePrice
from payments.domain.errors import NotConfigured
from payments.models import charges
from payments.providers import mercadopago
from payments.schemas import ChargeIn, PersonIn
from payments.services import accounts, assistant
from payments.services import charges as cases
from payments.services import webhooks as ingress
from payments.services.accounts import ProviderBook
from payments.services.work import PaymentsUnitOfWork, PaymentsWorkFactory
from payments.settings import PaymentsSettings

TOKEN = "APP_USR-integration-token"
SECRET = "integration-webhook-secret"


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SANDBOX_PAYMENTS_HTTP_PORT": str(port),
        "SANDBOX_PAYMENTS_ACCESS_TOKEN": TOKEN,
        "SANDBOX_PAYMENTS_WEBHOOK_SECRET": SECRET,
        "SANDBOX_PAYMENTS_PUBLIC_URL": url,
    }
    log = (tmp_path_factory.mktemp("sandbox") / "sandbox.log").open("ab")
    popen = subprocess.Popen(
        [sys.executable, "-m", "sandbox.payments"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    process = ManagedProcess("sandbox-payments", popen)
    try:
        wait_for_port(port, 30.0, "the payments sandbox", popen)
        yield url
    finally:
        process.stop()


@dataclass
class Env:
    uow: PaymentsWorkFactory
    engine: AsyncEngine
    book: ProviderBook
    clock: MovableClock
    principal: Principal
    sandbox: httpx.AsyncClient


class MovableClock(Clock):
    def __init__(self) -> None:
        super().__init__()
        self.shift = 0.0

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.shift)


@pytest.fixture
async def env(infra: Infra, sandbox_url: str) -> AsyncIterator[Env]:
    url = await asyncio.to_thread(fresh_database, infra, "payments")  # alembic runs its own loop
    settings = PaymentsSettings(
        database_url=url,
        public_url="http://gateway.invalid",
        mercadopago_api_url=sandbox_url,
        mercadopago_access_token=TOKEN,
        mercadopago_webhook_secret=SECRET,
    )
    engine = make_engine(url, pool_size=20)
    book = ProviderBook(settings)
    principal = Principal(
        user_id=new_id(), tenant_id=new_id(), email="vendas@clinic.example", permissions=frozenset({"payments:write"})
    )
    async with httpx.AsyncClient(base_url=sandbox_url, timeout=20.0) as sandbox:
        await sandbox.post("/sandbox/payments/control", json={"mode": "none"})
        yield Env(
            cast(PaymentsWorkFactory, uow_factory(engine, "payments", PaymentsUnitOfWork)),
            engine,
            book,
            MovableClock(),
            principal,
            sandbox,
        )
        await sandbox.post("/sandbox/payments/reset")
    await book.close()
    await engine.dispose()


def replace_settings(settings: PaymentsSettings, **changes: str) -> PaymentsSettings:
    return msgspec.structs.replace(settings, **changes)


def _request(**over: object) -> NewCharge:
    fields: dict[str, object] = {
        "person": PersonIn(lead_id=uuid.uuid4(), name="Maria Souza"),
        "description": "Limpeza de pele",
        "amount": "350.00",
    }
    fields.update(over)
    return msgspec.convert(msgspec.to_builtins(fields), ChargeIn).to_new()


async def _pay(sandbox: httpx.AsyncClient, checkout_url: str, method: str = "pix") -> str:
    page = await sandbox.get(checkout_url)
    pref_id = re.search(r'name="pref_id" value="([^"]+)"', page.text)
    assert pref_id, page.text
    form = {"pref_id": pref_id.group(1), "method": method}
    assert (await sandbox.post("/checkout/v1/method", data=form)).status_code == 200
    paid = await sandbox.post("/checkout/v1/pay", data=form)
    found = re.search(r'<span id="payment-id">(\d+)</span>', paid.text)
    assert found, paid.text
    return found.group(1)


def _delivery(payment_id: str, notification_id: int) -> tuple[webhooks.Delivery, dict[str, str]]:
    request_id = str(uuid.uuid4())
    body = msgspec.json.encode(
        {"id": notification_id, "type": "payment", "action": "payment.updated", "data": {"id": payment_id}}
    )
    headers = {
        "x-request-id": request_id,
        "x-signature": mercadopago.sign(SECRET, payment_id, request_id, str(int(time.time()))),
    }
    return webhooks.Delivery(body=body, headers=headers, received_at=datetime.now(UTC)), {"data.id": payment_id}


async def _confirmed_events(env: Env, charge_id: str) -> int:
    async with env.engine.connect() as conn:
        query = select(func.count()).where(
            outbox_table.c.key == charge_id, outbox_table.c.event_type == "clinicflow.payments.payment.confirmed.v1"
        )
        return int((await conn.execute(query)).scalar_one())


async def test_concurrent_deliveries_about_one_payment_apply_once(env: Env) -> None:
    charge, created = await cases.create_charge(
        env.uow, env.book, env.clock, env.principal, _request(), idempotency_key=None, body_hash="h"
    )
    assert created
    assert charge.checkout_url
    payment_id = await _pay(env.sandbox, charge.checkout_url)
    base = uuid.uuid4().int % 10**12
    ids = [base + i for i in range(10)] + [base + 50] * 5

    async def deliver(notification_id: int) -> str:
        delivery, query = _delivery(payment_id, notification_id)
        handled = await ingress.receive(
            env.uow,
            env.book,
            env.clock,
            provider_name="mercadopago",
            delivery=delivery,
            query={**query, "clinic": env.principal.tenant_id},
        )
        return handled.outcome

    outcomes = Counter(await asyncio.gather(*(deliver(i) for i in ids)))
    assert outcomes == Counter({"confirmed": 1, "no-change": 10, "duplicate": 4}), outcomes
    assert await _confirmed_events(env, charge.id) == 1
    paid = await cases.get_charge(env.uow, env.principal, charge.id)
    assert (paid.status, paid.provider_payment_id, paid.method) == ("paid", payment_id, "pix")


async def test_one_idempotency_key_sent_twice_at_once_makes_one_charge(env: Env) -> None:
    body = _request()
    results = await asyncio.gather(
        *(
            cases.create_charge(
                env.uow, env.book, env.clock, env.principal, body, idempotency_key="key-1", body_hash="same"
            )
            for _ in range(2)
        )
    )
    assert results[0][0].id == results[1][0].id
    assert sorted(created for _, created in results) == [False, True]
    async with env.engine.connect() as conn:
        total = (await conn.execute(select(func.count()).select_from(charges))).scalar_one()
    assert total == 1


async def test_expiry_then_reconciliation_finds_the_money_late(env: Env) -> None:
    expires = env.clock.now() + timedelta(minutes=2)
    charge, _ = await cases.create_charge(
        env.uow, env.book, env.clock, env.principal, _request(expires_at=expires), idempotency_key=None, body_hash="h"
    )
    assert charge.checkout_url
    payment_id = await _pay(env.sandbox, charge.checkout_url)  # no webhook comes (mode none)
    assert await cases.expire_due(env.uow, env.clock) == 0
    env.clock.shift = 180
    assert await cases.expire_due(env.uow, env.clock) == 1
    assert (await cases.get_charge(env.uow, env.principal, charge.id)).status == "expired"
    after = timedelta(minutes=10)
    assert await cases.reconcile(env.uow, env.book, env.clock, after=after) == 0  # too early to ask
    env.clock.shift = 11 * 60
    assert await cases.reconcile(env.uow, env.book, env.clock, after=after) == 1
    late = await cases.get_charge(env.uow, env.principal, charge.id)
    assert (late.status, late.late, late.provider_payment_id) == ("paid", True, payment_id)
    # Asked once per period: the next round leaves it alone.
    assert await cases.reconcile(env.uow, env.book, env.clock, after=after) == 0
    assert await _confirmed_events(env, charge.id) == 1


async def test_provider_credentials_are_sealed_at_rest_and_resealed_on_rotation(env: Env) -> None:
    first_key = generate_key()
    settings = replace_settings(env.book.settings, sealing_keys=f"k1:{first_key}")
    book = ProviderBook(settings)
    tenant = env.principal.tenant_id
    await accounts.save_account(
        env.uow,
        book.sealer,
        tenant_id=tenant,
        user_id=env.principal.user_id,
        provider="mercadopago",
        access_token="APP_USR-the-clinics-own-token",
        webhook_secret="the-clinics-webhook-secret",
        api_url=env.book.settings.mercadopago_api_url,
        merchant_name=None,
        merchant_city=None,
        pix_key=None,
        currency="BRL",
        now=env.clock.now(),
    )

    async def stored() -> tuple[str, str]:
        async with env.engine.connect() as conn:
            row = (
                await conn.execute(
                    select(models.accounts.c.access_token, models.accounts.c.webhook_secret).where(
                        models.accounts.c.tenant_id == tenant
                    )
                )
            ).one()
        return row.access_token, row.webhook_secret

    token, secret = await stored()
    assert token.startswith("sealed:v1:k1:")
    assert secret.startswith("sealed:v1:k1:")
    assert "the-clinics" not in token + secret
    account = await book.account(env.uow, tenant)
    assert account.credentials.access_token == "APP_USR-the-clinics-own-token"
    assert account.credentials.webhook_secret == "the-clinics-webhook-secret"
    assert "the-clinics" not in repr(account)

    # Rotation: a new key first; the worker's round re-seals under it; then the old key can go.
    rotated = ProviderBook(replace_settings(settings, sealing_keys=f"k2:{generate_key()},k1:{first_key}"))
    assert await accounts.reseal(env.uow, rotated.sealer) == 1
    assert await accounts.reseal(env.uow, rotated.sealer) == 0
    token, secret = await stored()
    assert token.startswith("sealed:v1:k2:")
    only_new = ProviderBook(replace_settings(settings, sealing_keys=rotated.settings.sealing_keys.split(",")[0]))
    assert (await only_new.account(env.uow, tenant)).credentials.webhook_secret == "the-clinics-webhook-secret"

    # Without a key the deployment refuses to store credentials in the clear.
    with pytest.raises(NotConfigured):
        await accounts.save_account(
            env.uow,
            None,
            tenant_id=tenant,
            user_id=env.principal.user_id,
            provider="stripe",
            access_token="sk_live_x",
            webhook_secret="whsec_x",
            api_url="",
            merchant_name=None,
            merchant_city=None,
            pix_key=None,
            currency="BRL",
            now=env.clock.now(),
        )
    for b in (book, rotated, only_new):
        await b.close()


async def test_the_funnel_assistants_request_makes_one_link_however_often_it_arrives(env: Env) -> None:

    lead = new_id()
    request = AssistantPaymentLinkRequestedV1(
        process_id=new_id(), lead_id=lead, request_id=new_id(),
        person=Person(lead_id=lead, name="Maria Souza", phone="+5511987654321", locale="pt-BR"),
        procedure_id=new_id(), description="Botox", amount="150.00", currency="BRL",
        requested_at=datetime.now(UTC),
    )  # fmt: skip
    meta = EventMeta(
        id=new_id(), source="test", type=request.TYPE, time=datetime.now(UTC), subject=request.process_id,
        tenant_id=env.principal.tenant_id, correlation_id=new_id(),
    )  # fmt: skip
    async with env.uow() as work:
        price = ProcedurePrice(env.principal.tenant_id, request.procedure_id, "Botox", Decimal("200.00"), "BRL")
        await work.prices.upsert(price, env.principal.user_id, datetime.now(UTC))
        await work.commit()
    for _ in range(2):  # a redelivery, or the handler run again after a rolled-back batch
        async with env.uow() as work:
            await assistant.link_requested(work, request, meta, uow_factory=env.uow, book=env.book, clock=env.clock)
    async with env.engine.connect() as conn:
        made = (await conn.execute(select(charges.c.amount, charges.c.lead_id, charges.c.created_by))).all()
        links = (
            await conn.execute(
                select(func.count()).where(outbox_table.c.event_type == "clinicflow.payments.payment.link_created.v1")
            )
        ).scalar_one()
    assert [(str(m.amount), m.lead_id, m.created_by) for m in made] == [("150.00", lead, assistant.ASSISTANT_USER)]
    assert links == 1
    # A request that cannot be a charge (no price, no amount) is dropped, not retried forever.
    unpriced = msgspec.structs.replace(request, request_id=new_id(), procedure_id=new_id(), amount=None)
    async with env.uow() as work:
        await assistant.link_requested(work, unpriced, meta, uow_factory=env.uow, book=env.book, clock=env.clock)


async def test_a_delivery_chosen_as_a_deadlock_victim_is_run_again(env: Env) -> None:
    """Another transaction holds the delivery's receipt key; the delivery locks the charge and waits for the
    receipt; the other one then wants the charge: a lock cycle. PostgreSQL rolls the delivery back (it waited
    first); the ingress runs it again (kit.db.retrying) and confirms the payment once instead of failing."""
    import asyncpg

    from kit.migrations import plain_dsn

    charge, _ = await cases.create_charge(
        env.uow, env.book, env.clock, env.principal, _request(), idempotency_key=None, body_hash="h"
    )
    assert charge.checkout_url
    payment_id = await _pay(env.sandbox, charge.checkout_url)
    notification_id = uuid.uuid4().int % 10**12
    delivery, query = _delivery(payment_id, notification_id)
    tenant = env.principal.tenant_id
    other = await asyncpg.connect(plain_dsn(env.engine.url.render_as_string(hide_password=False)))
    deadlocks = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
    try:
        before = int(await other.fetchval(deadlocks))
        tx = other.transaction()
        await tx.start()
        await other.execute("SET LOCAL deadlock_timeout = '5s'")  # the delivery, not this, detects the cycle
        await other.execute(
            "INSERT INTO webhook_receipts (provider, scope, event_id, body, headers, received_at) "
            "VALUES ('mercadopago', $1, $2, '', '{}', now())",
            tenant,
            str(notification_id),
        )
        me = await other.fetchval("SELECT pg_backend_pid()")
        task = asyncio.create_task(
            ingress.receive(
                env.uow, env.book, env.clock, provider_name="mercadopago", delivery=delivery,
                query={**query, "clinic": tenant},
            )
        )  # fmt: skip
        for _ in range(300):  # until the delivery, holding the charge, waits for the receipt key
            waiting = await other.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> $1 "
                "AND wait_event_type = 'Lock'",
                me,
            )
            if waiting or task.done():
                break
            await asyncio.sleep(0.05)
        assert not task.done(), task.result()
        await other.execute("SELECT id FROM charges WHERE id = $1 FOR UPDATE", uuid.UUID(charge.id))  # the cycle
        await tx.rollback()  # let the rerun through
        handled = await asyncio.wait_for(task, 30)
        assert handled.outcome == "confirmed"
        assert int(await other.fetchval(deadlocks)) == before + 1  # there was a deadlock, and it was survived
    finally:
        await other.close()
    assert await _confirmed_events(env, charge.id) == 1
