"""Provider adapters. WhatsApp Cloud API: POST /{version}/{phone_number_id}/messages."""

from __future__ import annotations

from typing import Protocol

import httpx
import msgspec


class SendResult(msgspec.Struct, frozen=True):
    provider: str
    provider_message_id: str


class ProviderError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class MessagingProvider(Protocol):
    name: str

    async def send_text(self, *, to: str, body: str, idempotency_key: str) -> SendResult: ...


class WhatsAppCloud:
    """Meta's WhatsApp Cloud API (and the sandbox provider, which speaks the same shape).

    `X-Idempotency-Key` lets the sandbox drop a resend after a crash between send and commit;
    Meta ignores the header, so in production that narrow window is at-least-once.
    """

    name = "whatsapp_cloud"

    def __init__(
        self,
        *,
        base_url: str,
        api_version: str,
        phone_number_id: str,
        token: str,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/{api_version}/{phone_number_id}/messages"
        self.token = token
        self.client = client or httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))

    async def send_text(self, *, to: str, body: str, idempotency_key: str) -> SendResult:
        payload = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to.lstrip("+"),
            "type": "text",
            "text": {"preview_url": False, "body": body},
        }
        try:
            response = await self.client.post(
                self.url,
                json=payload,
                headers={"Authorization": f"Bearer {self.token}", "X-Idempotency-Key": idempotency_key},
            )
        except httpx.HTTPError as exc:
            raise ProviderError(f"WhatsApp unreachable: {exc!r}", permanent=False) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise ProviderError(f"WhatsApp answered {response.status_code}", permanent=False)
        if response.status_code >= 400:
            raise ProviderError(
                f"WhatsApp refused the message ({response.status_code}): {response.text[:300]}", permanent=True
            )
        try:
            message_id = response.json()["messages"][0]["id"]
        except (ValueError, KeyError, IndexError) as exc:
            raise ProviderError(f"unexpected WhatsApp answer: {response.text[:300]}", permanent=False) from exc
        return SendResult(self.name, message_id)

    async def close(self) -> None:
        await self.client.aclose()
