"""Look-alikes of Twilio's Messages API (SMS), the Telegram Bot API, Instagram messaging and an SMTP server,
each recording what it received; and the providers' side of webhooks: inbound messages, button taps and
delivery receipts posted to the gateway's public ingress, signed the way each provider signs them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

import httpx
import msgspec
from aiosmtpd.smtp import SMTP, Envelope, Session
from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import State
from litestar.params import Parameter

from sandbox.whatsapp import Mailbox, Recorded

CHANNELS = ("whatsapp", "sms", "telegram", "instagram", "email")


class Hooks(msgspec.Struct, kw_only=True):
    """Where the providers post (the gateway) and the secrets they sign with."""

    base_url: str
    whatsapp_app_secret: str
    phone_number_id: str
    twilio_auth_token: str
    telegram_secret_token: str


async def _record(box: Mailbox, key: str | None, make: Any) -> tuple[Recorded, bool]:
    """Keep one copy per idempotency key; True when it was a resend."""
    async with box.lock:
        if box.fail_next > 0:
            box.fail_next -= 1
            raise _Fault(box.fail_status)
        if key and key in box.by_key:
            box.duplicates += 1
            return box.by_key[key], True
        recorded: Recorded = make()
        box.messages.append(recorded)
        if key:
            box.by_key[key] = recorded
        return recorded, False


class _Fault(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


def _boxes(state: State) -> dict[str, Mailbox]:
    return state.boxes  # type: ignore[no-any-return]


# --- outbound APIs ------------------------------------------------------------------------------------
class TwilioController(Controller):
    tags = ["twilio"]

    @post("/2010-04-01/Accounts/{sid:str}/Messages.json", status_code=201)
    async def send(self, request: Request[Any, Any, Any], state: State, sid: str) -> Response[dict[str, Any]]:
        box = _boxes(state)["sms"]
        expected = base64.b64encode(f"{sid}:{box.token}".encode()).decode()
        if request.headers.get("authorization", "") != f"Basic {expected}":
            return Response({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
        form = dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
        if not form.get("To") or not form.get("Body") or not (form.get("From") or form.get("MessagingServiceSid")):
            return Response(
                {"code": 21604, "message": "A 'To', 'From' and 'Body' are required.", "status": 400}, status_code=400
            )
        try:
            recorded, _ = await _record(
                box,
                request.headers.get("x-idempotency-key"),
                lambda: Recorded(
                    id=f"SM{secrets.token_hex(16)}",
                    phone_number_id=form.get("From", ""),
                    to=form["To"].lstrip("+"),
                    type="sms",
                    body=form["Body"],
                    idempotency_key=request.headers.get("x-idempotency-key"),
                    received_at=datetime.now(UTC),
                ),
            )
        except _Fault as fault:
            return Response(
                {"code": 20500, "message": "Internal Server Error", "status": fault.status}, status_code=fault.status
            )
        return Response(
            {"sid": recorded.id, "status": "queued", "to": form["To"], "from": form.get("From"), "body": form["Body"]},
            status_code=201,
        )


class TelegramController(Controller):
    tags = ["telegram"]

    @post("/{bot:str}/sendMessage", status_code=200)
    async def send(self, request: Request[Any, Any, Any], state: State, bot: str) -> Response[dict[str, Any]]:
        """The Bot API's /bot<token>/sendMessage (the token is part of the path)."""
        box = _boxes(state)["telegram"]
        token = bot.removeprefix("bot")
        if not bot.startswith("bot") or (box.token and token != box.token):
            return Response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        data = msgspec.json.decode(await request.body())
        if not isinstance(data, dict) or not data.get("chat_id") or not data.get("text"):
            return Response(
                {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"}, status_code=400
            )
        keyboard = (data.get("reply_markup") or {}).get("inline_keyboard") or []
        buttons = [{"id": b.get("callback_data", ""), "title": b.get("text", "")} for row in keyboard for b in row]
        try:
            recorded, _ = await _record(
                box,
                request.headers.get("x-idempotency-key"),
                lambda: Recorded(
                    id=str(len(box.messages) + 1),
                    phone_number_id="bot",
                    to=str(data["chat_id"]),
                    type="telegram",
                    body=str(data["text"]),
                    idempotency_key=request.headers.get("x-idempotency-key"),
                    received_at=datetime.now(UTC),
                    buttons=buttons,
                ),
            )
        except _Fault as fault:
            return Response(
                {"ok": False, "error_code": fault.status, "description": "Unavailable"}, status_code=fault.status
            )
        return Response({"ok": True, "result": {"message_id": int(recorded.id), "chat": {"id": data["chat_id"]}}})


class InstagramController(Controller):
    tags = ["instagram"]

    @post("/{version:str}/me/messages", status_code=200)
    async def send(self, request: Request[Any, Any, Any], state: State, version: str) -> Response[dict[str, Any]]:
        box = _boxes(state)["instagram"]
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or (box.token and auth[7:] != box.token):
            return Response({"error": {"message": "Invalid OAuth access token.", "code": 190}}, status_code=401)
        data = msgspec.json.decode(await request.body())
        recipient = ((data or {}).get("recipient") or {}).get("id")
        text = ((data or {}).get("message") or {}).get("text")
        if not recipient or not text:
            return Response(
                {"error": {"message": "(#100) recipient and message are required", "code": 100}}, status_code=400
            )
        try:
            recorded, _ = await _record(
                box,
                request.headers.get("x-idempotency-key"),
                lambda: Recorded(
                    id=f"m_{secrets.token_urlsafe(24)}",
                    phone_number_id=version,
                    to=str(recipient),
                    type="instagram",
                    body=str(text),
                    idempotency_key=request.headers.get("x-idempotency-key"),
                    received_at=datetime.now(UTC),
                ),
            )
        except _Fault as fault:
            return Response({"error": {"message": "Service unavailable", "code": 2}}, status_code=fault.status)
        return Response({"recipient_id": recipient, "message_id": recorded.id})


# --- SMTP -------------------------------------------------------------------------------------------
class MailHandler:
    """aiosmtpd handler: every accepted mail is recorded (one copy per Message-ID)."""

    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        mail = message_from_bytes(raw, policy=policy.default)
        body = mail.get_body(preferencelist=("plain", "html")) if hasattr(mail, "get_body") else None
        text = body.get_content() if body is not None else mail.get_payload()  # type: ignore[union-attr]
        message_id = str(mail.get("Message-ID") or f"<{secrets.token_hex(8)}@sandbox>")
        for rcpt in envelope.rcpt_tos:
            try:
                await _record(
                    self.box,
                    f"{message_id}:{rcpt}",
                    lambda rcpt=rcpt: Recorded(
                        id=message_id,
                        phone_number_id=str(envelope.mail_from),
                        to=rcpt,
                        type="email",
                        body=str(text).strip(),
                        idempotency_key=message_id,
                        received_at=datetime.now(UTC),
                        subject=str(mail.get("Subject") or ""),
                    ),
                )
            except _Fault:
                return "451 Requested action aborted: local error in processing"
        return "250 Message accepted for delivery"


async def start_smtp(box: Mailbox, host: str, port: int) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    handler = MailHandler(box)
    return await loop.create_server(lambda: SMTP(handler, hostname="sandbox.clinicflow.local"), host, port)


# --- inspection ---------------------------------------------------------------------------------------
class ChannelInspectController(Controller):
    path = "/sandbox"
    tags = ["sandbox"]

    @get("/{channel:str}/messages", summary="What the sandbox received on a channel (sms, telegram, instagram, email)")
    async def messages(
        self, state: State, channel: str, to: Annotated[str | None, Parameter(query="to")] = None
    ) -> Response[dict[str, Any]]:
        box = _boxes(state).get(channel)
        if box is None:
            return Response({"detail": f"unknown channel {channel}"}, status_code=404)
        wanted = to.lstrip("+") if to else None
        items = [m for m in box.messages if wanted is None or m.to.lstrip("+") == wanted]
        return Response({"items": msgspec.to_builtins(items), "duplicates": box.duplicates})

    @delete("/{channel:str}/messages", status_code=204)
    async def clear(self, state: State, channel: str) -> None:
        box = _boxes(state).get(channel)
        if box is not None:
            async with box.lock:
                box.messages.clear()
                box.by_key.clear()
                box.duplicates = 0

    @post("/{channel:str}/faults", status_code=200, summary="Fail the next N sends on the channel")
    async def faults(self, state: State, channel: str, data: dict[str, int]) -> dict[str, int]:
        box = _boxes(state).get(channel)
        if box is not None:
            box.fail_next, box.fail_status = int(data.get("fail_next", 0)), int(data.get("status", 503))
        return data


# --- the providers' webhooks ---------------------------------------------------------------------------
class WhatsAppInbound(msgspec.Struct, frozen=True, kw_only=True):
    #: The sender's number (wa_id); taken from the answered message when omitted.
    sender: str | None = None
    name: str = "Sandbox Person"
    text: str | None = None
    #: A tapped reply button (interactive.button_reply), a row of a list (list_reply, when `reply_to` is a list)
    #: or, with `template_button`, a template quick reply.
    button_id: str | None = None
    button_title: str | None = None
    template_button: bool = False
    #: The wamid of the message this one answers (context.id).
    reply_to: str | None = None
    #: A photo (or, with media_kind, a document, voice note or video) the person sends, as the base64 of its
    #: bytes: kept as a medium (served at GET /{version}/{media-id}) and posted as that kind of message.
    media: str | None = None
    media_kind: str = "image"
    mime_type: str = "image/jpeg"
    #: The medium's caption (Meta gives it as image.caption, document.caption, ...).
    caption: str | None = None
    #: Post with a wrong signature (to see the 401).
    forge: bool = False


class WhatsAppStatus(msgspec.Struct, frozen=True, kw_only=True):
    message_id: str
    status: str
    recipient: str | None = None
    forge: bool = False


class SmsInbound(msgspec.Struct, frozen=True, kw_only=True):
    sender: str
    to: str = "+15005550006"
    body: str
    forge: bool = False


class SmsStatus(msgspec.Struct, frozen=True, kw_only=True):
    sid: str
    status: str
    error_code: str | None = None
    forge: bool = False


class TelegramInbound(msgspec.Struct, frozen=True, kw_only=True):
    chat_id: int
    first_name: str = "Sandbox"
    text: str | None = None
    callback_data: str | None = None
    reply_to: int | None = None
    forge: bool = False
    #: The clinic's bot (its channel account): the update goes to /webhooks/telegram/<bot>, as Telegram's
    #: setWebhook URL would name it; None posts to /webhooks/telegram.
    bot: str | None = None


class InstagramInbound(msgspec.Struct, frozen=True, kw_only=True):
    sender_id: str
    recipient_id: str = "17841400000000000"
    text: str
    forge: bool = False


def _meta_signature(secret: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def twilio_signature(token: str, url: str, params: dict[str, str]) -> str:
    data = url + "".join(k + params[k] for k in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


async def _deliver(path: str, content: bytes, headers: dict[str, str], hooks: Hooks) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=20.0) as client:
        try:
            answer = await client.post(f"{hooks.base_url.rstrip('/')}{path}", content=content, headers=headers)
        except httpx.HTTPError as exc:
            return {"status": 0, "error": repr(exc)}
    return {"status": answer.status_code, "answer": answer.text[:2000]}


def _wa_body(hooks: Hooks, value: dict[str, Any]) -> bytes:
    metadata = {"display_phone_number": "15550000000", "phone_number_id": hooks.phone_number_id}
    change = {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}
    body = {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [change]}]}
    return json.dumps(body).encode()


def _find(box: Mailbox, message_id: str | None) -> Recorded | None:
    return next((m for m in box.messages if m.id == message_id), None) if message_id else None


class WebhookSimulator(Controller):
    path = "/sandbox"
    tags = ["sandbox"]

    @post("/whatsapp/inbound", status_code=200, summary="The person writes or taps a button; posted signed")
    async def whatsapp_inbound(self, state: State, data: WhatsAppInbound) -> dict[str, Any]:
        hooks: Hooks = state.hooks
        answered = _find(state.mailbox, data.reply_to)
        sender = (data.sender or (answered.to if answered else "")).lstrip("+")
        if not sender:
            return {"status": 0, "error": "give sender or reply_to of a recorded message"}
        message: dict[str, Any] = {
            "from": sender,
            "id": f"wamid.{secrets.token_urlsafe(24)}",
            "timestamp": str(int(time.time())),
        }
        if data.button_id and data.template_button:
            message.update(type="button", button={"payload": data.button_id, "text": data.button_title or "OK"})
        elif data.button_id:
            title = data.button_title or next(
                (b["title"] for b in (answered.buttons if answered else []) if b["id"] == data.button_id), "OK"
            )
            # A row of an interactive list comes back as a list_reply, a reply button as a button_reply.
            kind = "list_reply" if answered is not None and answered.interactive == "list" else "button_reply"
            message.update(type="interactive", interactive={"type": kind, kind: {"id": data.button_id, "title": title}})
        elif data.media is not None:
            if data.media_kind not in ("image", "document", "audio", "video", "sticker"):
                return {"status": 0, "error": "media_kind is image, document, audio, video or sticker"}
            try:
                blob = base64.b64decode(data.media, validate=True)
            except ValueError:
                return {"status": 0, "error": "media is the base64 of the file's bytes"}
            media_id = str(secrets.randbelow(10**15) + 10**15)
            state.mailbox.media[media_id] = (blob, data.mime_type)
            part = {"id": media_id, "mime_type": data.mime_type, "sha256": hashlib.sha256(blob).hexdigest()}
            message.update(
                {
                    "type": data.media_kind,
                    data.media_kind: {**part, **({"caption": data.caption} if data.caption else {})},
                }
            )
        else:
            message.update(type="text", text={"body": data.text or ""})
        if data.reply_to:
            message["context"] = {"from": "15550000000", "id": data.reply_to}
        raw = _wa_body(hooks, {"contacts": [{"profile": {"name": data.name}, "wa_id": sender}], "messages": [message]})
        secret = "forged" if data.forge else hooks.whatsapp_app_secret
        headers = {"content-type": "application/json", "x-hub-signature-256": _meta_signature(secret, raw)}
        return {**await _deliver("/webhooks/whatsapp", raw, headers, hooks), "message_id": message["id"]}

    @post("/whatsapp/status", status_code=200, summary="A delivery receipt (sent, delivered, read, failed)")
    async def whatsapp_status(self, state: State, data: WhatsAppStatus) -> dict[str, Any]:
        hooks: Hooks = state.hooks
        recorded = _find(state.mailbox, data.message_id)
        recipient = data.recipient or (recorded.to if recorded else "")
        status: dict[str, Any] = {
            "id": data.message_id,
            "status": data.status,
            "timestamp": str(int(time.time())),
            "recipient_id": recipient.lstrip("+"),
        }
        if data.status == "failed":
            status["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
        raw = _wa_body(hooks, {"statuses": [status]})
        secret = "forged" if data.forge else hooks.whatsapp_app_secret
        headers = {"content-type": "application/json", "x-hub-signature-256": _meta_signature(secret, raw)}
        return await _deliver("/webhooks/whatsapp", raw, headers, hooks)

    @post("/sms/inbound", status_code=200, summary="An SMS to the clinic's number, posted with X-Twilio-Signature")
    async def sms_inbound(self, state: State, data: SmsInbound) -> dict[str, Any]:
        params = {
            "MessageSid": f"SM{secrets.token_hex(16)}",
            "AccountSid": "AC" + "0" * 32,
            "From": data.sender,
            "To": data.to,
            "Body": data.body,
            "NumMedia": "0",
        }
        return await self._twilio(state.hooks, "/webhooks/twilio", params, data.forge)

    @post("/sms/status", status_code=200, summary="Twilio's status callback for a sent SMS")
    async def sms_status(self, state: State, data: SmsStatus) -> dict[str, Any]:
        params = {"MessageSid": data.sid, "MessageStatus": data.status, "AccountSid": "AC" + "0" * 32}
        if data.error_code:
            params["ErrorCode"] = data.error_code
        return await self._twilio(state.hooks, "/webhooks/twilio/status", params, data.forge)

    @staticmethod
    async def _twilio(hooks: Hooks, path: str, params: dict[str, str], forge: bool) -> dict[str, Any]:
        url = f"{hooks.base_url.rstrip('/')}{path}"
        token = "forged" if forge else hooks.twilio_auth_token
        headers = {
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": twilio_signature(token, url, params),
        }
        return await _deliver(path, urlencode(params).encode(), headers, hooks)

    @post("/telegram/inbound", status_code=200, summary="A Telegram update with the webhook's secret token")
    async def telegram_inbound(self, state: State, data: TelegramInbound) -> dict[str, Any]:
        hooks: Hooks = state.hooks
        state.telegram_update_id = getattr(state, "telegram_update_id", 100) + 1
        chat = {"id": data.chat_id, "type": "private", "first_name": data.first_name}
        sender = {"id": data.chat_id, "is_bot": False, "first_name": data.first_name}
        update: dict[str, Any] = {"update_id": state.telegram_update_id}
        if data.callback_data:
            origin = {"message_id": data.reply_to or 1, "chat": chat, "date": int(time.time())}
            update["callback_query"] = {
                "id": secrets.token_hex(8),
                "from": sender,
                "message": origin,
                "data": data.callback_data,
            }
        else:
            message: dict[str, Any] = {
                "message_id": state.telegram_update_id,
                "from": sender,
                "chat": chat,
                "date": int(time.time()),
                "text": data.text or "",
            }
            if data.reply_to:
                message["reply_to_message"] = {"message_id": data.reply_to, "chat": chat, "date": int(time.time())}
            update["message"] = message
        secret = "forged" if data.forge else hooks.telegram_secret_token
        headers = {"content-type": "application/json", "x-telegram-bot-api-secret-token": secret}
        path = "/webhooks/telegram" + (f"/{data.bot}" if data.bot else "")
        return await _deliver(path, json.dumps(update).encode(), headers, hooks)

    @post("/instagram/inbound", status_code=200, summary="An Instagram direct message, signed like WhatsApp")
    async def instagram_inbound(self, state: State, data: InstagramInbound) -> dict[str, Any]:
        hooks: Hooks = state.hooks
        now = int(time.time() * 1000)
        event = {
            "sender": {"id": data.sender_id},
            "recipient": {"id": data.recipient_id},
            "timestamp": now,
            "message": {"mid": f"m_{secrets.token_urlsafe(16)}", "text": data.text},
        }
        raw = json.dumps(
            {"object": "instagram", "entry": [{"id": data.recipient_id, "time": now, "messaging": [event]}]}
        ).encode()
        secret = "forged" if data.forge else hooks.whatsapp_app_secret
        headers = {"content-type": "application/json", "x-hub-signature-256": _meta_signature(secret, raw)}
        return await _deliver("/webhooks/instagram", raw, headers, hooks)
