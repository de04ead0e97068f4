"""An OpenAI-compatible `/v1/chat/completions` look-alike (its own process, port 8094).

It answers deterministically from the prompt: three suggested replies, as the JSON object the reply assistant
asks for (`{"suggestions": [...]}`), built from the last line of the last user message; `usage` counts words as
tokens. Every request is recorded as it arrived (GET /sandbox/llm/requests), so tests can assert what left the
service (no CPF, phone or e-mail). The model name picks a failure, as a real provider would show it:

- `*-error`: 500 with an OpenAI error body; `*-unavailable`: 503; `*-ratelimit`: 429;
- `*-slow`: answers only after `slow_seconds` (a caller's timeout fires first);
- `*-garbage`: 200 whose content is not the JSON asked for (plain lines instead).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections import deque
from typing import Any

import msgspec
from litestar import Controller, Litestar, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK

from kit import logging as kit_logging
from kit import web
from kit.settings import load

KEEP = 500


class LlmSandboxSettings(msgspec.Struct, kw_only=True):
    http_host: str = "127.0.0.1"
    http_port: int = 8094
    #: The API key callers must send (Bearer); empty: any non-empty key.
    api_key: str = ""
    #: How long a `*-slow` model takes to answer.
    slow_seconds: float = 30.0
    log_level: str = "INFO"
    log_format: str = "json"


def get_settings() -> LlmSandboxSettings:
    return load(LlmSandboxSettings, "SANDBOX_LLM_")


def _error(status: int, message: str, kind: str) -> Response[Any]:
    return Response({"error": {"message": message, "type": kind, "param": None, "code": None}}, status_code=status)


def tokens(text: str) -> int:
    """The sandbox's token count: words (deterministic, close enough in size to a real tokenizer's count)."""
    return len(text.split())


def _content(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):  # the content-parts form
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def suggestions_for(messages: list[Any]) -> list[str]:
    """Three replies that quote the last line the person wrote (the last user message's last line)."""
    users = [_content(m) for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    lines = [ln.strip() for ln in (users[-1] if users else "").splitlines() if ln.strip()]
    # The person's own last line: the clinic's welcome may have gone out after the person wrote.
    theirs = [ln for ln in lines if ln.startswith("Patient:")]
    last = (theirs or lines or [""])[-1]
    said = last.split(":", 1)[1].strip() if ":" in last[:20] else last
    said = said[:80]
    return [
        f'Obrigado pela mensagem! Sobre "{said}": vou verificar e já te respondo.',
        "Podemos agendar uma avaliação. Qual dia e horário ficam melhores para você?",
        f'Claro, posso ajudar com "{said}". Quer que eu envie os horários disponíveis?',
    ]


class ChatCompletions(Controller):
    path = "/v1"

    @post("/chat/completions", status_code=HTTP_200_OK)
    async def complete(self, request: Request[Any, Any, Any], state: State) -> Response[Any]:
        settings: LlmSandboxSettings = state.llm_settings
        auth = request.headers.get("authorization", "")
        key = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        state.llm_requests.append(
            {"at": time.time(), "authorized": bool(key), "body": body, "raw": raw.decode("utf-8", "replace")}
        )
        if not key or (settings.api_key and key != settings.api_key):
            return _error(401, "Incorrect API key provided.", "invalid_request_error")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body.get("model"):
            return _error(400, "A JSON body with `model` and `messages` is required.", "invalid_request_error")
        model = str(body["model"])
        if model.endswith("-error"):
            return _error(500, "The server had an error while processing your request.", "server_error")
        if model.endswith("-unavailable"):
            return _error(503, "The engine is currently overloaded, please try again later.", "server_error")
        if model.endswith("-ratelimit"):
            return _error(429, "Rate limit reached for requests.", "requests")
        if model.endswith("-slow"):
            await asyncio.sleep(settings.slow_seconds)
        messages = body["messages"]
        replies = suggestions_for(messages)
        content = "\n".join(replies) if model.endswith("-garbage") else json.dumps({"suggestions": replies})
        prompt_tokens = sum(tokens(_content(m)) for m in messages)
        completion_tokens = sum(tokens(r) for r in replies)
        digest = hashlib.sha256(raw).hexdigest()[:24]
        return Response(
            {
                "id": f"chatcmpl-{digest}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            }
        )


class Inspect(Controller):
    path = "/sandbox/llm"

    @get("/requests")
    async def requests(self, state: State) -> dict[str, Any]:
        """Every request as it arrived, oldest first (the last 500)."""
        return {"items": list(state.llm_requests)}

    @delete("/requests", status_code=200)
    async def reset(self, state: State) -> dict[str, int]:
        count = len(state.llm_requests)
        state.llm_requests.clear()
        return {"cleared": count}


def create_app() -> Litestar:
    settings = get_settings()
    kit_logging.setup("sandbox-llm", settings.log_level, settings.log_format)

    async def ok() -> None:
        return None

    return web.create_app(
        service="sandbox-llm",
        title="ClinicFlow LLM sandbox",
        description="An OpenAI-compatible chat completions look-alike: deterministic answers from the prompt, token "
        "usage, failures picked by the model name, every request recorded.",
        route_handlers=[ChatCompletions, Inspect],
        checks={"self": ok},
        state={"llm_settings": settings, "llm_requests": deque(maxlen=KEEP)},
    )
