"""Each channel adapter against the sandbox providers (HTTP through the sandbox app) and a real SMTP server."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from devkit.infra import free_port
from notifications.channels import (
    InstagramMessaging,
    Outgoing,
    ProviderError,
    SmtpEmail,
    TelegramBot,
    TwilioSms,
    WhatsAppCloud,
)
from sandbox.app import create_app
from sandbox.channels import start_smtp

TOKEN = "sandbox-token"
BUTTONS = [{"id": "appt:1:confirm", "title": "Confirmar"}, {"id": "appt:1:reschedule", "title": "Remarcar"}]


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def sandbox(monkeypatch: pytest.MonkeyPatch, _restore_logging: None) -> AsyncIterator[httpx.AsyncClient]:
    for name in ("WHATSAPP_TOKEN", "TWILIO_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN", "INSTAGRAM_TOKEN"):
        monkeypatch.setenv(f"SANDBOX_{name}", TOKEN)
    app = create_app()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as client:
        yield client


def _out(channel: str, to: str, key: str, **extra: Any) -> Outgoing:
    return Outgoing(channel=channel, to=to, body="Olá, Maria! Você confirma?", idempotency_key=key, **extra)


async def _received(client: httpx.AsyncClient, channel: str) -> list[dict[str, Any]]:
    path = "/sandbox/whatsapp/messages" if channel == "whatsapp" else f"/sandbox/{channel}/messages"
    return (await client.get(path)).json()["items"]  # type: ignore[no-any-return]


async def test_whatsapp_text_buttons_and_template(sandbox: httpx.AsyncClient) -> None:
    wa = WhatsAppCloud(base_url="http://sandbox", api_version="v21.0", phone_number_id="1", token=TOKEN, client=sandbox)
    text = await wa.send(_out("whatsapp", "+5511987654321", "k1"))
    tapped = await wa.send(_out("whatsapp", "+5511987654321", "k2", buttons=BUTTONS))
    template = await wa.send(
        _out(
            "whatsapp",
            "+5511987654321",
            "k3",
            buttons=BUTTONS,
            template={"name": "appointment_reminder", "language": "pt_BR", "params": ["Maria", "10:00"]},
        )
    )
    again = await wa.send(_out("whatsapp", "+5511987654321", "k2", buttons=BUTTONS))

    assert again.provider_message_id == tapped.provider_message_id  # a resend with the same key is one message
    items = await _received(sandbox, "whatsapp")
    assert [i["type"] for i in items] == ["text", "interactive", "template"]
    assert items[0]["id"] == text.provider_message_id
    assert items[1]["buttons"] == BUTTONS
    assert items[2]["id"] == template.provider_message_id
    assert items[2]["template"] == {"name": "appointment_reminder", "language": "pt_BR", "params": ["Maria", "10:00"]}
    assert [b["id"] for b in items[2]["buttons"]] == ["appt:1:confirm", "appt:1:reschedule"]


async def test_whatsapp_errors_are_transient_or_permanent(sandbox: httpx.AsyncClient) -> None:
    wa = WhatsAppCloud(base_url="http://sandbox", api_version="v21.0", phone_number_id="1", token=TOKEN, client=sandbox)
    await sandbox.post("/sandbox/whatsapp/faults", json={"fail_next": 1, "status": 503})
    with pytest.raises(ProviderError) as transient:
        await wa.send(_out("whatsapp", "+5511987654321", "k1"))
    assert not transient.value.permanent
    with pytest.raises(ProviderError) as permanent:
        await wa.send(_out("whatsapp", "12", "k2"))
    assert permanent.value.permanent
    wrong = WhatsAppCloud(
        base_url="http://sandbox", api_version="v21.0", phone_number_id="1", token="no", client=sandbox
    )
    with pytest.raises(ProviderError) as refused:
        await wrong.send(_out("whatsapp", "+5511987654321", "k3"))
    assert refused.value.permanent


async def test_twilio_sms_form_encoded_with_basic_auth(sandbox: httpx.AsyncClient) -> None:
    sms = TwilioSms(
        base_url="http://sandbox", account_sid="AC1", auth_token=TOKEN, from_number="+15005550006", client=sandbox
    )
    first = await sms.send(_out("sms", "+5511987654321", "s1"))
    again = await sms.send(_out("sms", "+5511987654321", "s1"))
    assert first.provider_message_id.startswith("SM")
    assert again.provider_message_id == first.provider_message_id
    (item,) = await _received(sandbox, "sms")
    assert (item["to"], item["body"]) == ("5511987654321", "Olá, Maria! Você confirma?")
    bad = TwilioSms(base_url="http://sandbox", account_sid="AC1", auth_token="wrong", from_number="+1", client=sandbox)
    with pytest.raises(ProviderError) as refused:
        await bad.send(_out("sms", "+5511987654321", "s2"))
    assert refused.value.permanent


async def test_telegram_and_instagram(sandbox: httpx.AsyncClient) -> None:
    telegram = TelegramBot(base_url="http://sandbox", token=TOKEN, client=sandbox)
    instagram = InstagramMessaging(base_url="http://sandbox", api_version="v21.0", token=TOKEN, client=sandbox)
    sent = await telegram.send(_out("telegram", "4242", "t1", buttons=BUTTONS))
    dm = await instagram.send(_out("instagram", "17841400000000001", "i1"))
    (tg,) = await _received(sandbox, "telegram")
    (ig,) = await _received(sandbox, "instagram")
    assert tg["id"] == sent.provider_message_id
    assert tg["buttons"] == BUTTONS
    assert (ig["id"], ig["to"]) == (dm.provider_message_id, "17841400000000001")


async def test_email_over_a_real_smtp_server(sandbox: httpx.AsyncClient) -> None:
    from sandbox.whatsapp import Mailbox

    box = Mailbox("")
    port = free_port()
    server = await start_smtp(box, "127.0.0.1", port)
    try:
        mail = SmtpEmail(host="127.0.0.1", port=port, sender="Clínica <no-reply@clinic.example>")
        first = await mail.send(_out("email", "maria@example.com", "e1", subject="Lembrete da sua consulta"))
        await mail.send(_out("email", "maria@example.com", "e1", subject="Lembrete da sua consulta"))
    finally:
        server.close()
        await server.wait_closed()
    assert first.provider_message_id == "<e1@clinicflow>"
    (item,) = box.messages  # the resend carried the same Message-ID
    assert (item.to, item.subject, item.body) == (
        "maria@example.com",
        "Lembrete da sua consulta",
        "Olá, Maria! Você confirma?",
    )
    assert box.duplicates == 1
    refused = SmtpEmail(host="127.0.0.1", port=free_port(), sender="x@clinic.example", timeout=2)
    with pytest.raises(ProviderError) as down:
        await refused.send(_out("email", "maria@example.com", "e2"))
    assert not down.value.permanent
