"""The WhatsApp Cloud API look-alike, driven in-process through Litestar's test client."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from sandbox.app import create_app

TOKEN = "t0ken"
SEND = "/v21.0/1234567890/messages"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MESSAGES = "/sandbox/whatsapp/messages"
FAULTS = "/sandbox/whatsapp/faults"


def _text(to: str = "+5511987654321", body: str = "Olá, Maria!") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "text",
        "text": {"body": body},
    }


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    """create_app() installs its own root log handler; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def client(monkeypatch: pytest.MonkeyPatch, _restore_logging: None) -> AsyncIterator[AsyncTestClient[Any]]:
    monkeypatch.setenv("SANDBOX_WHATSAPP_TOKEN", TOKEN)
    async with AsyncTestClient(app=create_app()) as test_client:
        yield test_client


async def _recorded(client: AsyncTestClient[Any], **params: str) -> dict[str, Any]:
    response = await client.get(MESSAGES, params=params)
    assert response.status_code == 200
    return response.json()


def _assert_graph_error(body: dict[str, Any], code: int) -> None:
    error = body["error"]
    assert error["code"] == code
    assert error["type"] == "OAuthException"
    assert error["message"]
    assert error["fbtrace_id"]


async def test_send_is_accepted_and_recorded(client: AsyncTestClient[Any]) -> None:
    response = await client.post(SEND, json=_text(), headers=AUTH)

    assert response.status_code == 200
    body = response.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+5511987654321", "wa_id": "5511987654321"}]
    (message,) = body["messages"]
    assert message["id"].startswith("wamid.")

    recorded = await _recorded(client)
    (item,) = recorded["items"]
    assert item["id"] == message["id"]
    assert (item["to"], item["type"], item["body"]) == ("5511987654321", "text", "Olá, Maria!")
    assert item["phone_number_id"] == "1234567890"
    assert item["idempotency_key"] is None
    assert recorded["duplicates"] == 0


async def test_every_send_gets_a_new_id(client: AsyncTestClient[Any]) -> None:
    first = await client.post(SEND, json=_text(), headers=AUTH)
    second = await client.post(SEND, json=_text(), headers=AUTH)
    assert first.json()["messages"][0]["id"] != second.json()["messages"][0]["id"]
    assert len((await _recorded(client))["items"]) == 2


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["missing", "wrong-token", "no-scheme", "basic"],
)
async def test_send_without_the_right_bearer_is_unauthorised(
    client: AsyncTestClient[Any], headers: dict[str, str]
) -> None:
    response = await client.post(SEND, json=_text(), headers=headers)

    assert response.status_code == 401
    _assert_graph_error(response.json(), 190)
    assert (await _recorded(client))["items"] == []


async def test_wrong_messaging_product_is_refused(client: AsyncTestClient[Any]) -> None:
    response = await client.post(SEND, json={**_text(), "messaging_product": "sms"}, headers=AUTH)
    assert response.status_code == 400
    _assert_graph_error(response.json(), 100)


async def test_text_message_without_text_is_refused(client: AsyncTestClient[Any]) -> None:
    payload = {k: v for k, v in _text().items() if k != "text"}
    response = await client.post(SEND, json=payload, headers=AUTH)
    assert response.status_code == 400
    _assert_graph_error(response.json(), 100)


@pytest.mark.parametrize("to", ["123", "+55 11 98765-4321", "not-a-number"])
async def test_bad_recipient_is_refused(client: AsyncTestClient[Any], to: str) -> None:
    response = await client.post(SEND, json=_text(to=to), headers=AUTH)
    assert response.status_code == 400
    assert (await _recorded(client))["items"] == []


async def test_same_idempotency_key_records_one_message(client: AsyncTestClient[Any]) -> None:
    headers = {**AUTH, "X-Idempotency-Key": "msg-1"}
    first = await client.post(SEND, json=_text(), headers=headers)
    second = await client.post(SEND, json=_text(), headers=headers)
    other = await client.post(SEND, json=_text(), headers={**AUTH, "X-Idempotency-Key": "msg-2"})

    assert first.status_code == second.status_code == other.status_code == 200
    assert first.json()["messages"][0]["id"] == second.json()["messages"][0]["id"]
    assert other.json()["messages"][0]["id"] != first.json()["messages"][0]["id"]
    recorded = await _recorded(client)
    assert [m["idempotency_key"] for m in recorded["items"]] == ["msg-1", "msg-2"]
    assert recorded["duplicates"] == 1


async def test_faults_fail_the_next_sends(client: AsyncTestClient[Any]) -> None:
    response = await client.post(FAULTS, json={"fail_next": 2, "status": 429})
    assert response.status_code == 200
    assert response.json() == {"fail_next": 2, "status": 429}

    statuses = [(await client.post(SEND, json=_text(), headers=AUTH)).status_code for _ in range(3)]

    assert statuses == [429, 429, 200]
    assert len((await _recorded(client))["items"]) == 1


async def test_faults_default_to_503(client: AsyncTestClient[Any]) -> None:
    await client.post(FAULTS, json={"fail_next": 1})
    failed = await client.post(SEND, json=_text(), headers=AUTH)
    assert failed.status_code == 503
    _assert_graph_error(failed.json(), 2)


async def test_messages_can_be_filtered_by_recipient(client: AsyncTestClient[Any]) -> None:
    for to in ("+5511987654321", "5521987654321", "+5511987654321"):
        assert (await client.post(SEND, json=_text(to=to), headers=AUTH)).status_code == 200

    with_plus = await _recorded(client, to="+5511987654321")
    without_plus = await _recorded(client, to="5511987654321")
    other = await _recorded(client, to="5521987654321")
    nobody = await _recorded(client, to="+34612345678")

    assert [m["to"] for m in with_plus["items"]] == ["5511987654321", "5511987654321"]
    assert without_plus["items"] == with_plus["items"]
    assert [m["to"] for m in other["items"]] == ["5521987654321"]
    assert nobody["items"] == []
    assert len((await _recorded(client))["items"]) == 3


async def test_delete_clears_messages_and_duplicates(client: AsyncTestClient[Any]) -> None:
    headers = {**AUTH, "X-Idempotency-Key": "msg-1"}
    await client.post(SEND, json=_text(), headers=headers)
    await client.post(SEND, json=_text(), headers=headers)

    response = await client.delete(MESSAGES)

    assert response.status_code == 204
    assert await _recorded(client) == {"items": [], "duplicates": 0}
    # The idempotency memory is gone too: the same key records a new message.
    again = await client.post(SEND, json=_text(), headers=headers)
    assert again.status_code == 200
    assert len((await _recorded(client))["items"]) == 1


async def test_health(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_a_medium_the_person_sends_is_served_as_meta_serves_it(
    client: AsyncTestClient[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    posted: list[bytes] = []

    async def deliver(path: str, content: bytes, headers: dict[str, str], hooks: Any) -> dict[str, Any]:
        posted.append(content)
        return {"status": 200}

    monkeypatch.setattr("sandbox.channels._deliver", deliver)
    photo = b"\xff\xd8\xff\xe0 a photo"
    sent = await client.post(
        "/sandbox/whatsapp/inbound",
        json={"sender": "+5511987654321", "media": base64.b64encode(photo).decode(), "caption": "topo"},
    )
    assert sent.json()["status"] == 200
    image = json.loads(posted[0])["entry"][0]["changes"][0]["value"]["messages"][0]["image"]
    assert (image["mime_type"], image["caption"], image["sha256"]) == (
        "image/jpeg",
        "topo",
        hashlib.sha256(photo).hexdigest(),
    )
    bearer = AUTH
    assert (await client.get(f"/v21.0/{image['id']}")).status_code == 401
    described = (await client.get(f"/v21.0/{image['id']}", headers=bearer)).json()
    assert (described["mime_type"], described["file_size"]) == ("image/jpeg", str(len(photo)))
    path = described["url"].split("://", 1)[1].split("/", 1)[1]
    assert (await client.get(f"/{path}")).status_code == 401  # the URL wants the token too
    got = await client.get(f"/{path}", headers=bearer)
    assert (got.content, got.headers["content-type"]) == (photo, "image/jpeg")
    assert (await client.get("/v21.0/999", headers=bearer)).status_code == 400
    refused = await client.post("/sandbox/whatsapp/inbound", json={"sender": "+5511987654321", "media": "not base64!"})
    assert "base64" in refused.json()["error"]
