"""The reply assistant's model: an OpenAI-compatible chat completions endpoint over HTTP (the clinic's own
configured URL, model and API key; the local stack's sandbox.llm stands in for it).

Failures become the domain's assistant errors, so the API answers 502 / 503 / 504 problems, never a 500:
unreachable, 429 and 503 -> AssistantUnavailable; no answer in time -> AssistantTimeout; any other error status
or an answer without usable content -> AssistantFailed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from notifications.domain import AssistantFailed, AssistantTimeout, AssistantUnavailable
from notifications.suggestions import completions_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Completion:
    content: str
    model: str
    prompt_tokens: int
    completion_tokens: int


def _int(value: Any) -> int:
    return value if isinstance(value, int) and value >= 0 else 0


class ChatCompletions:
    def __init__(self, *, timeout: float = 20.0, client: httpx.AsyncClient | None = None) -> None:
        self.timeout = timeout
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)))
        self._own = client is None

    async def complete(
        self, *, endpoint: str, api_key: str, model: str, messages: list[dict[str, str]], user: str | None = None
    ) -> Completion:
        body: dict[str, Any] = {"model": model, "messages": messages, "temperature": 0.3}
        if user:
            body["user"] = user
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        try:
            response = await self._client.post(completions_url(endpoint), json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise AssistantTimeout(f"The model endpoint did not answer within {self.timeout:g} s.") from exc
        except httpx.HTTPError as exc:
            raise AssistantUnavailable(f"The model endpoint cannot be reached ({type(exc).__name__}).") from exc
        if response.status_code in (429, 503):
            raise AssistantUnavailable(f"The model endpoint is busy (HTTP {response.status_code}); try again soon.")
        if response.status_code >= 400:
            log.warning("model endpoint answered %s: %s", response.status_code, response.text[:300])
            reason = _error_message(response)
            raise AssistantFailed(f"The model endpoint refused the request (HTTP {response.status_code}){reason}.")
        try:
            data = response.json()
            content = data["choices"][0]["message"]["content"]
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise AssistantFailed("The model endpoint's answer is not a chat completion.") from exc
        if not isinstance(content, str):
            raise AssistantFailed("The model endpoint's answer has no text.")
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        return Completion(
            content=content,
            model=str(data.get("model") or model),
            prompt_tokens=_int(usage.get("prompt_tokens")),
            completion_tokens=_int(usage.get("completion_tokens")),
        )

    async def close(self) -> None:
        if self._own:
            await self._client.aclose()


def _error_message(response: httpx.Response) -> str:
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return ""
    return f": {str(message)[:200]}" if message else ""
