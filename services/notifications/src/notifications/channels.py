"""Channel adapters behind one interface: WhatsApp Cloud API, Twilio SMS, e-mail over SMTP, Telegram Bot API,
Instagram messaging. In-app notifications need no provider: the dispatcher writes them itself.

Every send carries an idempotency key (the message id and its channel step): the sandbox drops a resend
with the same key, SMTP gets it as the Message-ID. Real providers that ignore it make the narrow window
between a send and its commit at-least-once.
"""

from __future__ import annotations

import base64
from email.message import EmailMessage
from typing import Any, Protocol

import aiosmtplib
import httpx
import msgspec

from notifications.domain import EMAIL, INSTAGRAM, SMS, TELEGRAM, WHATSAPP


class Outgoing(msgspec.Struct, frozen=True, kw_only=True):
    channel: str
    to: str
    body: str
    idempotency_key: str
    subject: str | None = None
    #: Reply buttons: [{"id": "appt:<id>:confirm", "title": "Confirm"}].
    buttons: list[dict[str, str]] = []
    #: WhatsApp outside the 24-hour window: {"name", "language", "params"} of the approved template.
    template: dict[str, Any] | None = None
    #: Set: the buttons are the rows of a WhatsApp interactive list opened by this button (up to 10 rows).
    list_button: str | None = None


class SendResult(msgspec.Struct, frozen=True):
    provider: str
    provider_message_id: str


class ProviderError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class ChannelAdapter(Protocol):
    name: str
    channel: str

    async def send(self, out: Outgoing) -> SendResult: ...

    async def close(self) -> None: ...


#: Provider requests in flight per adapter. httpcore's pool matches every waiting request against every
#: connection each time one finishes, so its CPU grows with the square of this; 16 keeps up with a provider
#: answering in 10 ms at 1,600 messages/s (docs/benchmarks.md, "Notifications").
PROVIDER_CONNECTIONS = 16


def provider_client(connections: int = PROVIDER_CONNECTIONS) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=httpx.Timeout(10.0, connect=3.0),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


def _client() -> httpx.AsyncClient:
    return provider_client()


async def _post(client: httpx.AsyncClient, what: str, url: str, **kwargs: Any) -> httpx.Response:
    """5xx, 429 and network errors are worth a retry; other 4xx are final."""
    try:
        response = await client.post(url, **kwargs)
    except httpx.HTTPError as exc:
        raise ProviderError(f"{what} unreachable: {exc!r}", permanent=False) from exc
    if response.status_code >= 500 or response.status_code == 429:
        raise ProviderError(f"{what} answered {response.status_code}", permanent=False)
    if response.status_code >= 400:
        raise ProviderError(
            f"{what} refused the message ({response.status_code}): {response.text[:300]}", permanent=True
        )
    return response


def _json(response: httpx.Response, what: str) -> Any:
    try:
        return response.json()
    except ValueError as exc:
        raise ProviderError(f"unexpected {what} answer: {response.text[:300]}", permanent=False) from exc


def whatsapp_payload(out: Outgoing) -> dict[str, Any]:
    """Meta's request shapes: an approved template, an interactive list or reply buttons, or plain text."""
    base: dict[str, Any] = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": out.to.lstrip("+")}
    if out.template is not None:
        components: list[dict[str, Any]] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in out.template.get("params", [])]}
        ]
        components += [
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": str(i),
                "parameters": [{"type": "payload", "payload": b["id"]}],
            }
            for i, b in enumerate(out.buttons)
        ]
        template = {
            "name": out.template["name"],
            "language": {"code": out.template["language"]},
            "components": components,
        }
        return {**base, "type": "template", "template": template}
    if out.buttons and out.list_button:
        rows = [{"id": b["id"], "title": b["title"]} for b in out.buttons]
        action = {"button": out.list_button, "sections": [{"rows": rows}]}
        return {
            **base,
            "type": "interactive",
            "interactive": {"type": "list", "body": {"text": out.body}, "action": action},
        }
    if out.buttons:
        buttons = [{"type": "reply", "reply": {"id": b["id"], "title": b["title"]}} for b in out.buttons]
        interactive = {"type": "button", "body": {"text": out.body}, "action": {"buttons": buttons}}
        return {**base, "type": "interactive", "interactive": interactive}
    return {**base, "type": "text", "text": {"preview_url": False, "body": out.body}}


class WhatsAppCloud:
    """POST /{version}/{phone_number_id}/messages with a bearer token (the sandbox speaks the same shape)."""

    name = "whatsapp_cloud"
    channel = WHATSAPP

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
        self.client = client or _client()

    async def send(self, out: Outgoing) -> SendResult:
        headers = {"Authorization": f"Bearer {self.token}", "X-Idempotency-Key": out.idempotency_key}
        response = await _post(self.client, "WhatsApp", self.url, json=whatsapp_payload(out), headers=headers)
        try:
            return SendResult(self.name, _json(response, "WhatsApp")["messages"][0]["id"])
        except (KeyError, IndexError, TypeError) as exc:
            raise ProviderError(f"unexpected WhatsApp answer: {response.text[:300]}", permanent=False) from exc

    async def close(self) -> None:
        await self.client.aclose()


#: WhatsApp's own cap for a medium (documents; images are 5 MB, videos 16 MB).
MAX_MEDIA_BYTES = 100 * 1024 * 1024


class WhatsAppMedia:
    """A received medium's bytes: `GET /{version}/{media-id}` gives its URL, which answers to the same bearer
    token (Meta's URLs expire in minutes, so the medium is fetched on arrival)."""

    def __init__(self, *, base_url: str, api_version: str, token: str, client: httpx.AsyncClient | None = None) -> None:
        self.url = f"{base_url.rstrip('/')}/{api_version}"
        self.token = token
        self.client = client or _client()

    async def fetch(self, media_id: str) -> tuple[bytes, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            described = await self.client.get(f"{self.url}/{media_id}", headers=headers)
            if described.status_code != 200:
                raise ProviderError(f"WhatsApp media {media_id}: {described.status_code}", permanent=True)
            info = _json(described, "WhatsApp media")
            url = info.get("url") if isinstance(info, dict) else None
            if not isinstance(url, str) or not url.startswith(("https://", "http://")):
                raise ProviderError(f"WhatsApp media {media_id}: no URL in {described.text[:200]}", permanent=True)
            async with self.client.stream("GET", url, headers=headers) as got:
                if got.status_code != 200:
                    raise ProviderError(f"WhatsApp media {media_id} download: {got.status_code}", permanent=True)
                data = bytearray()
                async for chunk in got.aiter_bytes():
                    data += chunk
                    if len(data) > MAX_MEDIA_BYTES:
                        raise ProviderError(f"WhatsApp media {media_id} is over the size limit", permanent=True)
        except httpx.HTTPError as exc:
            raise ProviderError(f"WhatsApp media unreachable: {exc!r}", permanent=False) from exc
        return bytes(data), str(info.get("mime_type") or got.headers.get("content-type") or "application/octet-stream")

    async def close(self) -> None:
        await self.client.aclose()


class TwilioSms:
    """POST /2010-04-01/Accounts/{sid}/Messages.json, form-encoded, HTTP basic auth (sid:token)."""

    name = "twilio"
    channel = SMS

    def __init__(
        self,
        *,
        base_url: str,
        account_sid: str,
        auth_token: str,
        from_number: str,
        status_callback: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.from_number = from_number
        self.status_callback = status_callback
        self.client = client or _client()

    async def send(self, out: Outgoing) -> SendResult:
        form = {"To": out.to, "From": self.from_number, "Body": out.body[:1600]}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        headers = {"Authorization": f"Basic {self.auth}", "X-Idempotency-Key": out.idempotency_key}
        response = await _post(self.client, "Twilio", self.url, data=form, headers=headers)
        sid = _json(response, "Twilio").get("sid")
        if not isinstance(sid, str):
            raise ProviderError(f"unexpected Twilio answer: {response.text[:300]}", permanent=False)
        return SendResult(self.name, sid)

    async def close(self) -> None:
        await self.client.aclose()


class SmtpEmail:
    """Plain-text e-mail over SMTP (STARTTLS when the server offers it and `start_tls` is set)."""

    name = "smtp"
    channel = EMAIL

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str = "",
        password: str = "",
        start_tls: bool | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.username, self.password = username or None, password or None
        self.start_tls, self.timeout = start_tls, timeout

    async def send(self, out: Outgoing) -> SendResult:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = out.to
        mail["Subject"] = out.subject or out.body[:80]
        # The same Message-ID on a resend lets the receiving side (and the sandbox) drop the copy.
        message_id = f"<{out.idempotency_key}@clinicflow>"
        mail["Message-ID"] = message_id
        mail.set_content(out.body)
        try:
            await aiosmtplib.send(
                mail,
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.start_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise ProviderError(f"the mail server refused {out.to}: {exc}", permanent=True) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise ProviderError(f"SMTP failed: {exc!r}", permanent=False) from exc
        return SendResult(self.name, message_id)

    async def close(self) -> None:
        return None


class TelegramBot:
    """POST /bot{token}/sendMessage; buttons become an inline keyboard whose callback_data is the button id."""

    name = "telegram"
    channel = TELEGRAM

    def __init__(self, *, base_url: str, token: str, client: httpx.AsyncClient | None = None) -> None:
        self.url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
        self.client = client or _client()

    async def send(self, out: Outgoing) -> SendResult:
        payload: dict[str, Any] = {"chat_id": out.to, "text": out.body}
        if out.buttons:
            keyboard = [[{"text": b["title"], "callback_data": b["id"]} for b in out.buttons]]
            payload["reply_markup"] = {"inline_keyboard": keyboard}
        response = await _post(
            self.client, "Telegram", self.url, json=payload, headers={"X-Idempotency-Key": out.idempotency_key}
        )
        answer = _json(response, "Telegram")
        try:
            return SendResult(self.name, str(answer["result"]["message_id"]))
        except (KeyError, TypeError) as exc:
            raise ProviderError(f"unexpected Telegram answer: {response.text[:300]}", permanent=False) from exc

    async def close(self) -> None:
        await self.client.aclose()


class InstagramMessaging:
    """POST /{version}/me/messages {recipient: {id}, message: {text}} with the page's token."""

    name = "instagram"
    channel = INSTAGRAM

    def __init__(self, *, base_url: str, api_version: str, token: str, client: httpx.AsyncClient | None = None) -> None:
        self.url = f"{base_url.rstrip('/')}/{api_version}/me/messages"
        self.token = token
        self.client = client or _client()

    async def send(self, out: Outgoing) -> SendResult:
        payload = {"recipient": {"id": out.to}, "message": {"text": out.body}}
        headers = {"Authorization": f"Bearer {self.token}", "X-Idempotency-Key": out.idempotency_key}
        response = await _post(self.client, "Instagram", self.url, json=payload, headers=headers)
        message_id = _json(response, "Instagram").get("message_id")
        if not isinstance(message_id, str):
            raise ProviderError(f"unexpected Instagram answer: {response.text[:300]}", permanent=False)
        return SendResult(self.name, message_id)

    async def close(self) -> None:
        await self.client.aclose()
