"""An approved template sent by hand from a conversation: the choices per channel, the preview, the refusals naming
their field, once per idempotency key, through the dispatcher (the approved template outside the 24-hour window),
consent and opt-outs as for a rule's message, and the message in the conversation's thread."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from contracts import EventMeta
from contracts.leads import LeadCreatedV1
from devkit.infra import Infra
from devkit.testing import fresh_database
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine, uow_factory
from notifications import services
from notifications.channels import WhatsAppCloud
from notifications.domain import MANUAL_TEMPLATE, WHATSAPP, InvalidInput
from notifications.models import messages
from notifications.services.work import NotificationsUnitOfWork, NotificationsWorkFactory
from sandbox.app import create_app

TOKEN = "sandbox-token"
PHONE = "+5511987654321"
NOW = datetime.now(UTC)


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    import logging

    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def sandbox(monkeypatch: pytest.MonkeyPatch, _restore_logging: None) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("SANDBOX_WHATSAPP_TOKEN", TOKEN)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app()), base_url="http://sandbox") as c:
        yield c


@pytest.fixture
async def uow(infra: Infra) -> AsyncIterator[NotificationsWorkFactory]:
    url = await asyncio.to_thread(fresh_database, infra, "notifications")
    engine = make_engine(url, pool_size=4)
    yield uow_factory(engine, "notifications", NotificationsUnitOfWork)
    await engine.dispose()


async def _refused(call: Any) -> str | None:
    with pytest.raises(InvalidInput) as refused:
        await call
    return refused.value.field


async def test_a_template_sent_by_hand(uow: NotificationsWorkFactory, sandbox: httpx.AsyncClient) -> None:
    tenant, lead = new_id(), new_id()
    admin = Principal(user_id=new_id(), tenant_id=tenant, email="a@x", permissions=frozenset(), roles=("admin",))
    created = LeadCreatedV1(
        lead_id=lead, name="Maria Souza", phone=PHONE, email="maria@example.com", source="instagram", created_at=NOW
    )
    meta = EventMeta(
        id=new_id(), source="t", type=created.TYPE, time=NOW, subject=lead, tenant_id=tenant, correlation_id=new_id()
    )
    async with uow() as u:
        (welcome,) = await services.handle_event(u, created, meta)
        await u.commit()
    conv = welcome.conversation_id
    assert conv
    # A clinic's own text without an approved WhatsApp template, and one with it.
    await services.set_template(uow, admin, "clinic_draft", "pt-BR", "Oi {{ first_name }}!", channel=WHATSAPP)
    await services.set_template(
        uow,
        admin,
        "clinic_promo",
        "pt-BR",
        "Oi {{ first_name }}, {{ description }}",
        channel=WHATSAPP,
        wa_template="promo",
    )

    choices = await services.template_choices(uow, admin, conv, None)
    assert (choices["channel"], choices["in_window"]) == (WHATSAPP, False)  # Maria never wrote
    by_name = {c["name"]: c for c in choices["items"]}
    assert by_name["clinic_promo"] == {"name": "clinic_promo", "wa_template": "promo", "needs": ["description"]}
    assert by_name["lead_welcome"]["needs"] == []
    assert "procedure_name" in by_name["appointment_reminder"]["needs"]
    assert "clinic_draft" not in by_name  # not approved for WhatsApp
    assert "payment_nudge" not in by_name  # a staff notification

    shown = await services.preview_template(uow, admin, conv, "clinic_promo", None, {})
    assert (shown["body"], shown["missing"], shown["in_window"]) == ("Oi Maria, [description]", ["description"], False)
    shown = await services.preview_template(uow, admin, conv, "clinic_promo", None, {"description": "10% off"})
    assert shown["body"] == "Oi Maria, 10% off"
    assert shown["wa"] == {"name": "promo", "language": "pt_BR", "params": ["Maria"]}

    send = services.send_template
    assert await _refused(send(uow, admin, conv, "clinic_nope", None, {}, "k0")) == "template"
    assert await _refused(send(uow, admin, conv, "clinic_draft", None, {}, "k0")) == "template"
    assert await _refused(send(uow, admin, conv, "payment_nudge", None, {}, "k0")) == "template"
    assert await _refused(send(uow, admin, conv, "clinic_promo", None, {}, "k0")) == "variables.description"
    assert await _refused(send(uow, admin, conv, "clinic_promo", "telegram", {}, "k0")) == "channel"

    first = await send(uow, admin, conv, "clinic_promo", None, {"description": "10% off"}, "k1")
    again = await send(uow, admin, conv, "clinic_promo", None, {"description": "10% off"}, "k1")  # a double click
    assert again.id == first.id
    assert (first.rule_key, first.template, first.body, first.channel) == (
        MANUAL_TEMPLATE,
        "clinic_promo",
        "Oi Maria, 10% off",
        WHATSAPP,
    )
    async with uow() as u:
        count = select(func.count()).select_from(messages).where(messages.c.rule_key == MANUAL_TEMPLATE)
        assert (await u.session.execute(count)).scalar_one() == 1

    wa = WhatsAppCloud(base_url="http://sandbox", api_version="v21.0", phone_number_id="1", token=TOKEN, client=sandbox)
    assert await services.Dispatcher(uow, {WHATSAPP: wa}).dispatch_due() == 2  # the welcome and the template
    sent = (await sandbox.get("/sandbox/whatsapp/messages")).json()["items"]
    promo = next(s for s in sent if s["template"] and s["template"]["name"] == "promo")
    assert promo["type"] == "template"  # outside the window: the approved template, with its parameter
    history = await services.conversation(uow, admin, conv)
    mine = [i for i in history["items"] if i["template"] == "clinic_promo"]
    assert [(i["direction"], i["status"], i["text"]) for i in mine] == [("out", "sent", "Oi Maria, 10% off")]

    # Marketing withdrawn in the consent ledger: a clinic's own template is refused, a payment link is not.
    async with uow() as u:
        await u.consents.remember(
            tenant,
            person_key=lead,
            purpose="marketing",
            channel="any",
            granted=False,
            lead_id=lead,
            patient_id=None,
            phone=PHONE,
            email=None,
            at=NOW,
        )
        await u.commit()
    assert await _refused(send(uow, admin, conv, "clinic_promo", None, {"description": "x"}, "k2")) == "channel"
    link = {"description": "Avaliação", "amount": "350.00", "url": "https://pay.example/l/1"}
    vars_ = {**link, "currency": "BRL", "checkout_url": "https://pay.example/l/1", "expires_date": "05/12/2026"}
    assert (await send(uow, admin, conv, "payment_link", None, vars_, "k3")).status == "queued"
    # Opted out of WhatsApp: refused under the channel.
    await services.opt_out(uow, admin, WHATSAPP, PHONE)
    assert await _refused(send(uow, admin, conv, "payment_link", None, vars_, "k4")) == "channel"
