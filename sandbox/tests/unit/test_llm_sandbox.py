"""The LLM look-alike in-process: the OpenAI chat completions shape, deterministic answers, usage, the
failures its model names pick, and the recorded requests."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from sandbox.llm.app import create_app

KEY = {"authorization": "Bearer sk-sandbox"}


@pytest.fixture
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
async def llm(monkeypatch: pytest.MonkeyPatch, _restore_logging: None) -> AsyncIterator[AsyncTestClient[Any]]:
    monkeypatch.setenv("SANDBOX_LLM_SLOW_SECONDS", "0.01")
    async with AsyncTestClient(app=create_app()) as client:
        yield client


def _body(model: str = "sandbox-chat", text: str = "Paciente: Quanto custa o clareamento?") -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": text}]}


async def test_answers_from_the_prompt_with_usage(llm: AsyncTestClient[Any]) -> None:
    first = await llm.post("/v1/chat/completions", json=_body(), headers=KEY)
    again = await llm.post("/v1/chat/completions", json=_body(), headers=KEY)

    assert first.status_code == 200
    answer = first.json()
    assert answer["object"] == "chat.completion"
    suggestions = json.loads(answer["choices"][0]["message"]["content"])["suggestions"]
    assert len(suggestions) == 3
    assert "Quanto custa o clareamento?" in suggestions[0]
    assert answer["usage"]["prompt_tokens"] == 2 + 5
    assert answer["usage"]["total_tokens"] == answer["usage"]["prompt_tokens"] + answer["usage"]["completion_tokens"]
    assert again.json()["choices"] == answer["choices"]  # the same prompt, the same answer


async def test_records_requests_and_refuses_without_a_key(llm: AsyncTestClient[Any]) -> None:
    refused = await llm.post("/v1/chat/completions", json=_body(text="Oi"))
    await llm.post("/v1/chat/completions", json=_body(text="Olá"), headers=KEY)

    assert refused.status_code == 401
    assert refused.json()["error"]["type"] == "invalid_request_error"
    items = (await llm.get("/sandbox/llm/requests")).json()["items"]
    assert [i["authorized"] for i in items] == [False, True]
    assert items[1]["body"]["messages"][1]["content"] == "Olá"
    assert (await llm.delete("/sandbox/llm/requests")).json() == {"cleared": 2}
    assert (await llm.get("/sandbox/llm/requests")).json()["items"] == []


@pytest.mark.parametrize(("model", "status"), [("x-error", 500), ("x-unavailable", 503), ("x-ratelimit", 429)])
async def test_model_names_pick_failures(llm: AsyncTestClient[Any], model: str, status: int) -> None:
    response = await llm.post("/v1/chat/completions", json=_body(model), headers=KEY)
    assert response.status_code == status
    assert response.json()["error"]["message"]


async def test_slow_and_garbage_models(llm: AsyncTestClient[Any]) -> None:
    slow = await llm.post("/v1/chat/completions", json=_body("x-slow"), headers=KEY)
    garbage = await llm.post("/v1/chat/completions", json=_body("x-garbage"), headers=KEY)
    bad = await llm.post("/v1/chat/completions", content=b"not json", headers=KEY)

    assert slow.status_code == 200
    content = garbage.json()["choices"][0]["message"]["content"]
    assert not content.startswith("{")
    assert len(content.splitlines()) == 3
    assert bad.status_code == 400
