"""The reply assistant through the running system: a person writes on WhatsApp (the sandbox posts the signed
webhook to the gateway) -> a sales agent asks for suggested replies (the clinic's model is the LLM sandbox; what
reached it is redacted) -> sends one as is -> WhatsApp gets it -> the AI usage report counts it, for the
manager clinic-wide and for the agent as their own; other roles and other clinics are refused."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from devkit.stack import Stack
from tests.e2e.conftest import Api, Sandbox, staff, wait_until

pytestmark = pytest.mark.e2e

CPF = "529.982.247-25"
REPORT = "/api/v1/analytics/reports/ai-usage"


def _row(api: Api, user_id: str, **params: str) -> dict[str, Any] | None:
    answer = api.http.get(REPORT, params=params)
    assert answer.status_code == 200, answer.text
    return next((r for r in answer.json()["rows"] if r["staff"] == user_id), None)


def test_inbound_whatsapp_suggestions_reply_and_the_ai_usage_report(
    stack: Stack, admin: Api, sandbox: Sandbox, other_clinic: Api, unique_phone: Callable[[], str]
) -> None:
    llm = httpx.Client(base_url=stack.url("sandbox_llm"), timeout=10.0)
    connect = admin.http.put("/api/v1/notifications/channels/whatsapp", json={"account_id": "100000000000001"})
    assert connect.status_code == 200, connect.text
    settings = admin.http.put(
        "/api/v1/notifications/assistant/settings",
        json={"endpoint_url": f"{stack.url('sandbox_llm')}/v1", "model": "sandbox-chat", "api_key": "sk-e2e-secret",
              "prompt_price": "0.15", "completion_price": "0.60"},
    )  # fmt: skip
    assert settings.status_code == 200, settings.text
    shown = admin.http.get("/api/v1/notifications/assistant/settings")
    assert shown.json()["api_key_set"] is True
    assert "sk-e2e-secret" not in shown.text
    agent, agent_id = staff(stack, admin, "sales_agent")
    doctor, _ = staff(stack, admin, "professional")

    # The person writes, with their CPF, e-mail and another phone number in the text.
    phone, name, marker = unique_phone(), f"Paula {uuid.uuid4().hex[:6]}", uuid.uuid4().hex[:10]
    text = f"Oi! Pedido {marker}: meu CPF é {CPF}, e-mail paula@example.com, liga no (11) 97777-1234. Tem horário?"
    posted = sandbox.http.post("/sandbox/whatsapp/inbound", json={"sender": phone, "name": name, "text": text})
    assert posted.json()["status"] == 200, posted.text

    def conversation() -> str | None:
        answer = agent.http.get("/api/v1/notifications/conversations")
        assert answer.status_code == 200, answer.text
        return next((c["id"] for c in answer.json()["items"] if c["name"] == name), None)

    conversation_id = wait_until(conversation, 20.0, "the person's message made no conversation")
    path = f"/api/v1/notifications/conversations/{conversation_id}/suggestions"

    assert doctor.http.post(path).status_code == 403  # crm:read only: may read, not answer
    assert other_clinic.http.post(path).status_code == 404  # another clinic's conversation does not exist for it
    answer = agent.http.post(path)
    assert answer.status_code == 200, answer.text
    offered = answer.json()
    assert len(offered["suggestions"]) == 3
    assert marker in offered["suggestions"][0]
    assert offered["prompt_tokens"] > 0
    assert offered["cost"] is not None

    (request,) = [r for r in llm.get("/sandbox/llm/requests").json()["items"] if marker in r["raw"]]
    for personal in (CPF, "paula@example.com", "97777", phone.lstrip("+"), name):
        assert personal not in request["raw"]
    assert "[cpf]" in request["raw"]
    assert "[email]" in request["raw"]
    assert "[phone]" in request["raw"]

    sent = agent.http.post(
        f"/api/v1/notifications/conversations/{conversation_id}/messages",
        json={"text": offered["suggestions"][1], "suggestion_id": offered["suggestion_id"]},
    )
    assert sent.status_code == 201, sent.text
    wait_until(
        lambda: [m for m in sandbox.received(phone) if m.get("body") == offered["suggestions"][1]],
        20.0,
        "WhatsApp never got the reply",
    )

    # message.sent (with the suggestion) and reply.suggested reach analytics through the broker.
    row = wait_until(
        lambda: (r := _row(admin, agent_id)) and r["used"] == 1 and r["staff_name"] and r,
        30.0,
        "the AI usage report never counted the used suggestion",
    )
    assert (row["requests"], row["suggestions"], row["used"], row["as_is"], row["edited"], row["ignored"]) == (
        1, 3, 1, 1, 0, 0,
    )  # fmt: skip
    assert row["tokens"] == offered["prompt_tokens"] + offered["completion_tokens"]
    assert float(row["cost"]) == pytest.approx(float(offered["cost"]), abs=1e-4)
    assert row["staff_name"] == "Sales_Agent"
    own = agent.http.get(REPORT).json()
    assert own["scope"] == "own"
    assert [r["staff"] for r in own["rows"]] == [agent_id]
    assert other_clinic.http.get(REPORT).json()["rows"] == []
    exported = admin.http.get(REPORT, params={"format": "csv"})
    assert exported.status_code == 200
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert agent_id in [line[0] for line in lines[1:]]

    # The clinic's model failing is a problem naming the cause, never a 500.
    admin.http.put(
        "/api/v1/notifications/assistant/settings",
        json={"endpoint_url": f"{stack.url('sandbox_llm')}/v1", "model": "sandbox-error"},
    ).raise_for_status()
    failed = agent.http.post(path)
    assert failed.status_code == 502, failed.text
    assert failed.headers["content-type"].startswith("application/problem+json")
    admin.http.put(
        "/api/v1/notifications/assistant/settings",
        json={"endpoint_url": f"{stack.url('sandbox_llm')}/v1", "model": "sandbox-chat", "enabled": False},
    ).raise_for_status()
    assert agent.http.post(path).status_code == 409


def test_the_clinic_s_past_answers_to_similar_messages_reach_the_model_as_examples(
    stack: Stack, admin: Api, sandbox: Sandbox, unique_phone: Callable[[], str]
) -> None:
    llm = httpx.Client(base_url=stack.url("sandbox_llm"), timeout=10.0)
    admin.http.put("/api/v1/notifications/channels/whatsapp", json={"account_id": "100000000000001"}).raise_for_status()
    admin.http.put(
        "/api/v1/notifications/assistant/settings",
        json={"endpoint_url": f"{stack.url('sandbox_llm')}/v1", "model": "sandbox-chat", "api_key": "sk-e2e-secret",
              "enabled": True},
    ).raise_for_status()  # fmt: skip
    agent, _ = staff(stack, admin, "sales_agent")
    marker = uuid.uuid4().hex[:10]

    def writes(name: str, text: str) -> tuple[str, str]:
        phone = unique_phone()
        posted = sandbox.http.post("/sandbox/whatsapp/inbound", json={"sender": phone, "name": name, "text": text})
        assert posted.json()["status"] == 200, posted.text

        def conversation() -> str | None:
            answer = agent.http.get("/api/v1/notifications/conversations")
            return next((c["id"] for c in answer.json()["items"] if c["name"] == name), None)

        return phone, wait_until(conversation, 20.0, f"{name}'s message made no conversation")

    # Earlier, another person asked much the same and an agent answered.
    earlier = f"Lara {uuid.uuid4().hex[:6]}"
    _, first = writes(earlier, "Quanto custa a lente de contato dental em porcelana? Parcelam?")
    answer = f"Oi {earlier.split()[0]}! A lente em porcelana sai R$ 1.200 por dente, em até 10x. Ref {marker}."
    sent = agent.http.post(f"/api/v1/notifications/conversations/{first}/messages", json={"text": answer})
    assert sent.status_code == 201, sent.text

    # Now someone else asks: the suggestions are written with that answer as an example.
    now = f"Bruna {uuid.uuid4().hex[:6]}"
    phone, second = writes(now, "Oi, qual o valor da lente de contato dental em porcelana?")
    offered = agent.http.post(f"/api/v1/notifications/conversations/{second}/suggestions")
    assert offered.status_code == 200, offered.text
    assert len(offered.json()["suggestions"]) == 3
    (request,) = [r for r in llm.get("/sandbox/llm/requests").json()["items"]
                  if marker in r["raw"] and "qual o valor da lente" in r["raw"]]  # fmt: skip
    raw = request["raw"]
    assert "A lente em porcelana sai R$ 1.200 por dente, em até 10x." in raw
    assert "Quanto custa a lente de contato dental em porcelana? Parcelam?" in raw
    for personal in (earlier, earlier.split()[0], now, phone.lstrip("+")):
        assert personal not in raw
