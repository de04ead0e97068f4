"""The reply assistant against real servers: PostgreSQL, and the LLM look-alike (sandbox.llm) as a real HTTP
process. An inbound WhatsApp message -> suggestions (what reached the model is redacted) -> the staff reply that
used one -> message.sent naming it; sealed keys; 409 / 502 / 503 / 504; another clinic sees nothing."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import select

from contracts.claims import CRM_WRITE
from devkit.infra import Infra, ManagedProcess, free_port, wait_for_port
from devkit.stack import ROOT
from devkit.testing import fresh_database
from kit.auth import Principal
from kit.context import new_id
from kit.db import make_engine, uow_factory
from kit.outbox import outbox_table
from kit.sealing import Sealer, generate_key
from notifications import services
from notifications.channels import WhatsAppCloud
from notifications.domain import (
    WHATSAPP,
    AssistantFailed,
    AssistantNotConfigured,
    AssistantTimeout,
    AssistantUnavailable,
    InvalidInput,
    NotFound,
)
from notifications.inbound import Inbound
from notifications.llm import ChatCompletions
from notifications.models import assistant_settings, messages
from notifications.services.work import NotificationsUnitOfWork, NotificationsWorkFactory
from sandbox.app import create_app as create_sandbox

KEY = "sk-clinic-secret-key"
WA_TOKEN = "sandbox-token"
PHONE = "+5511987654321"
ACCOUNT = "100000000000777"
TEXT = "Oi, sou a Maria Souza, CPF 529.982.247-25, e-mail maria@example.com. Quanto custa o clareamento?"


@pytest.fixture(scope="module")
def llm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "SANDBOX_LLM_HTTP_PORT": str(port), "SANDBOX_LLM_API_KEY": KEY,
           "SANDBOX_LLM_SLOW_SECONDS": "5"}  # fmt: skip
    log = (tmp_path_factory.mktemp("sandbox-llm") / "sandbox-llm.log").open("ab")
    popen = subprocess.Popen(
        [sys.executable, "-m", "sandbox.llm"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    process = ManagedProcess("sandbox-llm", popen)
    try:
        wait_for_port(port, 30.0, "the LLM sandbox", popen)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.stop()


@pytest.fixture
async def uow(infra: Infra) -> AsyncIterator[NotificationsWorkFactory]:
    url = await asyncio.to_thread(fresh_database, infra, "notifications")  # alembic runs its own loop
    engine = make_engine(url, pool_size=4)
    yield uow_factory(engine, "notifications", NotificationsUnitOfWork)
    await engine.dispose()


@pytest.fixture
async def llm(llm_url: str) -> AsyncIterator[ChatCompletions]:
    adapter = ChatCompletions(timeout=1.5)
    yield adapter
    await adapter.close()


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def whatsapp(monkeypatch: pytest.MonkeyPatch, _restore_logging: None) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("SANDBOX_WHATSAPP_TOKEN", WA_TOKEN)
    transport = httpx.ASGITransport(app=create_sandbox())
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client


SEALER = Sealer.from_setting(f"t1:{generate_key()}")


def agent(tenant: str) -> Principal:
    return Principal(user_id=new_id(), tenant_id=tenant, email="a@clinic.test", permissions=frozenset({CRM_WRITE}))


async def _conversation(uow: NotificationsWorkFactory, tenant: str, text: str = TEXT) -> str:
    """A clinic whose WhatsApp number received `text` from Maria: the conversation it made."""
    admin = agent(tenant)
    await services.connect_account(uow, admin, WHATSAPP, ACCOUNT + tenant[-3:])
    wamid = f"wamid.{new_id()}"
    inbound = Inbound(
        WHATSAPP, "whatsapp_cloud", ACCOUNT + tenant[-3:], PHONE, "Maria Souza", wamid, text, None, None,
        datetime.now(UTC),
    )  # fmt: skip
    assert await services.receive(uow, [inbound]) == 1
    (conv,) = await services.conversations_of(uow, admin, lead_id=None, patient_id=None)
    return str(conv["id"])


async def _configure(uow: NotificationsWorkFactory, principal: Principal, llm_url: str, model: str = "sandbox-chat",
                     key: str | None = KEY) -> dict[str, Any]:  # fmt: skip
    return await services.put_assistant_settings(
        uow, principal, SEALER, enabled=True, endpoint_url=f"{llm_url}/v1", model=model, api_key=key,
        prompt_price="0.15", completion_price="0.60",
    )  # fmt: skip


async def _recorded(llm_url: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=llm_url) as client:
        return (await client.get("/sandbox/llm/requests")).json()["items"]  # type: ignore[no-any-return]


async def _outbox(uow: NotificationsWorkFactory) -> list[tuple[str, dict[str, Any]]]:
    async with uow() as u:
        rows = (await u.session.execute(select(outbox_table.c.event_type, outbox_table.c.payload))).all()
    return [(t, msgspec.json.decode(p)) for t, p in rows]


async def test_suggest_redacted_then_reply_with_one_and_message_sent_names_it(
    uow: NotificationsWorkFactory, llm: ChatCompletions, llm_url: str, whatsapp: httpx.AsyncClient
) -> None:
    tenant = new_id()
    staff = agent(tenant)
    conversation_id = await _conversation(uow, tenant)
    shown = await _configure(uow, staff, llm_url)
    assert shown["api_key_set"] is True
    assert KEY not in json.dumps(shown, default=str)
    async with uow() as u:
        stored = (await u.session.execute(select(assistant_settings.c.api_key))).scalar_one()
    assert stored.startswith("sealed:v1:t1:")
    assert KEY not in stored
    assert (await services.assistant_settings(uow, staff))["prompt_price"] == "0.15"

    out = await services.suggest_replies(uow, staff, SEALER, llm, conversation_id)

    assert len(out["suggestions"]) == 3
    assert "Quanto custa o clareamento?" in out["suggestions"][0]
    assert out["model"] == "sandbox-chat"
    assert out["prompt_tokens"] > 0
    assert out["completion_tokens"] > 0
    expected_cost = (out["prompt_tokens"] * 0.15 + out["completion_tokens"] * 0.60) / 1000
    assert float(out["cost"]) == pytest.approx(expected_cost)
    sent_to_model = [r for r in await _recorded(llm_url) if "clareamento" in r["raw"]]
    assert len(sent_to_model) == 1
    raw = sent_to_model[0]["raw"]
    for personal in ("529.982.247-25", "maria@example.com", "Maria", "Souza", "98765"):
        assert personal not in raw
    assert "[cpf]" in raw
    assert "[email]" in raw
    assert sent_to_model[0]["authorized"] is True
    suggested = [p for t, p in await _outbox(uow) if t.endswith("reply.suggested.v1")]
    assert len(suggested) == 1
    assert suggested[0]["suggestion_id"] == out["suggestion_id"]
    assert suggested[0]["staff_id"] == staff.user_id
    assert suggested[0]["channel"] == WHATSAPP
    assert suggested[0]["count"] == 3
    assert suggested[0]["cost"] == out["cost"]

    as_is = await services.reply(uow, staff, conversation_id, out["suggestions"][1], None, out["suggestion_id"])
    edited = await services.reply(uow, staff, conversation_id, out["suggestions"][0] + " Abraço!", None,
                                  out["suggestion_id"])  # fmt: skip
    plain = await services.reply(uow, staff, conversation_id, "Bom dia!", None)
    wa = WhatsAppCloud(base_url="http://sandbox", api_version="v21.0", phone_number_id="1", token=WA_TOKEN,
                       client=whatsapp)  # fmt: skip
    assert await services.Dispatcher(uow, {WHATSAPP: wa}).dispatch_due() == 3

    sent = {p["message_id"]: p for t, p in await _outbox(uow) if t.endswith("message.sent.v1")}
    tokens = out["prompt_tokens"] + out["completion_tokens"]
    assert sent[as_is.id]["suggestion_id"] == out["suggestion_id"]
    assert sent[as_is.id]["suggestion_use"] == "as_is"
    assert sent[as_is.id]["suggestion_model"] == "sandbox-chat"
    assert sent[as_is.id]["suggestion_tokens"] == tokens
    assert sent[edited.id]["suggestion_use"] == "edited"
    assert sent[plain.id]["suggestion_id"] is None
    assert sent[plain.id]["suggestion_use"] is None
    async with uow() as u:
        kept = (await u.session.execute(select(messages.c.suggestion).where(messages.c.id == as_is.id))).scalar_one()
    assert kept["use"] == "as_is"


async def test_the_key_is_kept_when_omitted_and_another_clinic_sees_nothing(
    uow: NotificationsWorkFactory, llm: ChatCompletions, llm_url: str
) -> None:
    tenant, other = new_id(), new_id()
    staff, stranger = agent(tenant), agent(other)
    conversation_id = await _conversation(uow, tenant)
    await _configure(uow, staff, llm_url)
    await _configure(uow, staff, llm_url, key=None)  # the stored key stays
    await _configure(uow, stranger, llm_url)
    out = await services.suggest_replies(uow, staff, SEALER, llm, conversation_id)
    assert out["suggestions"]

    with pytest.raises(NotFound):
        await services.suggest_replies(uow, stranger, SEALER, llm, conversation_id)
    other_conversation = await _conversation(uow, other, "Olá, vocês abrem sábado?")
    with pytest.raises(InvalidInput) as err:  # a suggestion of another conversation
        await services.reply(uow, stranger, other_conversation, "Sim!", None, out["suggestion_id"])
    assert err.value.field == "suggestion_id"
    with pytest.raises(InvalidInput):
        await services.reply(uow, staff, conversation_id, "Sim!", None, new_id())
    assert (await services.assistant_settings(uow, agent(new_id())))["api_key_set"] is False

    # A sealed key copied to another clinic's row does not open there.
    async with uow() as u:
        sealed = (
            await u.session.execute(
                select(assistant_settings.c.api_key).where(assistant_settings.c.tenant_id == tenant)
            )
        ).scalar_one()
        await u.session.execute(
            assistant_settings.update().where(assistant_settings.c.tenant_id == other).values(api_key=sealed)
        )
        await u.commit()
    with pytest.raises(AssistantUnavailable):
        await services.suggest_replies(uow, stranger, SEALER, llm, other_conversation)


@pytest.mark.parametrize(
    ("model", "error", "message"),
    [
        ("sandbox-error", AssistantFailed, "HTTP 500"),
        ("sandbox-unavailable", AssistantUnavailable, "HTTP 503"),
        ("sandbox-ratelimit", AssistantUnavailable, "HTTP 429"),
        ("sandbox-slow", AssistantTimeout, "1.5 s"),
    ],
)
async def test_provider_failures_are_clear_errors_and_store_nothing(
    uow: NotificationsWorkFactory, llm: ChatCompletions, llm_url: str, model: str, error: type[Exception], message: str
) -> None:
    tenant = new_id()
    staff = agent(tenant)
    conversation_id = await _conversation(uow, tenant)
    await _configure(uow, staff, llm_url, model=model)

    with pytest.raises(error) as err:
        await services.suggest_replies(uow, staff, SEALER, llm, conversation_id)

    assert message in str(err.value)
    assert not [t for t, _ in await _outbox(uow) if t.endswith("reply.suggested.v1")]


async def test_wrong_key_unreachable_endpoint_and_no_settings(
    uow: NotificationsWorkFactory, llm: ChatCompletions, llm_url: str
) -> None:
    tenant = new_id()
    staff = agent(tenant)
    conversation_id = await _conversation(uow, tenant)
    with pytest.raises(AssistantNotConfigured):
        await services.suggest_replies(uow, staff, SEALER, llm, conversation_id)

    await _configure(uow, staff, llm_url, key="sk-wrong")
    with pytest.raises(AssistantFailed) as refused:
        await services.suggest_replies(uow, staff, SEALER, llm, conversation_id)
    assert "HTTP 401" in str(refused.value)
    assert "Incorrect API key" in str(refused.value)

    await _configure(uow, staff, f"http://127.0.0.1:{free_port()}", key=KEY)
    with pytest.raises(AssistantUnavailable):
        await services.suggest_replies(uow, staff, SEALER, llm, conversation_id)

    await services.put_assistant_settings(
        uow, staff, SEALER, enabled=False, endpoint_url=f"{llm_url}/v1", model="m", api_key=None,
        prompt_price=None, completion_price=None,
    )  # fmt: skip
    with pytest.raises(AssistantNotConfigured):
        await services.suggest_replies(uow, staff, SEALER, llm, conversation_id)
    with pytest.raises(AssistantUnavailable) as no_sealing:  # a key cannot be stored without a sealing key
        await services.put_assistant_settings(
            uow, staff, None, enabled=True, endpoint_url=f"{llm_url}/v1", model="m", api_key="sk-x",
            prompt_price=None, completion_price=None,
        )  # fmt: skip
    assert no_sealing.value.field == "api_key"


async def _person_writes(uow: NotificationsWorkFactory, tenant: str, phone: str, name: str, text: str) -> str:
    """`name` writes `text` to the clinic's WhatsApp number from `phone`: the conversation it lands in."""
    admin = agent(tenant)
    await services.connect_account(uow, admin, WHATSAPP, ACCOUNT + tenant[-3:])
    before = {str(c["id"]) for c in await services.conversations_of(uow, admin, lead_id=None, patient_id=None)}
    inbound = Inbound(WHATSAPP, "whatsapp_cloud", ACCOUNT + tenant[-3:], phone, name, f"wamid.{new_id()}", text,
                      None, None, datetime.now(UTC))  # fmt: skip
    assert await services.receive(uow, [inbound]) == 1
    after = {str(c["id"]) for c in await services.conversations_of(uow, admin, lead_id=None, patient_id=None)}
    return (after - before).pop() if after - before else before.pop()


async def test_the_clinic_s_own_past_answers_to_similar_messages_reach_the_model_redacted(
    uow: NotificationsWorkFactory, llm: ChatCompletions, llm_url: str
) -> None:
    clinic, other = new_id(), new_id()
    staff, theirs = agent(clinic), agent(other)
    await _configure(uow, staff, llm_url)
    await _configure(uow, theirs, llm_url)
    asked = await _person_writes(uow, clinic, "+5511911110001", "Joana Lima", "Quanto custa o clareamento dental?")
    await services.reply(uow, staff, asked, "Oi Joana! O clareamento custa a partir de R$ 800, avaliação grátis.",
                         None)  # fmt: skip
    saturday = await _person_writes(uow, clinic, "+5511911110002", "Pedro Alves", "Vocês atendem no sábado?")
    await services.reply(uow, staff, saturday, "Atendemos aos sábados das 8h às 12h.", None)
    elsewhere = await _person_writes(uow, other, "+5511911110003", "Rita Dias", "Quanto custa o clareamento dental?")
    await services.reply(uow, theirs, elsewhere, "Na outra clínica o clareamento custa R$ 999.", None)

    now = await _person_writes(uow, clinic, "+5511911110004", "Maria Souza", "Oi, qual o preço do clareamento dental?")
    out = await services.suggest_replies(uow, staff, SEALER, llm, now)
    assert len(out["suggestions"]) == 3
    raw = next(r["raw"] for r in reversed(await _recorded(llm_url)) if "preço do clareamento" in r["raw"])
    assert "O clareamento custa a partir de R$ 800, avaliação grátis." in raw  # the clinic's own answer
    assert "Quanto custa o clareamento dental?" in raw  # to the message it answered
    assert "R$ 999" not in raw  # never another clinic's
    assert "sábados" not in raw  # nor an answer to something else
    for personal in ("Joana", "Lima", "Maria", "Souza", "911110001"):
        assert personal not in raw
    # the other clinic's suggestion draws on its own answer only
    await _person_writes(uow, other, "+5511911110005", "Ana Reis", "Quanto custa o clareamento?")
    ana = [c for c in await services.conversations_of(uow, theirs, lead_id=None, patient_id=None)
           if str(c["id"]) != elsewhere]  # fmt: skip
    await services.suggest_replies(uow, theirs, SEALER, llm, str(ana[0]["id"]))
    raw = next(r["raw"] for r in reversed(await _recorded(llm_url)) if "Quanto custa o clareamento?" in r["raw"])
    assert "R$ 999" in raw
    assert "R$ 800" not in raw
